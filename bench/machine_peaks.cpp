// STREAM-like bandwidth and FMA peak loops, run on plain std::threads.
#include "machine_peaks.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace bench {
namespace {

template <class F> double best_seconds(int reps, F&& f) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

template <class F> void on_threads(int threads, int64_t n, F&& f) {
  std::vector<std::thread> ts;
  int64_t per = (n + threads - 1) / threads;
  for (int t = 0; t < threads; ++t) {
    int64_t b = t * per, e = std::min(n, b + per);
    ts.emplace_back([&f, b, e] { f(b, e); });
  }
  for (auto& t : ts) t.join();
}

__attribute__((target("avx2,fma"), noinline)) float fma_loop(int64_t iters) {
  __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  // Twelve named accumulators (an array of them was spilled to memory by GCC).
  __m256 a0 = _mm256_set1_ps(1.f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0,
         a9 = a0, a10 = a0, a11 = a0;
  for (int64_t it = 0; it < iters; ++it) {
#define EJIT_FMA(x) x = _mm256_fmadd_ps(x, m, c);
    EJIT_FMA(a0) EJIT_FMA(a1) EJIT_FMA(a2) EJIT_FMA(a3) EJIT_FMA(a4) EJIT_FMA(a5)
    EJIT_FMA(a6) EJIT_FMA(a7) EJIT_FMA(a8) EJIT_FMA(a9) EJIT_FMA(a10) EJIT_FMA(a11)
#undef EJIT_FMA
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                           _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
}

}  // namespace

Bandwidth stream(int64_t n, int threads) {
  float* a = static_cast<float*>(std::aligned_alloc(64, n * 4));
  float* b = static_cast<float*>(std::aligned_alloc(64, n * 4));
  float* c = static_cast<float*>(std::aligned_alloc(64, n * 4));
  on_threads(threads, n, [&](int64_t lo, int64_t hi) {  // first touch on the threads that use it
    for (int64_t i = lo; i < hi; ++i) a[i] = 0, b[i] = 1, c[i] = 2;
  });
  double copy = best_seconds(5, [&] {
    on_threads(threads, n, [&](int64_t lo, int64_t hi) { std::memcpy(a + lo, b + lo, (hi - lo) * 4); });
  });
  double triad = best_seconds(5, [&] {
    on_threads(threads, n, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) a[i] = b[i] + 3.f * c[i];
    });
  });
  std::free(a), std::free(b), std::free(c);
  return {2.0 * n * 4 / copy / 1e9, 3.0 * n * 4 / triad / 1e9};
}

double fma_peak_gflops(int threads) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 0;
  const int64_t iters = 20'000'000;
  double s = best_seconds(3, [&] {
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) ts.emplace_back([&] { volatile float r = fma_loop(iters); (void)r; });
    for (auto& t : ts) t.join();
  });
  return threads * iters * 12 * 16.0 / s / 1e9;
}

}  // namespace bench
