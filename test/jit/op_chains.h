// Shared by the compiled-vs-interpreted tests (CPU and GPU): tolerances, inputs of every
// dtype, and random op chains.
#pragma once

#include <ejit/ejit.h>

#include <random>

#include "test_util.h"

namespace ejit::test {

/// Tolerance for compiled vs interpreted f32: polynomial approximations on both sides
/// (different ones), so a few ulp plus an absolute floor near zero.
inline bool agree(double got, double want, double rel, double abs_tol) {
  if (std::isnan(want) || std::isnan(got)) return std::isnan(want) && std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= abs_tol + rel * std::fabs(want);
}

inline void require_agree(const Tensor& compiled, const Tensor& eager, double rel, double abs_tol, const std::string& what) {
  INFO(what);
  REQUIRE(compiled.shape() == eager.shape());
  REQUIRE(compiled.dtype() == eager.dtype());
  auto c = compiled.to_vector<double>(), e = eager.to_vector<double>();
  for (size_t i = 0; i < c.size(); ++i) {
    if (!agree(c[i], e[i], rel, abs_tol)) {
      INFO("element " << i << ": compiled " << c[i] << ", interpreted " << e[i]);
      REQUIRE(false);
    }
  }
}

inline Tensor inputs_for(DType dt, const Shape& s, uint64_t seed) {
  Tensor x = randn(s, seed, DType::F64) * 3.0;
  if (dt == DType::Bool) return x > 0.0;
  return cast(is_floating(dt) ? x : round(x), dt);
}

inline const DType kDTypes[] = {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64};


/// A random chain of ops, the same for the same seed and input shapes.
inline Tensor random_chain(uint64_t seed, const Tensor& a, const Tensor& b) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  std::vector<Tensor> pool = {a, b};
  auto any = [&] { return pool[pick(static_cast<int>(pool.size()))]; };
  const int steps = 3 + pick(8);
  for (int s = 0; s < steps; ++s) {
    Tensor x = any(), y = any(), r;
    switch (pick(9)) {
      case 0: {
        const UnaryOp ops[] = {UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Square, UnaryOp::Relu, UnaryOp::Tanh,
                               UnaryOp::Sigmoid, UnaryOp::Sin, UnaryOp::Cos, UnaryOp::Floor, UnaryOp::Gelu};
        r = unary(ops[pick(10)], x);
        break;
      }
      case 1: r = exp(tanh(x)) + log(abs(y) + 1.f) - sqrt(abs(x)); break;
      case 2: {
        const BinaryOp ops[] = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Maximum, BinaryOp::Minimum};
        r = binary(ops[pick(5)], x, y);
        break;
      }
      case 3: r = x / (abs(y) + 1.f); break;
      case 4: {  // reductions keep dims so the result still broadcasts with the rest
        int axis = x.rank() ? pick(x.rank()) : 0;
        std::vector<int64_t> axes = x.rank() ? std::vector<int64_t>{axis} : std::vector<int64_t>{};
        switch (pick(3)) {
          case 0: r = sum(x, axes, true); break;
          case 1: r = max(x, axes, true); break;
          default: r = mean(x, axes, true); break;
        }
        break;
      }
      case 5: r = where(x > y, x, y * 0.5f); break;
      case 6: r = cast(cast(x, DType::F64) * 2.0, DType::F32); break;
      case 7: r = reshape(reshape(x, {-1}), x.shape()) + 1.f; break;
      default: r = x.rank() ? softmax(x, -1) : x * 3.f; break;
    }
    pool.push_back(r);
  }
  return pool.back() + pool[pool.size() - 2];
}

}  // namespace ejit::test
