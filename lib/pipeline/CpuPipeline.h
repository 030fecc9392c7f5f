// The CPU half of the pipeline: bufferized parallel loops (Pipeline.h) to the LLVM dialect,
// with the outer loop split into row chunks for ejit's thread pool.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "../runtime/row_extent.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

namespace ejit::detail {

/// The buffer a view (expand/collapse_shape, any depth) looks at.
mlir::Value view_root(mlir::Value v);

/// Gives @kernel two leading index arguments (lo, hi) and, when it is safe, makes every
/// top-level loop run only over [lo, hi) of its outer dimension (so the pool runs it in row
/// chunks). Returns the trip count, or 0 when the kernel must run whole (lo and hi are then
/// ignored).
int64_t split_outer_loop(mlir::func::FuncOp kernel);

/// Adds `mark` to `f`'s passthrough attribute: an LLVM function attribute once in the LLVM
/// dialect (streaming stores, prefetching, small kernels).
void add_passthrough(mlir::func::FuncOp f, llvm::StringRef mark);

/// The loop iterations `kernel` (after split_outer_loop, whose trip count `extent` is) runs
/// in all: each innermost loop's trip count times its enclosing loops'. -1 when a trip count
/// is known only at run time, or the kernel calls a function (a shared nest).
int64_t kernel_iterations(mlir::func::FuncOp kernel, int64_t extent);

/// Kernels of at most this many iterations are small: a first tier compiles their loops
/// (and their shared nests') without vectorizing them (the LLVM function attribute
/// kLLVMSmallKernelAttr, through the passthrough attribute). They run in
/// tens of microseconds scalar, and the loop vectorizer and the code of its vector loops
/// and remainders were a quarter of a first tier's compile of the digits demo's step.
inline constexpr int64_t kSmallKernelIterations = 1 << 15;
inline constexpr const char* kLLVMSmallKernelAttr = "ejit-small-kernel";

/// The CPU's end of the loops stage: split_outer_loop of every kernel, its trip count kept in
/// the kernel's attribute ejit.row_extent until take_row_extents reads (and removes) them.
void add_cpu_loop_passes(mlir::OpPassManager& pm);
std::map<std::string, int64_t> take_row_extents(mlir::ModuleOp module);  // by kernel name
inline constexpr const char* kRowExtentAttr = "ejit.row_extent";

/// The llvm-dialect stage: f32 transcendentals as polynomials (so LLVM vectorizes them), then
/// the conversions to the LLVM dialect.
void add_cpu_llvm_passes(mlir::OpPassManager& pm);

}  // namespace ejit::detail
