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
      default: r = x.rank() ? (pick(2) ? softmax(x, -1) : layer_norm(x)) : x * 3.f; break;
    }
    pool.push_back(r);
  }
  return pool.back() + pool[pool.size() - 2];
}

/// A random chain of the structural ops (strided, inner-axis, reversed and clamped slices;
/// concat, stack and pad on inner and outer axes) mixed with elementwise ops, returning
/// several outputs among which several reductions of one type (row, column and full sums,
/// maxima). a is (m, n); b broadcasts to it. The same for the same seed and shapes.
inline std::vector<Tensor> random_structured_chain(uint64_t seed, const Tensor& a, const Tensor& b) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const int64_t m = a.shape()[0], n = a.shape()[1];
  std::vector<Tensor> pool = {a, a + b};  // every entry is (m, n)
  auto any = [&] { return pool[pick(static_cast<int>(pool.size()))]; };
  const int steps = 3 + pick(6);
  for (int s = 0; s < steps; ++s) {
    Tensor x = any(), y = any(), r;
    const int64_t k = 1 + pick(3);
    switch (pick(10)) {
      case 0: r = slice(pad(x, {{0, 0}, {k, 2}}, 0.5), 1, k - 1, k - 1 + n) * 2.f; break;   // pad inner, shift back
      case 1: r = pad(slice(exp(x * 0.1f), 1, 1, n), {{0, 0}, {1, 0}}, -1.0); break;      // inner slice, pad back
      case 2: r = concat({slice(x, 1, 0, std::nullopt, 2), slice(y, 1, 1, std::nullopt, 2)}, 1) + 1.f; break;
      case 3: r = slice(x, 1, std::nullopt, std::nullopt, -1) - y; break;                 // reversed columns
      case 4: r = sum(stack({x, tanh(y)}, 1), {1}); break;                                 // stack on an inner axis
      case 5: r = max(stack({x, y * 0.5f}, 2), {2}); break;                                // stack on the last axis
      case 6: r = slice(concat({x, y}, 0), 0, m - m / 2, 2 * m - m / 2) * x; break;        // concat outer, slice
      case 7: r = slice(x, 1, -100, 100) + slice(y, 0, -3 * m, 3 * m, 1); break;           // clamped bounds
      case 8: r = slice(pad(x, {{k, k}, {0, 1}}), 0, k, k + m).slice(1, 0, n) / (abs(y) + 1.f); break;
      default: r = softmax(x, -1) + sum(y, {1}, true) * 0.25f; break;
    }
    pool.push_back(r);
  }
  const Tensor& last = pool.back();
  const Tensor& other = pool[pool.size() - 2];
  return {last, sum(last), sum(other * 2.f), sum(last, {1}), sum(other, {0}), max(last, {1}), max(other, {1}), mean(last)};
}

}  // namespace ejit::test
