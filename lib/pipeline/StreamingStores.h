// Streaming (non-temporal) stores for CPU kernels whose buffers do not fit in cache.
//
// A kernel that reads and writes more than the last-level cache holds gains nothing from
// keeping its outputs in cache, and an ordinary store first reads each line it writes (read
// for ownership): a third of the traffic of y = f(a, b). Non-temporal stores skip that read
// (bench/jit_bench: y = a*b + c on 16M floats). x86 has them only for whole aligned vectors,
// so the two halves of this are:
//  - here, in MLIR: choose the kernels (sizes of streaming_bytes() or more, no output read
//    back by the kernel, loops that look memory-bound; with dynamic sizes the loops run in
//    two versions, picked per call), promise LLVM that their large outputs are 64-byte aligned
//    (every CPU buffer ejit allocates is) and, for 1-D kernels, that each call's rows start
//    at a multiple of 16 (the kernel rounds the bounds of [lo, hi) it is called with; rounding
//    every bound the same way keeps the calls' ranges a partition of the rows);
//  - in LLVM, after vectorization (backend/cpu/streaming_stores.h): in memory-bound loops,
//    the vector stores into those outputs that LLVM proves aligned become non-temporal, and
//    the kernel ends with a store fence. (The vectorizer refuses loops whose scalar stores
//    are non-temporal, so they are marked only after it.)
// Loops of such large kernels that compute more than they move (the W1 chain: exp, tanh and
// a division per element) keep ordinary stores and prefetch their loads instead.
#pragma once

#include <cstdint>

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace ejit::detail {

/// A kernel streams when its buffers hold at least streaming_bytes() together
/// (EJIT_STREAMING_MB; by default twice the last-level cache, at least 64 MiB: 64 MiB on the
/// machines ejit is measured on; 0: never; part of every CPU kernel's cache key), and of its
/// outputs, those of streaming_output_bytes() or more (with dynamic sizes: a loop streams
/// when every output it writes is that large, at run time).
int64_t streaming_bytes();
int64_t streaming_output_bytes();  // a quarter of streaming_bytes()
/// The function attribute (LLVM's, through the LLVM dialect's passthrough) of such kernels.
inline constexpr const char* kStreamingAttr = "ejit-streaming-stores";
/// The function attribute of a kernel whose buffers hold streaming_bytes() or more (or whose
/// sizes are dynamic): its loops that compute more than they move prefetch (the LLVM half).
inline constexpr const char* kPrefetchAttr = "ejit-prefetch";

/// Marks `kernel` (after split_outer_loop, whose trip count `extent` is) for streaming stores
/// when it qualifies.
void mark_streaming_stores(mlir::func::FuncOp kernel, int64_t extent);

}  // namespace ejit::detail
