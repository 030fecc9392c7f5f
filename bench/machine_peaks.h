// Measured limits of this machine, for benchmarks to report ratios against.
#pragma once

#include <cstdint>

namespace bench {

struct Bandwidth {
  double copy_gbs, triad_gbs;
};

/// STREAM-like copy (a = b) and triad (a = b + s*c) over n floats, on `threads` threads.
Bandwidth stream(int64_t n, int threads);
/// f32 FMA throughput in GFLOP/s on `threads` threads (0 when the CPU lacks AVX2+FMA).
double fma_peak_gflops(int threads);

}  // namespace bench
