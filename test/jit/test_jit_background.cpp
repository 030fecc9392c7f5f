// Background compilation: a first call returns eager results at once, the signature compiles
// on the compile thread, and later calls switch to the compiled code; the function may be
// destroyed, the process may exit or fork while a compile is queued or running.
#include <ejit/compile.h>
#include <ejit/jit.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"
#include "op_chains.h"
#include "scoped_cache.h"
#include "test_util.h"

using namespace ejit;
using namespace ejit::test;

namespace {

constexpr JitOptions kBackground{.compile = CompileMode::Background};

/// 48 elementwise ops: long enough to compile for tens of milliseconds.
Tensor chain(const Tensor& x) {
  Tensor y = x;
  for (int i = 0; i < 12; ++i) y = tanh(y * 1.5f + 0.25f) * 0.75f - 0.1f;
  return y;
}

/// `count` outputs of two ops each, several kernels in one module: 150 are compiled in parts
/// (LLVM's half on threads of the compile's own), 600 in groups (each a module of its own,
/// MLIR stages and all, on a thread and compiler context of its own: cpu_compiler.cpp).
std::vector<Tensor> many_outputs(const Tensor& x, int count) {
  std::vector<Tensor> outs;
  for (int i = 0; i < count; ++i) outs.push_back(tanh(x * float(i + 2)) - 1.f);
  return outs;
}

bool all_same(const std::vector<Tensor>& got, const std::vector<Tensor>& want) {
  bool ok = got.size() == want.size();
  for (size_t i = 0; ok && i < want.size(); ++i) ok = same(got[i], want[i], 1e-4);
  return ok;
}

}  // namespace

TEST_CASE("background: the first call runs eagerly, and the compiled code is used once ready", "[jit][background]") {
  auto f = jit(chain, "chain", kBackground);
  Tensor x = randn({64, 300}, 1);
  const Tensor want = chain(x);
  require_close(f(x), want, 1e-5);  // eager, while the compile is queued
  CacheStats s = f.stats();
  CHECK(s.misses == 1);
  CHECK(s.hits == 0);
  wait_for_compiles();
  require_close(f(x), want, 1e-4);
  require_close(f(x), want, 1e-4);
  s = f.stats();
  CHECK(s.hits == 2);
  CHECK(s.compile_ms > 0);
  CHECK(s.eager_calls == s.eager_while_compiling);
  CHECK(f.ir(Stage::Loops).find("scf.parallel") != std::string::npos);
}

TEST_CASE("background: calls made while compiling run eagerly and count so", "[jit][background]") {
  auto f = jit(chain, "chain", kBackground);
  Tensor x = randn({128, 128}, 2);
  const Tensor want = chain(x);
  for (int i = 0; i < 5; ++i) require_close(f(x), want, 1e-4);  // eager or compiled, always right
  wait_for_compiles();
  const CacheStats s = f.stats();
  CHECK(s.misses == 1);
  CHECK(s.hits + s.eager_while_compiling == 4);
  CHECK(s.eager_calls == s.eager_while_compiling);
}

TEST_CASE("background: 60 random op chains equal their synchronous compiles", "[jit][background][random]") {
  std::mt19937_64 rng(99);
  for (uint64_t seed = 0; seed < 60; ++seed) {
    const int64_t m = 1 + static_cast<int64_t>(rng() % 24), n = 1 + static_cast<int64_t>(rng() % 24);
    Tensor a = randn({m, n}, seed), b = randn({n}, seed + 7);
    auto fn = [seed](const Tensor& x, const Tensor& y) { return random_chain(seed, x, y); };
    auto bg = jit(fn, "bg", kBackground);
    auto sync = jit(fn, "sync", JitOptions{.compile = CompileMode::Sync});
    const Tensor eager = random_chain(seed, a, b);
    require_agree(bg(a, b), eager, 2e-4, 2e-5, "first call (eager)");
    sync(a, b);
    const Tensor from_sync = sync(a, b);
    REQUIRE(sync.stats().hits == 1);
    wait_for_compiles();
    const Tensor from_bg = bg(a, b);
    REQUIRE(bg.stats().hits == 1);
    INFO("seed " << seed);
    require_agree(from_bg, from_sync, 1e-6, 1e-7, "background vs sync");
  }
}

