// Compiled (jit) vs interpreted vs hand-written fused C++ vs Eigen, measured in one run;
// plus cache-hit overhead and compile times.
//
//   jit_bench [--quick]
#include <ejit/compile.h>
#include <ejit/ejit.h>
#include <ejit/jit.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>
#include <tuple>
#include <vector>

#include "hand_fused.h"
#include "machine_peaks.h"
#include "record.h"

using namespace ejit;
using bench::median_ms;

namespace {

/// Milliseconds of fn() run once in a fork()ed child: a first call with the allocator's
/// cache as it is now (cold memory), without warming this process's. -1 if fork fails.
template <class F> double first_call_in_child(F&& fn) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    (void)!write(fds[1], &ms, sizeof ms);
    _exit(0);
  }
  close(fds[1]);
  double ms = -1;
  if (pid < 0 || read(fds[0], &ms, sizeof ms) != sizeof ms) ms = -1;
  close(fds[0]);
  if (pid > 0) waitpid(pid, nullptr, 0);
  return ms;
}

/// Resident memory of this process, in MB.
double rss_mb() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

/// Recompiles across sizes (dynamic dims), a function with a host read, and the cache's
/// bound on memory.
void recompiles_and_guards(bool quick) {
  fmt::print("\n== recompiles, host reads and the cache's bounds ==\n");
  constexpr JitOptions kSync{.compile = CompileMode::Sync};  // dynamic dims as by default
  auto w1 = jit([](const Tensor& a) { return exp(a * 1.5f) + tanh(a) * 0.5f - a / (1 + a * a); }, "w1", kSync);
  const int sizes = quick ? 10 : 100;
  for (int k = 0; k < sizes; ++k) w1(rand({100 + k, 64}, static_cast<uint64_t>(k)));
  CacheStats s = w1.stats();
  fmt::print("sizes 100..{} in dim 0: {} compiles, {:.0f} ms compiling (target <= 2 compiles)\n", 99 + sizes, s.misses,
             s.compile_ms);
  {  // dynamic dims against static ones at full size, in this run
    const int64_t rows = quick ? 256 : 4096;
    const int reps = quick ? 2 : 7;
    auto ratio = [&](const char* what, auto fn, int64_t cols) {
      auto fixed = jit(fn, "static", JitOptions{.compile = CompileMode::Sync, .dynamic = false});
      auto dynamic = jit(fn, "dynamic", kSync);
      dynamic(rand({rows / 2, cols}, 1));
      dynamic(rand({rows / 2 + 1, cols}, 2));  // now dim 0 is dynamic
      Tensor x = rand({rows, cols}, 3);
      fixed.compare(1, x), dynamic.compare(1, x);  // warm both (allocator cache, first touch)
      Comparison st = fixed.compare(reps, x), dy = dynamic.compare(reps, x);
      fmt::print("{:<10} {}x{}: dynamic dim 0 {:.2f} ms, static {:.2f} ms: {:.2f}x (target <= 1.10x; {} compiles)\n",
                 what, rows, cols, dy.compiled_ms, st.compiled_ms, dy.compiled_ms / st.compiled_ms,
                 dynamic.stats().misses);
    };
    ratio("W1", [](const Tensor& a) { return exp(a * 1.5f) + tanh(a) * 0.5f - a / (1 + a * a); }, quick ? 256 : 4096);
    ratio("softmax", [](const Tensor& a) { return softmax(a); }, 1024);
    ratio("layer_norm", [](const Tensor& a) { return layer_norm(a); }, 1024);
    // 128 MiB, memory-bound: both stream (the dynamic version picks its streaming loop per call)
    ratio("x*2+1", [](const Tensor& a) { return a * 2.f + 1.f; }, quick ? 256 : 4096);
  }

  auto branchy = jit([](const Tensor& x) { return (sum(x) > 0.f).item<bool>() ? exp(x) * 2.f : -x * 3.f + 1.f; },
                     "branchy", kSync);
  Tensor x = randn({quick ? 1 << 14 : 1 << 22}, 11);
  const int reps = quick ? 2 : 7;
  Comparison pos = branchy.compare(reps, abs(x)), neg = branchy.compare(reps, -abs(x));
  fmt::print("branch on (sum(x) > 0).item<bool>(), {} f32: exp branch eager {:.2f} ms, compiled {:.2f} ms ({:.1f}x); "
             "other branch eager {:.2f} ms, compiled {:.2f} ms ({:.1f}x); {} compiles\n",
             x.numel(), pos.interpreted_ms, pos.compiled_ms, pos.interpreted_ms / pos.compiled_ms, neg.interpreted_ms,
             neg.compiled_ms, neg.interpreted_ms / neg.compiled_ms, branchy.stats().misses);

  // Static shapes on purpose (dynamic dims would serve them all with one compile).
  auto shapes = jit([](const Tensor& a) { return tanh(a * 2.f) + 1.f; }, "shapes",
                    JitOptions{.compile = CompileMode::Sync, .dynamic = false});
  const int n_shapes = quick ? 80 : 500;
  const double before = rss_mb();
  double at_bound = 0;
  for (int k = 1; k <= n_shapes; ++k) {
    shapes(rand({k}, static_cast<uint64_t>(k)));
    if (k == static_cast<int>(JitOptions{}.max_signatures)) at_bound = rss_mb();
  }
  s = shapes.stats();
  fmt::print("{} distinct shapes (cache bound {} signatures): RSS {:.1f} MB before, {:.1f} MB once {} are cached, "
             "{:.1f} MB after all; {} evictions, {} signatures and {} KiB of code kept\n",
             n_shapes, JitOptions{}.max_signatures, before, at_bound, JitOptions{}.max_signatures, rss_mb(), s.evictions,
             s.signatures, s.code_bytes / 1024);
}

