// The CPU half of the pipeline: bufferized parallel loops (Pipeline.h) to the LLVM dialect,
// with the outer loop split into row chunks for ejit's thread pool.
#pragma once

#include <cstdint>
#include <string>

#include "mlir/IR/BuiltinOps.h"

namespace ejit::detail {

/// Gives @kernel two leading index arguments (lo, hi) and, when it is safe, makes every
/// top-level loop run only over [lo, hi) of its outer dimension. Returns the trip count, or
/// 0 when the kernel must run whole (lo and hi are then ignored).
int64_t split_outer_loop(mlir::ModuleOp module);

/// Loops to the LLVM dialect: f32 transcendentals as polynomials (so LLVM vectorizes them),
/// then the conversions. On failure `error` names the step.
bool lower_loops_to_llvm(mlir::ModuleOp module, std::string& error, std::string& diagnostics);

}  // namespace ejit::detail
