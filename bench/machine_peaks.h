// Measured limits of this machine, for benchmarks to report ratios against.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

namespace bench {

struct Bandwidth {
  double copy_gbs, triad_gbs;
};

/// Median wall time of `reps` runs of f in milliseconds, after one warm-up run.
template <class F> double median_ms(int reps, F&& f) {
  f();
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

/// STREAM-like copy (a = b) and triad (a = b + s*c) over n floats, on `threads` threads.
Bandwidth stream(int64_t n, int threads);
/// f32 FMA throughput in GFLOP/s on `threads` threads (0 when the CPU lacks AVX2+FMA).
double fma_peak_gflops(int threads);

}  // namespace bench
