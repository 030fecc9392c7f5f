// Reference implementations of the benchmark expression, outside ejit.
#pragma once

#include <cstdint>

namespace bench {

/// y = exp(a*b) + tanh(c)*0.5 - a/(1+b*b), one fused OpenMP loop.
void hand_fused_chain(const float* a, const float* b, const float* c, float* y, int64_t n);
/// The same with Eigen's Tensor module on a ThreadPoolDevice (no-op without Eigen).
void eigen_chain(const float* a, const float* b, const float* c, float* y, int64_t n, int threads);
bool have_eigen_tensor();

}  // namespace bench
