// Finite-difference gradient checks (f64) for the autodiff tests.
#pragma once

#include <functional>
#include <sstream>
#include <vector>

#include "test_util.h"

namespace ejit::test {

using TensorFn = std::function<Tensor(const std::vector<Tensor>&)>;

/// Central differences of sum(f(inputs) * weights) with respect to every element of every
/// input, compared with GradientTape's gradients. Inputs are f64; `weights` are fixed random
/// values of f's output shape, so non-scalar outputs and output gradients are exercised too.
inline void check_gradients(const TensorFn& f, std::vector<Tensor> inputs, double tol = 1e-6, double h = 1e-6) {
  Tensor out0 = f(inputs);
  Tensor weights = rand(out0.shape(), 99, DType::F64, 0.5, 1.5);
  auto loss = [&](const std::vector<Tensor>& in) { return sum(f(in) * weights).item<double>(); };

  GradientTape tape;
  for (const Tensor& t : inputs) tape.watch(t);
  Tensor out = f(inputs);
  std::vector<Tensor> grads = tape.gradient(out, inputs, weights);
  REQUIRE(grads.size() == inputs.size());

  for (size_t i = 0; i < inputs.size(); ++i) {
    REQUIRE(grads[i].shape() == inputs[i].shape());
    std::vector<double> base = inputs[i].to_vector<double>(), got = grads[i].to_vector<double>();
    for (size_t e = 0; e < base.size(); ++e) {
      auto shifted = [&](double delta) {
        std::vector<double> v = base;
        v[e] += delta;
        std::vector<Tensor> in = inputs;
        in[i] = from_vector(v, inputs[i].shape());
        return loss(in);
      };
      double want = (shifted(h) - shifted(-h)) / (2 * h);
      INFO("input " << i << " element " << e << ": tape " << got[e] << ", finite differences " << want);
      REQUIRE(close(got[e], want, tol * 10, tol));
    }
  }
}

}  // namespace ejit::test
