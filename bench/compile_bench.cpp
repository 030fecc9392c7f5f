// compile_bench: how long a cold compile takes (disk cache off, after one-time
// initialization), stage by stage, and how compile time grows with the size of a trace.
//
//   compile_bench [--quick | --full]
//
// Targets (issue 14): W1 chain <= 15 ms, 20-op trace <= 15 ms, MLP training step <= 100 ms;
// compile time linear in trace size: 10^4-op chain <= 10 s, 1000 inputs <= 1 s,
// 2*10^4 outputs <= 10 s. --full runs the scaling up to those sizes. Each workload is also
// compiled with fast code generation: the first tier of jit()'s background compiles.
#include <ejit/compile.h>
#include <ejit/ejit.h>
#include <fmt/format.h>

#include <time.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <vector>

#include "record.h"

using namespace ejit;
using bench::record;

namespace {

constexpr Stage kStages[] = {Stage::Ejit, Stage::Linalg, Stage::Fused, Stage::Loops, Stage::LLVMDialect, Stage::LLVM, Stage::Asm};

/// CPU time of this thread: unlike wall time, not inflated by other processes on a shared machine.
double thread_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/// Stage::Asm's time is code generation (see Compiled::milliseconds(Stage)).
const char* label(Stage s) { return s == Stage::Asm ? "codegen" : stage_name(s); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Compiles `trace` `reps` times; prints the median total and its stages, then the same
/// for the first tier of a background compile (fast code generation).
void cold_compile(const char* what, const Trace& trace, int reps, const char* target, bool fast = false) {
  std::vector<double> totals, cpu;
  std::vector<std::vector<double>> stages(std::size(kStages));
  for (int r = 0; r < reps; ++r) {
    const double cpu0 = thread_cpu_ms();
    Compiled c = compile(trace, {.fast_codegen = fast});
    cpu.push_back(thread_cpu_ms() - cpu0);
    if (!c.ok()) {
      fmt::print("{:<28} did not compile: {}\n", what, c.error());
      return;
    }
    totals.push_back(c.milliseconds());
    for (size_t s = 0; s < std::size(kStages); ++s) stages[s].push_back(c.milliseconds(kStages[s]));
  }
  std::string split;
  for (size_t s = 0; s < std::size(kStages); ++s)
    split += fmt::format(" {}={:.1f}", label(kStages[s]), median(stages[s]));
  fmt::print("{:<24} {:4} ops {:7.1f} ms (CPU {:6.1f} ms; target {}; median of {}) ms per stage:{}\n",
             fast ? "  first tier (fast)" : what, trace.nodes.size(), median(totals), median(cpu), fast ? "-" : target, reps,
             split);
  if (!fast) cold_compile(what, trace, reps, target, true);
}

/// Compile time of traces of growing size; stops before a size whose compile would take
/// longer than `give_up_ms` (extrapolated from the last two sizes).
void scaling(const char* what, const std::vector<int>& sizes, double give_up_ms, const std::function<Trace(int)>& make) {
  fmt::print("\n{}:\n", what);
  double last_ms = 0;
  int last_n = 0;
  double growth_exponent = 1;
  for (int n : sizes) {
    if (last_n && last_ms * std::pow(double(n) / last_n, growth_exponent) > give_up_ms) {
      fmt::print("  n = {:6}: skipped (it would take over {:.0f} s at n^{:.2f})\n", n, give_up_ms / 1000, growth_exponent);
      return;
    }
    Trace t = make(n);
    Compiled c = compile(t);
    if (!c.ok()) {
      fmt::print("  n = {:6}: did not compile: {}\n", n, c.error());
      return;
    }
    const double ms = c.milliseconds();
    if (last_n) growth_exponent = std::max(1.0, std::log(ms / last_ms) / std::log(double(n) / last_n));
    std::string growth = last_n ? fmt::format("  grows as n^{:.2f}", std::log(ms / last_ms) / std::log(double(n) / last_n)) : "";
    std::string split;
    for (Stage s : kStages) split += fmt::format(" {}={:.0f}", label(s), c.milliseconds(s));
    fmt::print("  n = {:6}: {:9.1f} ms ({:6.3f} ms per op){}   stages:{}\n", n, ms, ms / t.nodes.size(), growth, split);
    last_ms = ms, last_n = n;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && !std::strcmp(argv[1], "--quick");
  const bool full = argc > 1 && !std::strcmp(argv[1], "--full");
  setenv("EJIT_CACHE_DIR", "off", 1);  // cold compiles only
  const int reps = quick ? 3 : 7;
  fmt::print("ejit compile_bench: cold compiles, disk cache off, {} threads\n", num_threads());
  {  // one-time initialization (LLVM targets, dialects, passes), not counted below
    Trace warm = record({ones({4})}, [](const std::vector<Tensor>& in) { return std::vector<Tensor>{exp(in[0]) + 1.f}; });
    Compiled c = compile(warm);
    fmt::print("one-time initialization and a first 2-op compile: {:.1f} ms\n\n", c.milliseconds());
  }

  const int64_t n = 1 << 16;
  cold_compile("W1 chain", record({rand({n}, 1), rand({n}, 2), rand({n}, 3)}, [](const std::vector<Tensor>& in) {
                 const Tensor &a = in[0], &b = in[1], &c = in[2];
                 return std::vector<Tensor>{exp(a * b) + tanh(c) * 0.5f - a / (1 + b * b)};
               }), reps, "<= 15 ms");
  cold_compile("20-op tanh chain", record({randn({1000}, 5)}, [](const std::vector<Tensor>& in) {
                 Tensor r = in[0];
                 for (int i = 0; i < 10; ++i) r = tanh(r) * 1.01f;
                 return std::vector<Tensor>{r};
               }), reps, "<= 15 ms");
  const Tensor rows = randn({64, 1024}, 4);
  cold_compile("softmax rows", record({rows}, [](const std::vector<Tensor>& in) { return std::vector<Tensor>{softmax(in[0])}; }),
               reps, "-");
  cold_compile("layer norm rows", record({rows}, [](const std::vector<Tensor>& in) { return std::vector<Tensor>{layer_norm(in[0])}; }),
               reps, "-");
  {
    const int batch = 256, in = 784, hidden = 512, out = 10;
    std::vector<Tensor> args = {randn({batch, in}, 1), cast(rand({batch}, 2, DType::F32, 0.0, out), DType::I64),
                                randn({in, hidden}, 3) * 0.05f, zeros({hidden}), randn({hidden, out}, 4) * 0.05f, zeros({out})};
    const Trace mlp = record(args, [](const std::vector<Tensor>& a) {
                   GradientTape tape;
                   for (int i = 2; i < 6; ++i) tape.watch(a[i]);
                   Tensor h = relu(matmul(a[0], a[2]) + a[3]);
                   Tensor loss = cross_entropy(matmul(h, a[4]) + a[5], a[1]);
                   std::vector<Tensor> g = tape.gradient(loss, {a[2], a[3], a[4], a[5]});
                   return std::vector<Tensor>{loss, a[2] - g[0] * 0.01f, a[3] - g[1] * 0.01f, a[4] - g[2] * 0.01f,
                                              a[5] - g[3] * 0.01f};
                 });
    cold_compile("MLP 784-512-10 SGD step", mlp, reps, "<= 100 ms");

    // An optimizer's update: one elementwise body on each of 20 parameters of 10 shapes
    // (lib/pipeline/SharedNests.h: one function per body, called per parameter).
    std::vector<Tensor> params = {ejit::full({}, 0.001f)};
    for (int i = 0; i < 20; ++i) {
      const Shape shape = i % 2 ? Shape{16 * (i % 7 + 1)} : Shape{16 * (i % 5 + 1), 8 * (i % 4 + 1)};
      for (int k = 0; k < 3; ++k) params.push_back(randn(shape, static_cast<uint64_t>(10 * i + k)));  // p, g, m
    }
    auto adam = [&](bool one_body) {
      return record(params, [one_body](const std::vector<Tensor>& a) {
        std::vector<Tensor> out;
        for (size_t i = 1; i + 2 < a.size(); i += 3) {
          const float beta = one_body ? 0.9f : 0.9f - 0.001f * static_cast<float>(i);  // a constant per parameter
          Tensor m = a[i + 2] * beta + a[i + 1] * (1 - beta);
          out.push_back(a[i] - a[0] * m / (sqrt(abs(m)) + 1e-8f));
          out.push_back(m);
        }
        return out;
      });
    };
    cold_compile("Adam-like update, 20 params", adam(true), reps, "-");
    cold_compile("  the same, 20 bodies", adam(false), reps, "- (a constant per parameter: nothing shared)");

    // What a new process pays for a trace compiled before: loading it from the disk cache
    // (every compile() reads the entry again; there is no in-memory copy on this path).
    const std::string dir = (std::filesystem::temp_directory_path() / fmt::format("ejit-compile-bench-{}", getpid())).string();
    setenv("EJIT_CACHE_DIR", dir.c_str(), 1);
    Compiled stored = compile(mlp);
    std::vector<double> hits;
    for (int r = 0; r < reps; ++r)
      if (Compiled c = compile(mlp); c.from_disk_cache()) hits.push_back(c.milliseconds());
    if (stored.ok() && !hits.empty())
      fmt::print("{:<24} {:4} ops {:7.2f} ms from the disk cache (target <= 2 ms; median of {})\n", "MLP step, cached",
                 mlp.nodes.size(), median(hits), hits.size());
    else
      fmt::print("MLP step, cached: the disk cache did not serve it ({})\n", stored.ok() ? "no hit" : stored.error());
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    setenv("EJIT_CACHE_DIR", "off", 1);
  }

  const double give_up = quick ? 20e3 : 60e3;
  auto sizes = [&](std::vector<int> all) {
    if (quick) return std::vector<int>{50, 100};
    if (!full) all.erase(std::remove_if(all.begin(), all.end(), [](int s) { return s > 2000; }), all.end());
    return all;
  };
  scaling("a chain of n adds, r = r + x (target: 10^4 in <= 10 s)", sizes({250, 500, 1000, 2000, 4000, 10000}), give_up,
          [](int count) {
            return record({randn({256}, 1)}, [count](const std::vector<Tensor>& in) {
              Tensor r = in[0];
              for (int i = 0; i < count; ++i) r = r + in[0];
              return std::vector<Tensor>{r};
            });
          });
  scaling("n inputs summed (target: 1000 in <= 1 s)", sizes({250, 500, 1000, 2000}), give_up, [](int count) {
    std::vector<Tensor> args;
    for (int i = 0; i < count; ++i) args.push_back(full_like(ones({64}), float(i)));
    return record(args, [](const std::vector<Tensor>& in) {
      Tensor r = in[0];
      for (size_t i = 1; i < in.size(); ++i) r = r + in[i];
      return std::vector<Tensor>{r};
    });
  });
  scaling("n outputs, each x * c_i (target: 2*10^4 in <= 10 s)", sizes({250, 500, 1000, 2000, 5000, 20000}), give_up,
          [](int count) {
            return record({randn({64}, 1)}, [count](const std::vector<Tensor>& in) {
              std::vector<Tensor> outs;
              for (int i = 0; i < count; ++i) outs.push_back(in[0] * float(i + 2));
              return outs;
            });
          });
  return 0;
}
