// Eager-mode benchmark: dispatch overhead, elementwise bandwidth, transcendentals, softmax,
// matmul and reductions, each as a ratio to a limit measured in the same run.
//
//   eager_bench [--quick]    --quick: tiny sizes (a smoke run; numbers meaningless)
#include <ejit/ejit.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <vector>

#if __has_include(<Eigen/Dense>)
#include <Eigen/Dense>
#define EJIT_BENCH_HAVE_EIGEN 1
#endif

#include "machine_peaks.h"

using namespace ejit;
using bench::median_ms;

namespace {


void section(const char* title) { fmt::print("\n== {} ==\n", title); }

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && !std::strcmp(argv[1], "--quick");
  const int64_t n = quick ? 1 << 16 : 16 << 20;
  const int reps = quick ? 2 : 7;
  const int threads = num_threads();

  section("machine");
  auto bw = bench::stream(n, threads);
  double peak1 = bench::fma_peak_gflops(1), peak_all = bench::fma_peak_gflops(threads);
  fmt::print("threads {}, kernels {}, matmul via {}\n", threads, kernel_isa(), matmul_backend());
  fmt::print("STREAM-like on {} threads: copy {:.1f} GB/s, triad {:.1f} GB/s\n", threads, bw.copy_gbs, bw.triad_gbs);
  fmt::print("f32 FMA peak: {:.1f} GFLOP/s on 1 thread, {:.1f} on {} threads\n", peak1, peak_all, threads);

