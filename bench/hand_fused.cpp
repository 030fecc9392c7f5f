// The hand-written fused loop the jit is measured against (-O3 -march=native -ffast-math,
// OpenMP over all cores), and the same expression in Eigen's Tensor module on a thread pool.
#include "hand_fused.h"

#include <algorithm>
#include <cmath>

#if __has_include(<unsupported/Eigen/CXX11/Tensor>)
#define EIGEN_USE_THREADS
#include <unsupported/Eigen/CXX11/Tensor>
#define EJIT_BENCH_HAVE_EIGEN_TENSOR 1
#endif

namespace bench {

void hand_fused_chain(const float* a, const float* b, const float* c, float* y, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(a[i] * b[i]) + std::tanh(c[i]) * 0.5f - a[i] / (1 + b[i] * b[i]);
}

void hand_triad(const float* a, const float* b, const float* c, float* y, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i] + c[i];
}

void hand_softmax(const float* x, float* y, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * cols;
    float* out = y + r * cols;
    float m = -INFINITY;
#pragma omp simd reduction(max : m)
    for (int64_t c = 0; c < cols; ++c) m = std::max(m, in[c]);
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t c = 0; c < cols; ++c) s += out[c] = std::exp(in[c] - m);
    const float inv = 1.f / s;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) out[c] *= inv;
  }
}

void hand_layer_norm(const float* x, float* y, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * cols;
    float* out = y + r * cols;
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t c = 0; c < cols; ++c) s += in[c];
    const float mean = s / static_cast<float>(cols);
    float v = 0;
#pragma omp simd reduction(+ : v)
    for (int64_t c = 0; c < cols; ++c) v += (in[c] - mean) * (in[c] - mean);
    const float inv = 1.f / std::sqrt(v / static_cast<float>(cols) + 1e-5f);
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) out[c] = (in[c] - mean) * inv;
  }
}

bool have_eigen_tensor() {
#ifdef EJIT_BENCH_HAVE_EIGEN_TENSOR
  return true;
#else
  return false;
#endif
}

void eigen_chain(const float* a, const float* b, const float* c, float* y, int64_t n, int threads) {
#ifdef EJIT_BENCH_HAVE_EIGEN_TENSOR
  static Eigen::ThreadPool pool(threads);
  static Eigen::ThreadPoolDevice device(&pool, threads);
  Eigen::TensorMap<const Eigen::Tensor<float, 1>> A(a, n), B(b, n), C(c, n);
  Eigen::TensorMap<Eigen::Tensor<float, 1>> Y(y, n);
  Y.device(device) = (A * B).exp() + C.tanh() * 0.5f - A / (B * B + 1.f);
#else
  (void)a, (void)b, (void)c, (void)y, (void)n, (void)threads;
#endif
}

}  // namespace bench
