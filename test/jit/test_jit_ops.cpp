// The interpreter as the oracle for compiled code: every op of the table, and 1000 random
// op chains (broadcasts, reductions, reshapes, casts, where, softmax), compiled vs eager.
#include <ejit/jit.h>

#include <random>

#include "test_util.h"

using namespace ejit;

namespace {

/// Tolerance for compiled vs interpreted f32: polynomial approximations on both sides
/// (different ones), so a few ulp plus an absolute floor near zero.
bool agree(double got, double want, double rel, double abs_tol) {
  if (std::isnan(want) || std::isnan(got)) return std::isnan(want) && std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= abs_tol + rel * std::fabs(want);
}

void require_agree(const Tensor& compiled, const Tensor& eager, double rel, double abs_tol, const std::string& what) {
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

Tensor inputs_for(DType dt, const Shape& s, uint64_t seed) {
  Tensor x = randn(s, seed, DType::F64) * 3.0;
  if (dt == DType::Bool) return x > 0.0;
  return cast(is_floating(dt) ? x : round(x), dt);
}

const DType kDTypes[] = {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64};

}  // namespace

TEST_CASE("every unary op of the table compiles and matches the interpreter", "[jit][ops]") {
  for (int i = 0; i < kNumUnaryOps; ++i) {
    auto op = static_cast<UnaryOp>(i);
    for (DType dt : kDTypes) {
      if (kind(op) == UnaryKind::Numeric && dt == DType::Bool) continue;
      std::string what = std::string(name(op)) + " on " + std::string(name(dt));
      auto f = jit([op](const Tensor& x) { return unary(op, x); });
      Tensor x = inputs_for(dt, {7, 9}, 11 + i);
      f(x);
      Tensor got = f(x);
      INFO(what);
      REQUIRE(f.stats().hits == 1);
      require_agree(got, unary(op, x), 2e-6, 2e-6, what);
    }
  }
}

TEST_CASE("every binary op of the table compiles with broadcasting and matches", "[jit][ops]") {
  const std::pair<Shape, Shape> shapes[] = {{{6, 5}, {6, 5}}, {{6, 1}, {1, 5}}, {{5}, {3, 5}}, {{}, {4}}};
  for (int i = 0; i < kNumBinaryOps; ++i) {
    auto op = static_cast<BinaryOp>(i);
    for (DType dt : kDTypes) {
      if (kind(op) == BinaryKind::ArithNoBool && dt == DType::Bool) continue;
      for (const auto& [sa, sb] : shapes) {
        std::string what = std::string(name(op)) + " on " + std::string(name(dt)) + " " + sa.str() + " " + sb.str();
        auto f = jit([op](const Tensor& a, const Tensor& b) { return binary(op, a, b); });
        Tensor a = inputs_for(dt, sa, 3 + i), b = inputs_for(dt, sb, 5 + i);
        Tensor eager = binary(op, a, b);
        f(a, b);
        Tensor got = f(a, b);
        INFO(what << " (compiled: " << (f.stats().hits == 1) << ")");
        // Integer pow has no lowering yet: it must still give the eager result (fallback).
        if (!(op == BinaryOp::Pow && !is_floating(dt))) REQUIRE(f.stats().hits == 1);
        require_agree(got, eager, 1e-6, 1e-6, what);
      }
    }
  }
}

namespace {

/// A random chain of ops, the same for the same seed and input shapes.
Tensor random_chain(uint64_t seed, const Tensor& a, const Tensor& b) {
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

}  // namespace

TEST_CASE("1000 random op chains: compiled equals interpreted", "[jit][random]") {
  std::mt19937_64 rng(2024);
  int compiled = 0;
  for (uint64_t seed = 0; seed < 1000; ++seed) {
    const int64_t m = 1 + static_cast<int64_t>(rng() % 24), n = 1 + static_cast<int64_t>(rng() % 24);
    const Shape other[] = {{n}, {m, 1}, {1, n}, {}, {m, n}};
    Tensor a = randn({m, n}, seed), b = randn(other[rng() % 5], seed + 7);
    auto f = jit([seed](const Tensor& x, const Tensor& y) { return random_chain(seed, x, y); });
    Tensor eager = random_chain(seed, a, b);
    f(a, b);
    Tensor got = f(a, b);
    compiled += f.stats().hits == 1;
    INFO("seed " << seed << "\n" << f.ir(Stage::Ejit));
    require_agree(got, eager, 2e-4, 2e-5, "random chain");
  }
  REQUIRE(compiled == 1000);  // every chain above has a lowering
}