TEST_CASE("background: a first version with fast code generation is replaced by the full compile", "[jit][background]") {
  const ScopedCache cache("tiered");  // empty: nothing comes from an earlier run
  auto f = jit(chain, "tiered", kBackground);
  Tensor x = randn({37, 211}, 11);  // a shape no other test compiles: not in this process's disk cache
  const Tensor want = chain(x);
  require_close(f(x), want, 1e-5);  // eager
  wait_for_compiles();              // both tiers
  require_close(f(x), want, 1e-4);
  CacheStats s = f.stats();
  CHECK(s.misses == 1);
  CHECK(s.hits == 1);
  CHECK(s.upgrades == 1);
  CHECK(s.disk_hits == 0);
  CHECK(s.signatures == 1);
  // A synchronous compile is full from the start: nothing to upgrade.
  auto g = jit(chain, "sync", JitOptions{.compile = CompileMode::Sync});
  require_close(g(randn({41, 5}, 12)), chain(randn({41, 5}, 12)), 1e-4);
  CHECK(g.stats().upgrades == 0);
}

TEST_CASE("fast code generation: 60 random op chains equal the interpreter", "[jit][background][random]") {
  std::mt19937_64 rng(4242);  // other shapes than the tests above: compiled here, not taken from the disk cache
  int compiled = 0, from_disk = 0;  // from the disk cache: only when EJIT_CACHE_DIR is kept between runs
  for (uint64_t seed = 0; seed < 60; ++seed) {
    const int64_t m = 25 + static_cast<int64_t>(rng() % 24), n = 25 + static_cast<int64_t>(rng() % 24);
    Tensor a = randn({m, n}, seed), b = randn({n}, seed + 7);
    Recorder rec;
    rec.add_inputs({a, b});
    const Tensor eager = random_chain(seed, a, b);
    const Trace t = rec.finish({eager});
    const Compiled c = compile(t, {.fast_codegen = true});
    INFO("seed " << seed << ": " << c.error());
    if (!c.ok()) {  // a chain whose ops all run on the interpreter (one op, or none that fuse)
      CHECK(c.error().find("no op of this trace compiles") != std::string::npos);
      continue;
    }
    require_agree(c.run({a, b}).at(0), eager, 2e-4, 2e-5, "fast code generation vs interpreter");
    ++(c.from_disk_cache() ? from_disk : compiled);
  }
  CHECK(compiled + from_disk >= 40);
}

TEST_CASE("outlined transcendentals: called in a first tier, inlined in full code, the same results",
          "[jit][background][outline]") {
  // lib/pipeline/OutlineMath.h: ops applied three times or more in a kernel call one
  // function; a first tier calls its vector form in the vector loop, full code inlines that
  // and calls the scalar form in a scalar remainder only. The expansion is the same ops, so
  // an elementwise kernel computes the same bits either way.
  const std::pair<const char*, Tensor (*)(Tensor)> ops[] = {{"exp", exp},   {"expm1", expm1},     {"log", log},   {"log1p", log1p},
                                                            {"sin", sin},   {"cos", cos},         {"tanh", tanh}, {"erf", erf},
                                                            {"gelu", gelu}, {"sigmoid", sigmoid}};
  // Rows of 13 (a vector of 8 and a tail the vectorizer masks), and 1001 in one loop split
  // among threads (a vector loop and a scalar remainder); the first tier vectorizes only
  // kernels of more than 2^15 iterations (the larger two).
  for (const Shape& shape : {Shape{77, 13}, Shape{1001}, Shape{3001, 13}, Shape{40001}}) {
    const Tensor a = randn(shape, 31) * 3.f, b = randn(shape, 32) * 3.f;
    for (const auto& [name, f] : ops) {
      INFO(name << " on " << shape.rank() << "-D");
      Recorder rec;
      rec.add_inputs({a, b});
      const Tensor u = abs(a) + 0.25f, v = abs(b) + 0.5f;
      const Tensor eager = f(u) + f(v) * 0.5f + f(u * v);  // a sum: no cancellation of exp's large terms
      const Trace t = rec.finish({eager});
      const Compiled first = compile(t, {.keep_ir = true, .fast_codegen = true});
      const Compiled full = compile(t, {.keep_ir = true});
      REQUIRE(first.ok());
      REQUIRE(full.ok());
      if (shape.numel() > (1 << 15))  // the vector loop calls the vector form
        CHECK(first.ir(Stage::LLVM).find("call <8 x float> @kernel_") != std::string::npos);
      CHECK(full.ir(Stage::LLVM).find("call <8 x float> @kernel_") == std::string::npos);   // full code: inlined
      if (shape.rank() == 1) CHECK(full.ir(Stage::LLVM).find("call float @kernel_") != std::string::npos);  // but in the remainder
      const Tensor got = first.run({a, b}).at(0);
      require_agree(got, eager, 2e-5, 2e-6, "first tier vs interpreter");
      CHECK(got.to_vector<float>() == full.run({a, b}).at(0).to_vector<float>());
    }
  }
}

