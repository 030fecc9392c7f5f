// The interpreter as the oracle for compiled code: every op of the table, and 1000 random
// op chains (broadcasts, reductions, reshapes, casts, where, softmax), compiled vs eager.
#include <ejit/jit.h>

#include "op_chains.h"

using namespace ejit;
using namespace ejit::test;


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
        REQUIRE(f.stats().hits == 1);
        require_agree(got, eager, 1e-6, 1e-6, what);
      }
    }
  }
}


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

TEST_CASE("slices with negative steps compile and match", "[jit][ops]") {
  Tensor x = randn({7, 9}, 3);
  auto f = jit([](const Tensor& a) {
    return exp(a.slice(0, std::nullopt, std::nullopt, -1)) + a.slice(1, 8, 0, -2).sum({1}, true);
  });
  f(x);
  Tensor got = f(x);
  REQUIRE(f.stats().hits == 1);
  REQUIRE(f.ir(Stage::Linalg).find("ejit.slice") == std::string::npos);  // lowered, not left to the interpreter
  require_agree(got, exp(x.slice(0, std::nullopt, std::nullopt, -1)) + x.slice(1, 8, 0, -2).sum({1}, true), 2e-6, 2e-6,
                "negative steps");
}