/// What strict numerics (JitOptions::strict: compiled == interpreted bit for bit) costs:
/// transcendentals and float reductions leave the kernels for the interpreter.
void strict_cost(bool quick) {
  fmt::print("\n== strict numerics (bit for bit with the interpreter) against the default, in this run ==\n");
  const int64_t rows = quick ? 256 : 4096;
  const int reps = quick ? 2 : 7;
  auto line = [&](const char* what, auto fn, int64_t cols) {
    auto fast = jit(fn, "default", JitOptions{.compile = CompileMode::Sync, .strict = false});
    auto strict = jit(fn, "strict", JitOptions{.compile = CompileMode::Sync, .strict = true});
    Tensor x = rand({rows, cols}, 3);
    fast.compare(1, x), strict.compare(1, x);  // compile and warm both
    Comparison d = fast.compare(reps, x), st = strict.compare(reps, x);
    fmt::print("{:<22} {}x{}: eager {:.2f} ms, compiled {:.2f} ms, strict {:.2f} ms: strict costs {:.2f}x the "
               "default ({:.2f}x eager's time)\n",
               what, rows, cols, d.interpreted_ms, d.compiled_ms, st.compiled_ms, st.compiled_ms / d.compiled_ms,
               st.compiled_ms / d.interpreted_ms);
  };
  line("W1", [](const Tensor& a) { return exp(a * 1.5f) + tanh(a) * 0.5f - a / (1 + a * a); }, quick ? 256 : 4096);
  line("polynomial (exact ops)", [](const Tensor& a) { return ((a * 0.5f + 1.f) * a - 2.f) * a / (a * a + 1.f); },
       quick ? 256 : 4096);
  line("softmax", [](const Tensor& a) { return softmax(a); }, 1024);
  line("layer_norm", [](const Tensor& a) { return layer_norm(a); }, 1024);
}

/// Median ms of a jitted a*b + c (compiled before timing).
double triad_ms(const Tensor& a, const Tensor& b, const Tensor& c, int reps) {
  auto triad = jit([](const Tensor& x, const Tensor& y, const Tensor& z) { return x * y + z; }, "triad",
                   JitOptions{.compile = CompileMode::Sync});
  Tensor r = triad(a, b, c);
  return median_ms(reps, [&] { r = triad(a, b, c); });
}