  section("dispatch: 8-element f32 add, out of place, 1e5 ops");
  {
    const int ops = quick ? 1000 : 100000;
    Tensor a = ones({8}), b = full({8}, 1e-3f), c;
    double ejit_ms = median_ms(reps, [&] {
      for (int i = 0; i < ops; ++i) c = a + b;
    });
    std::vector<float> va(8, 1.f), vb(8, 1e-3f), vc(8);
    double plain_ms = median_ms(reps, [&] {
      for (int i = 0; i < ops; ++i) {
        for (int j = 0; j < 8; ++j) vc[j] = va[j] + vb[j];
        asm volatile("" : : "r"(vc.data()) : "memory");
      }
    });
    double alloc_ms = median_ms(reps, [&] {
      for (int i = 0; i < ops; ++i) {
        std::vector<float> out(8);
        for (int j = 0; j < 8; ++j) out[j] = va[j] + vb[j];
        asm volatile("" : : "r"(out.data()) : "memory");
      }
    });
    fmt::print("ejit            {:7.3f} us/op   (target <= 0.10; LibTorch ~0.63, NumPy ~0.36 on these machines)\n",
               ejit_ms * 1e3 / ops);
    fmt::print("plain C++ loop  {:7.3f} us/op   (ejit / plain = {:.0f}x)\n", plain_ms * 1e3 / ops, ejit_ms / plain_ms);
    fmt::print("C++ + new vector{:7.3f} us/op\n", alloc_ms * 1e3 / ops);

    // The profiler: off (one relaxed load per hook) and on (an ejit::Profile recording each
    // op, its allocation and a sampled counter), interleaved, best of each.
    auto time_ms = [&] {
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < ops; ++i) c = a + b;
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    };
    double off_ms = 1e30, on_ms = 1e30;
    size_t events = 0;
    for (int r = 0; r < reps + 2; ++r) {
      off_ms = std::min(off_ms, time_ms());
      Profile p;
      on_ms = std::min(on_ms, time_ms());
      p.stop();
      events = p.events().size();
    }
    fmt::print("profiler off    {:7.3f} us/op   (best of {}, interleaved with the profiled runs)\n", off_ms * 1e3 / ops,
               reps + 2);
    fmt::print("profiler on     {:7.3f} us/op   ({:.2f}x off: +{:.3f} us per op, {:.1f} events per op)\n",
               on_ms * 1e3 / ops, on_ms / off_ms, (on_ms - off_ms) * 1e3 / ops, static_cast<double>(events) / ops);
  }

  section(fmt::format("elementwise, {} f32 ({} MB per array)", n, n * 4 >> 20).c_str());
  Tensor p = rand({n}, 1, DType::F32, 0.1, 2.0), q = rand({n}, 2, DType::F32, 0.1, 2.0), r = rand({n}, 3);
  Tensor y;
  {
    double add_ms = median_ms(reps, [&] { y = p + q; });
    double gbs = 3.0 * n * 4 / add_ms / 1e6;
    fmt::print("add             {:7.2f} ms  {:5.1f} GB/s = {:3.0f}% of triad (target >= 70%)\n", add_ms, gbs,
               100 * gbs / bw.triad_gbs);
    double mul_ms = median_ms(reps, [&] { y = p * 0.5f; });
    gbs = 2.0 * n * 4 / mul_ms / 1e6;
    fmt::print("mul by scalar   {:7.2f} ms  {:5.1f} GB/s = {:3.0f}% of copy\n", mul_ms, gbs, 100 * gbs / bw.copy_gbs);
    double sum_ms = median_ms(reps, [&] { y = sum(p); });
    fmt::print("sum             {:7.2f} ms  {:5.1f} GB/s read\n", sum_ms, 1.0 * n * 4 / sum_ms / 1e6);
  }
  {
    const float* pp = p.data<float>();
    std::vector<float> out(n);
    struct Fn { const char* name; Tensor (*op)(Tensor); float (*libm)(float); };
    const Fn fns[] = {{"exp", exp, [](float x) { return std::exp(x); }},
                      {"tanh", tanh, [](float x) { return std::tanh(x); }},
                      {"log", log, [](float x) { return std::log(x); }},
                      {"sigmoid", sigmoid, [](float x) { return 1.f / (1.f + std::exp(-x)); }}};
    fmt::print("transcendentals: ejit on all threads / 1 thread vs a scalar libm loop on 1 thread\n");
    for (const Fn& f : fns) {
      double all_ms = median_ms(reps, [&] { y = f.op(p); });
      set_num_threads(1);
      double one_ms = median_ms(reps, [&] { y = f.op(p); });
      set_num_threads(threads);
      double libm_ms = median_ms(quick ? 1 : 3, [&] {
        for (int64_t i = 0; i < n; ++i) out[i] = f.libm(pp[i]);
        asm volatile("" : : "r"(out.data()) : "memory");
      });
      fmt::print("{:<8} {:7.2f} ms ({:5.1f} GB/s) | 1 thread {:7.2f} ms | libm {:7.2f} ms: {:4.1f}x faster on 1 thread\n",
                 f.name, all_ms, 2.0 * n * 4 / all_ms / 1e6, one_ms, libm_ms, libm_ms / one_ms);
    }
  }
  {
    double chain_ms = median_ms(reps, [&] { y = exp(p * q) + tanh(r) * 0.5f - p / (1 + q * q); });
    double floor_ms = 4.0 * n * 4 / (bw.triad_gbs * 1e6);  // 3 reads + 1 write at triad bandwidth
    fmt::print("chain exp(a*b)+tanh(c)*0.5-a/(1+b*b): {:.2f} ms eager (9 ops); one fused pass at triad bandwidth "
               "would take {:.2f} ms ({:.1f}x) — the jit's job\n", chain_ms, floor_ms, chain_ms / floor_ms);
  }

  section("softmax, rows of 1024 f32");
  {
    const int64_t rows = quick ? 64 : 4096, cols = quick ? 128 : 1024;
    Tensor x = randn({rows, cols}, 4);
    double ms = median_ms(reps, [&] { y = softmax(x); });
    fmt::print("softmax {}x{}: {:.2f} ms, {:.2f} GFLOP/s (5 flops/element), {:.1f} GB/s (1 read + 1 write)\n", rows,
               cols, ms, 5.0 * rows * cols / ms / 1e6, 2.0 * rows * cols * 4 / ms / 1e6);
  }

  section("matmul f32");
  {
    const int64_t s = quick ? 128 : 1024;
    Tensor a = randn({s, s}, 5), b = randn({s, s}, 6);
    double ms = median_ms(reps, [&] { y = matmul(a, b); });
    double gf = 2.0 * s * s * s / ms / 1e6;
    set_num_threads(1);
    double ms1 = median_ms(reps, [&] { y = matmul(a, b); });
    set_num_threads(threads);
    double gf1 = 2.0 * s * s * s / ms1 / 1e6;
    fmt::print("{}^3: {:.2f} ms, {:.1f} GFLOP/s on {} threads = {:.0f}% of the FMA peak measured above "
               "(target >= 150 GFLOP/s)\n", s, ms, gf, threads, peak_all > 0 ? 100 * gf / peak_all : 0.0);
    fmt::print("{}^3 on 1 thread: {:.1f} GFLOP/s = {:.0f}% of the 1-thread peak\n", s, gf1,
               peak1 > 0 ? 100 * gf1 / peak1 : 0.0);
    Tensor ba = randn({64, 128, 128}, 7), bb = randn({64, 128, 128}, 8);
    double bms = median_ms(reps, [&] { y = matmul(ba, bb); });
    fmt::print("batched 64 x 128^3: {:.2f} ms, {:.1f} GFLOP/s\n", bms, 2.0 * 64 * 128 * 128 * 128 / bms / 1e6);
#ifdef EJIT_BENCH_HAVE_EIGEN
    Eigen::setNbThreads(1);
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> ea(s, s), eb(s, s), ec(s, s);
    std::memcpy(ea.data(), a.raw_data(), s * s * 4);
    std::memcpy(eb.data(), b.raw_data(), s * s * 4);
    double ems = median_ms(reps, [&] { ec.noalias() = ea * eb; });
    fmt::print("peer: Eigen {}.{}.{} (1 thread, compiled for this build's flags) {}^3: {:.1f} GFLOP/s\n",
               EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION, s, 2.0 * s * s * s / ems / 1e6);
#else
    fmt::print("peer: Eigen not installed (libeigen3-dev), skipped\n");
#endif
  }
  return 0;
}
