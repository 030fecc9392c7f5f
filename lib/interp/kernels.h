// The interpreter's kernel table: serial inner loops per op and dtype, built once per ISA.
//
// kernels_impl.h is compiled three times (generic, AVX2, AVX-512); kernels() picks the
// best table the CPU runs. Callers parallelize by splitting ranges; kernels never throw.
#pragma once

#include <cstdint>

#include "ejit/dtype.h"
#include "ejit/op_kind.h"

namespace ejit::detail {

/// out[i] = f(in[i]) for contiguous in/out.
using UnaryKernel = void (*)(const void* in, void* out, int64_t n);
/// out[i] = f(a[i*sa], b[i*sb]); strides in elements.
using BinaryKernel = void (*)(const void* a, int64_t sa, const void* b, int64_t sb, void* out, int64_t n);
/// out[i] = c[i*sc] ? a[i*sa] : b[i*sb].
using WhereKernel = void (*)(const bool* c, int64_t sc, const void* a, int64_t sa, const void* b, int64_t sb,
                             void* out, int64_t n);
/// Reduces the middle dim of an (outer, len, inner) array into (outer, inner); len >= 1.
using ReduceKernel = void (*)(const void* in, int64_t outer, int64_t len, int64_t inner, void* out);


struct KernelTable {
  const char* isa;
  UnaryKernel unary[kNumUnaryOps][kNumDTypes];     // by input dtype; null where not defined
  BinaryKernel binary[kNumBinaryOps][kNumDTypes];  // by compute dtype
  UnaryKernel cast[kNumDTypes][kNumDTypes];        // [from][to]
  WhereKernel where[kNumDTypes];
  ReduceKernel reduce[kNumReduceOps][kNumDTypes];
};

const KernelTable& kernels_generic();
const KernelTable& kernels_avx2();
const KernelTable& kernels_avx512();
/// The table selected for this CPU (EJIT_ISA may force a supported one).
const KernelTable& kernels();

}  // namespace ejit::detail