/// triad_ms in a fresh process of this program with EJIT_STREAMING_MB=0; -1 if that fails.
double child_triad_ms(const char* self, bool quick, int reps) {
  const std::string cmd = fmt::format("EJIT_STREAMING_MB=0 '{}' --triad-ms {} {}", self, quick ? 1 : 0, reps);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  double ms = -1;
  if (std::fscanf(p, "%lf", &ms) != 1) ms = -1;
  pclose(p);
  return ms;
}

/// The median of v.
double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Rounds in which the timed sides take turns (each a median of `reps` runs): a ratio is
/// the median of its rounds' ratios. This machine's speed drifts over seconds (one kernel
/// timed 0.85-1.66 ms in one process): sides timed seconds apart compared the drift.
int bench_rounds(bool quick) { return quick ? 1 : 5; }

/// "median of 5 interleaved rounds, 0.91-1.12" for ratios r.
std::string rounds_note(const std::vector<double>& r) {
  const auto [lo, hi] = std::minmax_element(r.begin(), r.end());
  return fmt::format("median of {} interleaved rounds, {:.2f}-{:.2f}", r.size(), *lo, *hi);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && !std::strcmp(argv[1], "--triad-ms")) {  // child_triad_ms
    setenv("EJIT_CACHE_DIR", "off", 1);
    const int64_t n = std::atoi(argv[2]) ? 1 << 16 : 16 << 20;
    fmt::print("{}\n", triad_ms(rand({n}, 1), rand({n}, 2), rand({n}, 3), std::atoi(argv[3])));
    return 0;
  }
  const bool quick = argc > 1 && !std::strcmp(argv[1], "--quick");
  // Compiles here are cold: with the disk cache, a second run's "compile" lines and first
  // call would time cache loads (about 1 ms) instead.
  setenv("EJIT_CACHE_DIR", "off", 1);
  const int64_t n = quick ? 1 << 16 : 16 << 20;
  const int reps = quick ? 2 : 7;
  fmt::print("threads {}, kernels {}\n", num_threads(), kernel_isa());
  auto bw = bench::stream(n, num_threads());
  fmt::print("STREAM-like triad {:.1f} GB/s\n", bw.triad_gbs);

  fmt::print("\n== y = exp(a*b) + tanh(c)*0.5 - a/(1+b*b), {} f32 ==\n", n);
  Tensor a = rand({n}, 1), b = rand({n}, 2), c = rand({n}, 3), y;
  // The eager chain's own first call, on memory as cold as the jitted first call's below.
  const double eager_first_ms =
      first_call_in_child([&] { Tensor r = exp(a * b) + tanh(c) * 0.5f - a / (1 + b * b); });
  auto f = jit([](const Tensor& a, const Tensor& b, const Tensor& c) { return exp(a * b) + tanh(c) * 0.5f - a / (1 + b * b); });
  // The first call records and runs eagerly; the compile thread builds the kernel meanwhile.
  const auto t0 = std::chrono::steady_clock::now();
  y = f(a, b, c);
  const auto t1 = std::chrono::steady_clock::now();
  auto ms_since_t0 = [&] { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(); };
  // Background mode compiles in two tiers: a first version (fast code generation), then the
  // full compile replaces it.
  while (f.stats().signatures == 0 && compile_mode() == CompileMode::Background)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  const double first_version_ms = ms_since_t0();
  wait_for_compiles();
  const double first_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  const double ready_ms = ms_since_t0();
  double compile_chain = f.stats().compile_ms;
  // Compiled, interpreted, hand-fused and Eigen take turns (bench_rounds).
  const bool eigen = bench::have_eigen_tensor();
  std::vector<float> out(n);
  std::vector<double> t_jit, t_eager, t_hand, t_eigen, speedup, of_hand, of_eigen;
  for (int r = 0; r < bench_rounds(quick); ++r) {
    t_jit.push_back(median_ms(reps, [&] { y = f(a, b, c); }));
    t_eager.push_back(median_ms(reps, [&] { y = exp(a * b) + tanh(c) * 0.5f - a / (1 + b * b); }));
    t_hand.push_back(median_ms(reps, [&] { bench::hand_fused_chain(a.data<float>(), b.data<float>(), c.data<float>(), out.data(), n); }));
    if (eigen)
      t_eigen.push_back(median_ms(reps, [&] { bench::eigen_chain(a.data<float>(), b.data<float>(), c.data<float>(), out.data(), n, num_threads()); }));
    speedup.push_back(t_eager.back() / t_jit.back());
    of_hand.push_back(t_hand.back() / t_jit.back());
    if (eigen) of_eigen.push_back(t_eigen.back() / t_jit.back());
  }
  const double compiled = median_of(t_jit), eager = median_of(t_eager), hand = median_of(t_hand);
  fmt::print("first call       {:8.2f} ms   {:5.2f}x the eager time (target <= 1.2x; compile mode {}); compiled code "
             "in use {:.1f} ms after it began (fast code generation), fully compiled {:.1f} ms after\n", first_ms,
             first_ms / eager, compile_mode() == CompileMode::Sync ? "sync" : "background", first_version_ms, ready_ms);
  fmt::print("                            {:5.2f}x the eager chain's own first call ({:.2f} ms: fresh memory for its "
             "results costs page faults either way)\n", first_ms / eager_first_ms, eager_first_ms);
  fmt::print("interpreted      {:8.2f} ms\n", eager);
  fmt::print("compiled (jit)   {:8.2f} ms   {:5.1f}x faster than interpreted (target >= 5x; {})\n", compiled,
             median_of(speedup), rounds_note(speedup));
  fmt::print("hand-fused C++   {:8.2f} ms   (-O3 -march=native -ffast-math, OpenMP): jit reaches {:.0f}% of its speed "
             "(target >= 90%; {})\n", hand, 100 * median_of(of_hand), rounds_note(of_hand));
  fmt::print("triad bandwidth floor (3 reads + 1 write): {:.2f} ms\n", 4.0 * n * 4 / (bw.triad_gbs * 1e6));
  if (eigen) {
    fmt::print("Eigen Tensor     {:8.2f} ms   (ThreadPoolDevice, {} threads): jit is {:.2f}x Eigen's speed (target > 1; {})\n",
               median_of(t_eigen), num_threads(), median_of(of_eigen), rounds_note(of_eigen));
  } else {
    fmt::print("Eigen Tensor: not installed (libeigen3-dev), skipped\n");
  }

  {  // memory-bound: streaming stores (lib/pipeline/StreamingStores.h) skip the output's reads
    fmt::print("\n== y = a*b + c, {} f32 (memory-bound: streaming stores) ==\n", n);
    const double jitted = triad_ms(a, b, c, reps);
    // The same in a child process with streaming off (EJIT_STREAMING_MB is read once).
    const double ordinary = child_triad_ms(argv[0], quick, reps);
    std::vector<float> triad_out(static_cast<size_t>(n));
    const double by_hand =
        median_ms(reps, [&] { bench::hand_triad(a.data<float>(), b.data<float>(), c.data<float>(), triad_out.data(), n); });
    fmt::print("compiled {:.2f} ms, with streaming off (EJIT_STREAMING_MB=0, a child process) {:.2f} ms: {:.2f}x; "
               "hand loop (-O3 -march=native, OpenMP, ordinary stores) {:.2f} ms: compiled is {:.2f}x its speed\n",
               jitted, ordinary, ordinary / jitted, by_hand, by_hand / jitted);
  }

  fmt::print("\n== softmax and layer norm, 4096x1024 f32 ==\n");
  Tensor x = randn({quick ? 64 : 4096, 1024}, 4);
  auto sm = jit([](const Tensor& t) { return softmax(t); });
  auto ln = jit([](const Tensor& t) { return layer_norm(t); });
  Comparison cs = sm.compare(reps, x), cl = ln.compare(reps, x);
  // The compiled functions and the hand-written row loops (one pass per row block) take
  // turns (bench_rounds). Each compiled run drops the last result first, as a loop reusing
  // its output would (the hand loops write one buffer).
  Tensor rows_out = Tensor::empty(x.shape(), DType::F32);
  const int64_t rows = x.dim(0), cols = x.dim(1);
  const float* in = static_cast<const float*>(x.raw_data());
  float* out_rows = static_cast<float*>(rows_out.raw_data());
  struct Rows {
    std::vector<double> compiled, hand, ratio;
  } rs_sm, rs_ln;
  Tensor held;
  auto round = [&](Rows& rs, auto& fn, void (*by_hand)(const float*, float*, int64_t, int64_t)) {
    const double c = median_ms(reps, [&] {
      held = Tensor();
      held = fn(x);
    });
    const double h = median_ms(reps, [&] { by_hand(in, out_rows, rows, cols); });
    rs.compiled.push_back(c), rs.hand.push_back(h), rs.ratio.push_back(c / h);
  };
  for (int r = 0; r < bench_rounds(quick); ++r) round(rs_sm, sm, bench::hand_softmax), round(rs_ln, ln, bench::hand_layer_norm);
  for (auto [label, rs, interp] : {std::tuple{"softmax   ", &rs_sm, cs.interpreted_ms}, std::tuple{"layer_norm", &rs_ln, cl.interpreted_ms}})
    fmt::print("{} interpreted {:6.2f} ms, compiled {:6.2f} ms, hand-fused rows {:6.2f} ms: compiled/hand {:.2f}x "
               "({}; target <= 1.10x)\n",
               label, interp, median_of(rs->compiled), median_of(rs->hand), median_of(rs->ratio), rounds_note(rs->ratio));

  fmt::print("\n== sin(a*8) * cos(b*1000) + sin(c), {} f32 (accurate reduction; compute-bound) ==\n", n);
  auto trig = jit([](const Tensor& a, const Tensor& b, const Tensor& c) { return sin(a * 8.f) * cos(b * 1000.f) + sin(c); });
  Comparison ct = trig.compare(reps, a, b, c);
  fmt::print("interpreted {:6.2f} ms, compiled {:6.2f} ms ({:.1f}x), max abs error {:.1e}\n", ct.interpreted_ms,
             ct.compiled_ms, ct.interpreted_ms / ct.compiled_ms, ct.max_abs_error);

  fmt::print("\n== indexing in kernels (take and gather fused with the ops around them) ==\n");
  {
    const int64_t table_rows = quick ? 1000 : 100000, rows = quick ? 64 : 2048;
    const Tensor table = randn({table_rows, 128}, 11), small = randn({64, 256}, 12);
    const Tensor ids = cast(floor(rand({256}, 13, DType::F32, 0.0, static_cast<double>(table_rows) - 0.01)), DType::I64);
    const Tensor u = rand({quick ? 256 : 16384}, 14), x = randn({rows, rows}, 15), l = randn({rows * 32, 16}, 16);
    auto scaled = jit([](const Tensor& t, const Tensor& i) { return take(t * 0.5f, i, 0) + 1.f; });
    auto bucket = jit([](const Tensor& t, const Tensor& v) { return take(t, cast(floor(v * 64.f), DType::I64), 0) * 2.f + 1.f; });
    auto pick = jit([](const Tensor& t) { return take(t * 2.f, argmax(t * 3.f, 1), 0) + 1.f; });
    auto top = jit([](const Tensor& t) { return gather(t * 2.f, argmax(t + 1.f, 1).reshape({t.dim(0), 1}), 1) - 1.f; });
    auto line = [](const char* what, const Comparison& c) {
      fmt::print("{:<44} interpreted {:7.3f} ms, compiled {:7.3f} ms ({:.1f}x){}\n", what, c.interpreted_ms, c.compiled_ms,
                 c.interpreted_ms / c.compiled_ms, c.compiled ? "" : " [not compiled: " + c.reason + "]");
    };
    line(fmt::format("256 rows of a scaled table ({}x128)", table_rows).c_str(), scaled.compare(reps, table, ids));
    line(fmt::format("{} computed buckets into a 64x256 table", u.numel()).c_str(), bucket.compare(reps, small, u));
    line(fmt::format("rows at each row's argmax ({0}x{0})", rows).c_str(), pick.compare(reps, x));
    line(fmt::format("gather at each row's argmax ({}x16)", rows * 32).c_str(), top.compare(reps, l));
  }

  fmt::print("\n== overheads ==\n");
  Tensor s8 = ones({8});
  auto tiny = jit([](const Tensor& t) { return t + 1.f; });
  tiny(s8);
  wait_for_compiles();
  const int calls = quick ? 1000 : 100000;
  double hit = median_ms(3, [&] {
    for (int i = 0; i < calls; ++i) s8 = tiny(s8);
  });
  fmt::print("cache-hit call of a 1-op trace on 8 elements: {:.3f} us (target < 1 us)\n", hit * 1e3 / calls);
  // Cold compiles (this benchmark runs without the disk cache): the first tier (fast code
  // generation) and the full compile, each of the same trace.
  auto cold = [](const char* what, const std::vector<Tensor>& in, const std::function<Tensor(const std::vector<Tensor>&)>& body,
                 const char* target) {
    const Trace t = bench::record(in, [&](const std::vector<Tensor>& v) { return std::vector<Tensor>{body(v)}; });
    const Compiled fast = compile(t, {.fast_codegen = true}), full = compile(t);
    fmt::print("cold compile of {}: {:.1f} ms with fast code generation (the first tier), {:.1f} ms full{}\n", what,
               fast.milliseconds(), full.milliseconds(), target);
  };
  cold("the chain above", {a, b, c}, [](const std::vector<Tensor>& v) { return exp(v[0] * v[1]) + tanh(v[2]) * 0.5f - v[0] / (1 + v[1] * v[1]); },
       " (target < 20 ms after one-time initialization)");
  cold("a 20-op trace", {randn({1000}, 5)}, [](const std::vector<Tensor>& v) {
    Tensor r = v[0];
    for (int i = 0; i < 10; ++i) r = tanh(r) * 1.01f;
    return r;
  }, "");
  fmt::print("the chain's jitted compiles, both tiers: {:.1f} ms\n", compile_chain);

  // The compile thread runs at low priority: how much does it slow eager work beside it?
  Tensor a1 = rand({1 << 20}, 7), b1 = rand({1 << 20}, 8), c1 = rand({1 << 20}, 9);
  auto eager_w1 = [&] { y = exp(a1 * b1) + tanh(c1) * 0.5f - a1 / (1 + b1 * b1); };
  const double idle_ms = median_ms(quick ? 3 : 21, eager_w1);
  auto big = jit([](const Tensor& t) {
    Tensor r = t;
    for (int i = 0; i < 40; ++i) r = tanh(r * 1.01f + 0.5f);
    return r;
  });
  big(randn({256}, 10));  // queues a compile of 120 ops
  std::vector<double> beside;
  while (big.stats().compile_ms == 0 && beside.size() < 2000) {
    const auto t = std::chrono::steady_clock::now();
    eager_w1();
    beside.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
  }
  wait_for_compiles();
  if (!beside.empty()) {
    std::sort(beside.begin(), beside.end());
    const double during = beside[beside.size() / 2];
    fmt::print("eager W1 on 1M f32 beside a {:.0f} ms background compile: {:.2f} ms against {:.2f} ms idle ({:+.0f}%, "
               "median of {} runs)\n", big.stats().compile_ms, during, idle_ms, 100 * (during / idle_ms - 1), beside.size());
  }
  recompiles_and_guards(quick);
  strict_cost(quick);
  return 0;
}
