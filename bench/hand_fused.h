// Reference implementations of the benchmark expression, outside ejit.
#pragma once

#include <cstdint>

namespace bench {

/// y = exp(a*b) + tanh(c)*0.5 - a/(1+b*b), one fused OpenMP loop.
void hand_fused_chain(const float* a, const float* b, const float* c, float* y, int64_t n);
/// The same with Eigen's Tensor module on a ThreadPoolDevice (no-op without Eigen).
void eigen_chain(const float* a, const float* b, const float* c, float* y, int64_t n, int threads);
bool have_eigen_tensor();
/// y = a*b + c, one OpenMP loop with ordinary stores (as compilers emit them).
void hand_triad(const float* a, const float* b, const float* c, float* y, int64_t n);

/// Row softmax of a rows x cols matrix, one pass per row block as a careful C++ programmer
/// writes it: the row's max, exp(x - max) written once and summed, then scaled by 1/sum.
void hand_softmax(const float* x, float* y, int64_t rows, int64_t cols);
/// Row layer norm (no gain or bias, eps 1e-5): mean, two-pass variance, normalize.
void hand_layer_norm(const float* x, float* y, int64_t rows, int64_t cols);

}  // namespace bench
