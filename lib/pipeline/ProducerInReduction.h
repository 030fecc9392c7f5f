// An expensive elementwise value read by a row reduction and by a later elementwise op
// (softmax's exp(x - max), read by the row sum and by the division) computed once.
#pragma once

#include "mlir/IR/BuiltinOps.h"

namespace ejit::detail {

/// In every function body: an elementwise linalg.generic P whose body calls the math dialect
/// (exp, log, tanh, ...), whose result has exactly two readers, a reduction R over P's loops
/// (reading it with the identity map) and a later elementwise op C over the same loops,
/// becomes part of R: R also stores P's value for each element, and C reads that stored value
/// in place and overwrites it with its own result. Elementwise fusion would otherwise clone P
/// into both readers and compute it twice per element. With row-chunked kernels the stored
/// rows are still in cache when C reads them (CPU only: GPU reductions are kernels of their own).
void compute_reduced_producers_once(mlir::ModuleOp module);

}  // namespace ejit::detail
