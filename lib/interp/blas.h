// The optimized BLAS behind matmul, loaded at run time (OpenBLAS, single-threaded).
#pragma once

#include <string>

namespace ejit::detail {

/// cblas_sgemm / cblas_dgemm signatures (row-major = 101, no-trans = 111).
using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
using DgemmFn = void (*)(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*,
                         int);

struct Blas {
  SgemmFn sgemm = nullptr;
  DgemmFn dgemm = nullptr;
  std::string description;  // library path and core type, or why none was loaded
  bool concurrent_calls = true;  // false: calls must not overlap (a sequential OpenBLAS build)
};

/// The BLAS, loaded on first use; sgemm/dgemm are null when none could be loaded.
const Blas& blas();

}  // namespace ejit::detail
