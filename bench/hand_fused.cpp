// The hand-written fused loop the jit is measured against (-O3 -march=native -ffast-math,
// OpenMP over all cores), and the same expression in Eigen's Tensor module on a thread pool.
#include "hand_fused.h"

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