TEST_CASE("fast code generation: small kernels keep scalar loops while larger ones and full code vectorize", "[jit][background]") {
  // lib/pipeline/CpuPipeline.h: kSmallKernelIterations (2^15 loop iterations in all).
  auto trace_of = [](const Shape& shape) {
    const Tensor a = randn(shape, 41), b = randn(shape, 42);
    Recorder rec;
    rec.add_inputs({a, b});
    const Tensor eager = a * b + a / (b * b + 1.f);
    return std::make_tuple(rec.finish({eager}), a, b, eager);
  };
  for (const Shape& shape : {Shape{64, 10}, Shape{32768}, Shape{256, 512}}) {
    const auto [t, a, b, eager] = trace_of(shape);
    const bool small = shape.numel() <= (1 << 15);
    INFO(shape.str());
    const Compiled first = compile(t, {.keep_ir = true, .fast_codegen = true});
    const Compiled full = compile(t, {.keep_ir = true});
    REQUIRE(first.ok());
    REQUIRE(full.ok());
    CHECK((first.ir(Stage::LLVM).find("x float>") == std::string::npos) == small);  // no vector code in a small first tier
    CHECK(full.ir(Stage::LLVM).find("x float>") != std::string::npos);
    require_agree(first.run({a, b}).at(0), eager, 2e-6, 2e-6, "first tier vs interpreter");
  }
}

TEST_CASE("outlined transcendentals: in a row reduction's kernel", "[jit][background][outline]") {
  const Tensor a = randn({77, 13}, 33) * 3.f, b = randn({77, 13}, 34) * 3.f;
  Recorder rec;
  rec.add_inputs({a, b});
  const Tensor eager = softmax(a, -1) + exp(b) * 0.1f - exp(a * 0.5f);
  const Trace t = rec.finish({eager});
  for (bool fast : {true, false}) {
    const Compiled c = compile(t, {.keep_ir = true, .fast_codegen = fast});
    REQUIRE(c.ok());
    CHECK((c.ir(Stage::LLVMDialect).find("@kernel_exp_f32") != std::string::npos));
    require_agree(c.run({a, b}).at(0), eager, 2e-5, 2e-6, fast ? "first tier vs interpreter" : "full code vs interpreter");
  }
}

TEST_CASE("fast code generation: stored apart from full code, which it never stands in for", "[jit][background]") {
  const ScopedCache cache("fast-codegen");  // empty, whatever EJIT_CACHE_DIR the run has
  Tensor x = randn({53, 29}, 13);
  Recorder rec;
  rec.add_inputs({x});
  const Trace t = rec.finish({chain(x) * 3.f});
  const Compiled fast = compile(t, {.fast_codegen = true});
  REQUIRE(fast.ok());
  CHECK(!fast.from_disk_cache());
  const Compiled fast_again = compile(t, {.fast_codegen = true});  // the first tier's code was stored
  REQUIRE(fast_again.ok());
  CHECK(fast_again.from_disk_cache());
  const Compiled full = compile(t);  // but it never serves a full request: this one compiles
  REQUIRE(full.ok());
  CHECK(!full.from_disk_cache());
  const Compiled again = compile(t, {.fast_codegen = true});  // full code, stored, serves fast requests too
  REQUIRE(again.ok());
  CHECK(again.from_disk_cache());
  require_close(again.run({x}).at(0), chain(x) * 3.f, 1e-4);
}

