// The jit cache's bookkeeping: why each call missed, and the bounds on what it keeps.
#include <ejit/jit.h>

#include "test_util.h"

using namespace ejit;
using ejit::test::require_close;

namespace {

Tensor affine(const Tensor& x, const Tensor& b) { return tanh(x * 2.f + b); }

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_CASE("cache misses name the nearest cached signature and what differs", "[jit][cache]") {
  auto f = jit(affine, "affine", JitOptions{.dynamic = false});
  Tensor x = randn({100}, 1), b = randn({100}, 2);
  f(x, b);
  f(x, b);  // a hit: no new miss
  f(randn({101}, 3), randn({101}, 4));
  f(x.astype(DType::F64), b);
  f(x, x);
  std::vector<CacheMiss> m = f.misses();
  REQUIRE(m.size() == 4);
  CHECK(m[0].signature == "(f32(100,), f32(100,))");
  CHECK(m[0].nearest.empty());
  CHECK(m[0].differences.empty());
  CHECK(m[1].nearest == "(f32(100,), f32(100,))");
  CHECK(m[1].differences == std::vector<std::string>{"arg 0 dim 0: 100 -> 101", "arg 1 dim 0: 100 -> 101"});
  CHECK(m[2].signature == "(f64(100,), f32(100,))");
  CHECK(m[2].differences == std::vector<std::string>{"arg 0 dtype f32 -> f64"});
  CHECK(contains(m[3].differences, "arg 1 is arg 0 now"));
  CHECK(f.stats().misses == 4);
}

TEST_CASE("a rank change and an argument count are reasons too", "[jit][cache]") {
  auto f = jit([](const Tensor& x) { return exp(x); }, "exp");
  f(randn({4, 5}, 1));
  f(randn({4, 5, 6}, 2));
  std::vector<CacheMiss> m = f.misses();
  REQUIRE(m.size() == 2);
  CHECK(m[1].differences == std::vector<std::string>{"arg 0 rank 2 -> 3: (4,5) -> (4,5,6)"});
}

TEST_CASE("the cache keeps at most max_signatures, least recently used evicted first", "[jit][cache]") {
  auto f = jit([](const Tensor& x) { return exp(x) * 0.5f + 1.f; }, "bounded", JitOptions{.max_signatures = 4, .dynamic = false});
  Tensor keep = randn({7}, 0);
  for (int n = 1; n <= 40; ++n) {
    Tensor x = randn({n + 10}, static_cast<uint64_t>(n));
    require_close(f(x), exp(x) * 0.5f + 1.f, 1e-6);
    require_close(f(x), exp(x) * 0.5f + 1.f, 1e-6);  // compiled
    f(keep);  // used on every round: never the least recent
  }
  CacheStats s = f.stats();
  CHECK(s.signatures == 4);
  CHECK(s.misses == 41);
  CHECK(s.evictions == 37);
  CHECK(s.hits == 40 + 39);  // each shape's second call, and `keep` after its first
  CHECK(s.code_bytes > 0);
  const uint64_t misses = s.misses;
  f(randn({12}, 2));  // evicted long ago: compiled again
  CHECK(f.stats().misses == misses + 1);
  CHECK(f.misses().back().nearest != "");
}

TEST_CASE("the cache keeps at most max_code_bytes of machine code", "[jit][cache]") {
  auto probe = jit([](const Tensor& x) { return sin(x) + x; }, "probe");
  probe(randn({9}, 1));
  const size_t one = probe.stats().code_bytes;
  REQUIRE(one > 0);
  auto f = jit([](const Tensor& x) { return sin(x) + x; }, "bytes", JitOptions{.max_code_bytes = 3 * one, .dynamic = false});
  for (int n = 1; n <= 10; ++n) {
    Tensor x = randn({n}, static_cast<uint64_t>(n));
    require_close(f(x), sin(x) + x, 1e-6);
  }
  CacheStats s = f.stats();
  CHECK(s.code_bytes <= 3 * one);
  CHECK(s.signatures <= 3);
  CHECK(s.evictions >= 7);
}
