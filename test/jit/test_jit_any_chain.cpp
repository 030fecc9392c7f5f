// Random chains over every op kind of the library (any_chain.h) against the interpreter:
// compiled by jit() (full code), as a first tier (fast code generation), and with strict
// numerics (bit for bit). The GPU's run in test_cuda.cpp.
#include <ejit/compile.h>
#include <ejit/jit.h>

#include <random>

#include "any_chain.h"

using namespace ejit;
using namespace ejit::test;

namespace {

/// Chains seed .. seed + count - 1 of dims up to max_dim: jit() (full code) and a first tier
/// against the interpreter. Returns how many compiled (a trace whose every op runs on the
/// interpreter, take or gather alone, would not: jit() runs it eagerly).
uint64_t check_chains(uint64_t first_seed, uint64_t count, int64_t max_dim) {
  uint64_t compiled = 0;
  for (uint64_t seed = first_seed; seed < first_seed + count; ++seed) {
    const AnyChainCase c = any_chain_case(seed, max_dim);
    std::vector<ChainOutput> info;
    const std::vector<Tensor> want = random_any_chain(seed, c.a, c.b, 4, &info);
    auto f = jit([seed](const Tensor& x, const Tensor& y) { return random_any_chain(seed, x, y); });
    f(c.a, c.b);
    const std::vector<Tensor> got = f(c.a, c.b);
    INFO(c.what << "\n" << f.ir(Stage::Ejit));
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) require_chain_output(got[i], want[i], info[i], false, "output " + std::to_string(i));

    // The same trace as a first tier.
    Recorder rec;
    rec.add_inputs({c.a, c.b});
    const Trace trace = rec.finish(random_any_chain(seed, c.a, c.b));
    const Compiled fast = compile(trace, {.fast_codegen = true});
    INFO("first tier: " << fast.error());
    if (!fast.ok()) {  // every op runs on the interpreter: jit() runs it eagerly
      REQUIRE(fast.error().find("no op of this trace compiles") != std::string::npos);
      REQUIRE(f.stats().hits == 0);
      continue;
    }
    REQUIRE(f.stats().hits == 1);
    ++compiled;
    const std::vector<Tensor> first = fast.run({c.a, c.b});
    REQUIRE(first.size() == want.size());
    for (size_t i = 0; i < first.size(); ++i)
      require_chain_output(first[i], want[i], info[i], false, "first tier, output " + std::to_string(i));
  }
  return compiled;
}

}  // namespace

TEST_CASE("random chains over every op kind, dtype and axis: compiled equals interpreted", "[jit][random][any]") {
  // Small dims (scalar loops, masked and remainder paths), then large ones (vector loops,
  // row chunks on the thread pool).
  // A chain of take/gather of computed indices alone stays eager (checked inside): about 1
  // in 1000 chains.
  CHECK(check_chains(0, 300, 13) >= 294);
  CHECK(check_chains(10000, 40, 300) >= 39);
}

TEST_CASE("strict: random chains over every op kind, compiled equals interpreted bit for bit", "[jit][strict][random][any]") {
  // 150 of small dims, then 50 of dims up to 300 (matmuls cut into several BLAS calls: a
  // cut that followed the pool's state once gave an eager product other last bits).
  constexpr uint64_t kChains = 200;
  JitOptions strict;
  strict.strict = true;
  uint64_t compiled = 0;
  for (uint64_t seed = 1000; seed < 1000 + kChains; ++seed) {
    const AnyChainCase c = any_chain_case(seed, seed < 1150 ? 13 : 300);
    const std::vector<Tensor> want = random_any_chain(seed, c.a, c.b);
    auto f = jit([seed](const Tensor& x, const Tensor& y) { return random_any_chain(seed, x, y); }, "chain", strict);
    f(c.a, c.b);
    const std::vector<Tensor> got = f(c.a, c.b);
    compiled += f.stats().hits == 1;
    INFO(c.what << "\n" << f.ir(Stage::Ejit));
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) require_chain_output(got[i], want[i], {}, true, "output " + std::to_string(i));
  }
  CHECK(compiled >= kChains / 2);  // the rest: nothing to fuse once transcendentals and float reductions run eagerly
}