TEST_CASE("background: a first tier from the disk cache runs at once and is upgraded, full code is not", "[jit][background]") {
  // What a short program leaves behind: its compile thread finished a first tier only.
  const ScopedCache cache("first-tier-from-disk");
  Tensor x = randn({31, 17}, 5);
  Recorder rec;
  rec.add_inputs({x});
  const Trace t = rec.finish({chain(x)});
  REQUIRE(compile(t, {.fast_codegen = true}).ok());
  CHECK(kernel_cache_stats().entries == 1);
  auto f = jit(chain, "from-disk", kBackground);
  require_close(f(x), chain(x), 1e-4);  // loads the first tier on this thread
  require_close(f(x), chain(x), 1e-4);
  CHECK(f.stats().hits == 1);           // so the second call ran its code, whatever the compile thread does
  wait_for_compiles();
  require_close(f(x), chain(x), 1e-4);
  CHECK(f.stats().disk_hits == 1);  // the first tier, loaded
  CHECK(f.stats().upgrades == 1);   // then compiled in full, and stored
  CHECK(kernel_cache_stats().entries == 1);  // in place of the first tier, never read again
  auto g = jit(chain, "full-from-disk", kBackground);
  require_close(g(x), chain(x), 1e-4);
  wait_for_compiles();
  require_close(g(x), chain(x), 1e-4);
  CHECK(g.stats().disk_hits == 1);
  CHECK(g.stats().upgrades == 0);  // full code from the start
}

TEST_CASE("background: a function destroyed while its compile is queued or running", "[jit][background]") {
  Tensor x = randn({256, 256}, 3);
  for (int i = 0; i < 8; ++i) {
    auto f = jit([i](const Tensor& t) { return chain(t) + static_cast<float>(i); }, "short-lived", kBackground);
    f(x);  // queued; f goes away at the end of the iteration
  }
  wait_for_compiles();  // the jobs find their functions gone: nothing crashes, nothing hangs
  auto g = jit(chain, "after", kBackground);
  g(x);
  wait_for_compiles();
  require_close(g(x), chain(x), 1e-4);
  CHECK(g.stats().hits == 1);
}

TEST_CASE("background: a trace that does not compile stays eager, with no exception", "[jit][background]") {
  // A matmul alone: it runs on the BLAS, and nothing in the trace compiles.
  auto pick = [](const Tensor& t) { return matmul(t, transpose(t)); };
  auto f = jit(pick, "matmul", kBackground);
  Tensor x = randn({6, 9}, 4);
  const Tensor want = pick(x);
  CHECK(f(x).to_vector<float>() == want.to_vector<float>());
  wait_for_compiles();
  CHECK(f(x).to_vector<float>() == want.to_vector<float>());
  const CacheStats s = f.stats();
  CHECK(s.hits == 0);
  CHECK(s.eager_calls == 1);
}

TEST_CASE("background: the process exits cleanly while a compile is running", "[jit][background][fork]") {
  const std::string outcome = run_in_child(
      [] {
        auto f = jit(chain, "exiting", kBackground);
        Tensor x = randn({200, 200}, 5);
        return same(f(x), chain(x), 1e-4);  // then exit() with the compile queued or running
      },
      /*exit_normally=*/true);
  CHECK(outcome == "");
}

TEST_CASE("background: exit and fork while a module compiles on threads of its own", "[jit][background][fork]") {
  const Tensor x = randn({64}, 7);
  for (int count : {150, 600}) {  // in parts, in groups
    INFO(count << " outputs");
    auto fn = [count](const Tensor& t) { return many_outputs(t, count); };
    const std::vector<Tensor> want = fn(x);
    CHECK(run_in_child(
              [&] {
                auto f = jit(fn, "exiting while compiling", kBackground);
                return all_same(f(x), want);  // then exit() while the threads compile
              },
              /*exit_normally=*/true) == "");
    auto f = jit(fn, "forked while compiling", kBackground);
    CHECK(all_same(f(x), want));  // queued: its compile takes the compiler lock, as fork() does
    CHECK(run_in_child([&] {
            bool ok = all_same(f(x), want);
            wait_for_compiles();
            return ok && all_same(f(x), want);
          }) == "");
    wait_for_compiles();
    CHECK(all_same(f(x), want));
    CHECK(f.stats().hits == 1);
  }
}

