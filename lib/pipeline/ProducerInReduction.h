// An expensive elementwise value read by a row reduction and by later readers (softmax's
// exp(x - max), read by the row sum and by the division) computed once.
#pragma once

#include "mlir/IR/BuiltinOps.h"

namespace ejit::detail {

/// In every function body: an elementwise linalg.generic P whose body calls the math dialect
/// (exp, log, tanh, ...), read by one reduction R over P's loops (with the identity map) and
/// by other readers all after R, becomes part of R: R also stores P's value for each element.
/// When the one other reader is an elementwise op C over the same loops, C reads that stored
/// value in place and overwrites it with its own result; else every other reader (a result of
/// the function, several ops) reads the stored value. Elementwise fusion would otherwise clone
/// P into each reader and compute it once per reader per element (a training step's
/// log-softmax that also returns its exp for the backward pass: twice). With row-chunked
/// kernels the stored rows are still in cache when the readers read them (CPU only: GPU
/// reductions are kernels of their own).
void compute_reduced_producers_once(mlir::ModuleOp module);

}  // namespace ejit::detail
