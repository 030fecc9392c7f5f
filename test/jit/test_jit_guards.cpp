// Host reads inside jitted functions: each read is a guard, the code around it compiles, and
// every call gives the eager answer whichever way its C++ control flow goes.
#include <ejit/jit.h>

#include "test_util.h"

using namespace ejit;
using ejit::test::require_close;

namespace {

Tensor branchy(const Tensor& x) { return sum(x).item<float>() > 0 ? x * 2.f : -x; }

/// Halves y until its norm is under 1: as many host reads as iterations.
Tensor shrink(const Tensor& x) {
  Tensor y = x;
  while (sqrt(sum(y * y)).item<float>() > 1.f) y = y * 0.5f;
  return y + 1.f;
}

bool any_starts_with(const std::vector<CacheMiss>& misses, const std::string& prefix) {
  for (const CacheMiss& m : misses)
    for (const std::string& d : m.differences)
      if (d.rfind(prefix, 0) == 0) return true;
  return false;
}

}  // namespace

TEST_CASE("guards: both branches of an if on item() compile and give the eager answers", "[jit][guards]") {
  auto f = jit(branchy, "branchy");
  const Tensor pos = tensor({1.f, 2.f, 3.f}), neg = tensor({-1.f, -2.f, -4.f});
  for (int i = 0; i < 4; ++i) {
    CHECK(f(pos).to_vector<float>() == std::vector<float>{2.f, 4.f, 6.f});
    CHECK(f(neg).to_vector<float>() == std::vector<float>{1.f, 2.f, 4.f});
  }
  const CacheStats s = f.stats();
  CHECK(s.misses == 2);  // the first call, and the first with the other value read
  CHECK(s.hits == 6);
  CHECK(s.eager_calls == 0);
  const std::string loops = f.ir(Stage::Loops);
  CHECK(loops.find("segment 0, then host read 0") != std::string::npos);
  CHECK(loops.find("segment 1, the last") != std::string::npos);
  CHECK(loops.find("scf.parallel") != std::string::npos);
  const std::vector<CacheMiss> m = f.misses();
  REQUIRE(m.size() == 2);
  CHECK(m[1].nearest == m[1].signature);
  REQUIRE(m[1].differences.size() == 1);
  CHECK(m[1].differences[0].rfind("guard 0 (item/to_vector/at after 1 ops) read -7, cached: 6", 0) == 0);
}

TEST_CASE("guards: a bool read of a comparison has two branches, whatever the data", "[jit][guards]") {
  auto f = jit([](const Tensor& x) { return (sum(x) > 0.f).item<bool>() ? exp(x) : x * x; }, "sign");
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Tensor x = randn({50}, seed);
    require_close(f(x), sum(x).item<float>() > 0 ? exp(x) : x * x, 1e-5);
  }
  CHECK(f.stats().misses <= 2);
  CHECK(f.stats().hits >= 18);
}

TEST_CASE("guards: a loop on a host value is right whether it stays under the cap or not", "[jit][guards]") {
  SECTION("the same input: the compiled path repeats") {
    auto f = jit(shrink, "shrink");
    Tensor x = tensor({3.f, 4.f, 12.f});
    for (int i = 0; i < 5; ++i) require_close(f(x), shrink(x), 1e-6);
    CHECK(f.stats().hits >= 3);
  }
  SECTION("new values every call: past max_guard_variants the signature runs eagerly") {
    auto f = jit(shrink, "shrink", JitOptions{.max_guard_variants = 3});
    for (uint64_t seed = 1; seed <= 12; ++seed) {
      Tensor x = randn({16}, seed) * static_cast<float>(seed);
      require_close(f(x), shrink(x), 1e-6);
    }
    CHECK(f.stats().eager_calls > 0);
    CHECK(any_starts_with(f.misses(), "guard 0"));
  }
}

TEST_CASE("guards: values read with data<T>() are never baked in", "[jit][guards]") {
  auto f = jit([](const Tensor& x) {
    const Tensor top = max(x);
    const float m = top.data<float>()[0];  // host code computes a scalar from the data
    return x - m;
  }, "center");
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    Tensor x = randn({8}, seed);
    require_close(f(x), x - max(x).item<float>(), 1e-6);
    require_close(f(x), x - max(x).item<float>(), 1e-6);  // compiled for this value (until the cap)
  }
  const CacheStats s = f.stats();
  CHECK(s.hits >= 7);  // the second call of each value under the cap
  CHECK(s.eager_calls > 0);  // past it
}

TEST_CASE("guards: a write through a mutable data<T>() is never lost", "[jit][guards]") {
  auto f = jit([](const Tensor& x) {
    Tensor y = x * 2.f;
    y.data<float>()[0] = 5.f;  // invisible to the recorder: this function runs eagerly
    return y + 1.f;
  }, "writes");
  Tensor x = tensor({1.f, 2.f, 3.f});
  for (int i = 0; i < 3; ++i) CHECK(f(x).to_vector<float>() == std::vector<float>{6.f, 5.f, 7.f});
  CHECK(f.stats().hits == 0);
  CHECK(f.compare(1, x).reason.find("written through") != std::string::npos);
}

TEST_CASE("guards: two reads, four paths, variables assigned on some", "[jit][guards]") {
  Variable total(zeros({3}), "total");
  auto f = jit([&](const Tensor& x) {
    Tensor y = x;
    if ((sum(x) > 0.f).item<bool>()) y = y * 3.f;
    if ((max(x) > 2.f).item<bool>()) total.assign(total.value() + y);
    return y - 1.f;
  }, "paths");
  Tensor want_total = zeros({3});
  const std::vector<Tensor> inputs = {tensor({1.f, 2.f, 3.f}), tensor({-1.f, -2.f, 3.f}), tensor({1.f, 0.f, 1.f}),
                                      tensor({-1.f, -2.f, -3.f})};
  for (int round = 0; round < 3; ++round)
    for (const Tensor& x : inputs) {
      Tensor y = sum(x).item<float>() > 0 ? x * 3.f : x;
      if (max(x).item<float>() > 2.f) want_total = want_total + y;
      require_close(f(x), y - 1.f, 1e-6);
      require_close(total.value(), want_total, 1e-6);
    }
  CHECK(f.stats().misses == 4);
  CHECK(f.stats().hits == 8);
}

TEST_CASE("guards: compare() runs the compiled path of the values read", "[jit][guards]") {
  auto f = jit(branchy, "branchy");
  const Tensor pos = tensor({1.f, 2.f});
  Comparison c = f.compare(3, pos);
  CHECK(c.compiled);
  CHECK(c.max_abs_error == 0);
}

TEST_CASE("guards: in the background, branches compile while calls run eagerly", "[jit][guards][background]") {
  auto f = jit(branchy, "branchy_bg", JitOptions{.compile = CompileMode::Background});
  const Tensor pos = tensor({1.f, 2.f, 3.f}), neg = tensor({-1.f, -2.f, -4.f});
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 3; ++i) {  // eager (recording or waiting) or compiled: right either way
      CHECK(f(pos).to_vector<float>() == std::vector<float>{2.f, 4.f, 6.f});
      CHECK(f(neg).to_vector<float>() == std::vector<float>{1.f, 2.f, 4.f});
    }
    wait_for_compiles();
  }
  const CacheStats s = f.stats();
  CHECK(s.misses == 2);
  CHECK(s.hits >= 6);  // the last round at least
}