// Run by ctest in processes of their own (test/jit/CMakeLists.txt): the first jitted call of
// a fresh process returns while the compile thread's warm-up (its first compile) runs, and
// the process exits at once, from the calling thread or after joining a thread that called.
TEST_CASE("background: a process exits during the compile thread's warm-up", "[.exit-during-warm-up]") {
  auto f = jit(chain, "first", kBackground);
  Tensor x = randn({50, 50}, 1);
  const auto t0 = std::chrono::steady_clock::now();
  const bool right = same(f(x), chain(x), 1e-4);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("first jitted call of the process: {:.2f} ms\n", ms);
  std::exit(right ? 0 : 1);
}

TEST_CASE("background: a process exits while upgrading a first tier the disk cache served", "[.exit-during-upgrade]") {
  // EJIT_CACHE_DIR: a folder of this test's own under the build tree (test/jit/CMakeLists.txt).
  kernel_cache_clear();
  Tensor x = randn({50, 50}, 1);
  Recorder rec;
  rec.add_inputs({x});
  const Trace t = rec.finish({chain(x)});
  const bool stored = compile(t, {.fast_codegen = true}).ok();
  auto f = jit(chain, "first", kBackground);
  const bool right = same(f(x), chain(x), 1e-4) && same(f(x), chain(x), 1e-4);
  std::exit(stored && right && f.stats().hits == 1 ? 0 : 1);  // the upgrade is queued, the warm-up running
}

TEST_CASE("background: a process exits during the warm-up after joining the thread that queued it",
          "[.exit-during-warm-up-thread]") {
  bool right = false;
  std::thread([&] {
    auto f = jit(chain, "first", kBackground);
    Tensor x = randn({50, 50}, 1);
    right = same(f(x), chain(x), 1e-4);
  }).join();  // the thread's exit waited for the warm-up
  std::exit(right ? 0 : 1);
}

TEST_CASE("background: a child forked while a compile is queued computes right and compiles", "[jit][background][fork]") {
  auto f = jit(chain, "forked", kBackground);
  Tensor x = randn({100, 100}, 6);
  const Tensor want = chain(x);
  f(x);  // queued in the parent
  const std::string outcome = run_in_child([&] {
    bool ok = same(f(x), want, 1e-4);  // eager or compiled: right either way
    wait_for_compiles();         // never hangs, even if the parent's job was lost at the fork
    ok = ok && same(f(x), want, 1e-4);
    auto g = jit([](const Tensor& t) { return chain(t) * 2.f; }, "child", kBackground);
    ok = ok && same(g(x), want * 2.f, 1e-4);
    wait_for_compiles();
    return ok && same(g(x), want * 2.f, 1e-4) && g.stats().hits == 1;
  });
  CHECK(outcome == "");
  wait_for_compiles();
  require_close(f(x), want, 1e-4);
}

TEST_CASE("outlined sin: an element's result does not depend on a huge neighbour", "[jit][outline]") {
  // backend/cpu/math_calls.h: a vector form calls libm only for its lanes above 2^40.
  std::vector<float> plain(4096);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = 0.37f + 0.731f * static_cast<float>(i % 64);
  std::vector<float> mixed = plain;
  for (size_t i = 1; i < mixed.size(); i += 8) mixed[i] = 1e20f;  // one lane of every vector
  const Tensor a = from_vector(plain, {4096}), b = from_vector(mixed, {4096}), one = ones({4096});
  Recorder rec;
  rec.add_inputs({a, one});
  const Tensor eager = sin(a) * one;
  const Trace t = rec.finish({eager});
  for (bool fast : {false, true}) {
    const Compiled c = compile(t, {.fast_codegen = fast});
    REQUIRE(c.ok());
    const std::vector<float> p = c.run({a, one}).at(0).to_vector<float>(), m = c.run({b, one}).at(0).to_vector<float>();
    for (size_t i = 0; i < p.size(); ++i) {
      INFO("element " << i);
      if (i % 8 != 1) REQUIRE(p[i] == m[i]);
      else REQUIRE(std::fabs(m[i] - std::sin(1e20f)) < 1e-6f);
    }
  }
}
