// cuBLAS, loaded at run time like the driver: matmuls on the GPU call its strided batched
// GEMM. Where it cannot be loaded, the GPU compiler generates the matmul instead.
#pragma once

#include <cstdint>
#include <string>

namespace ejit::cuda {

/// True when libcublas loads ($EJIT_LIBCUBLAS, else libcublas.so.13, .12, libcublas.so);
/// `why` says why not.
bool cublas_available(std::string* why = nullptr);

/// Row-major C[b] = A[b] (m x k) * B[b] (k x n) for b < batch, on the device's stream; a
/// stride of 0 repeats one matrix for every batch. dtype_f64 picks double, else float.
void gemm(int device, bool dtype_f64, int64_t batch, int64_t m, int64_t n, int64_t k, const void* a, int64_t stride_a,
          const void* b, int64_t stride_b, void* c, int64_t stride_c);

}  // namespace ejit::cuda
