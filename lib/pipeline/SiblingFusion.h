// Sibling fusion of elementwise linalg ops (the CPU pipeline's fused stage).
#pragma once

#include <cstdint>

#include "mlir/IR/BuiltinOps.h"

namespace ejit::detail {

/// The ops inside an op's regions: the size measure of both fusions.
int64_t body_ops(mlir::Operation* op);

/// In every function body, elementwise linalg.generic ops (parallel loops of static extent,
/// identity outputs) over the same iteration space that do not depend on each other become
/// one op with several results, as long as its body has at most max_body_ops ops. A trace
/// with n outputs of one shape gets one loop nest instead of n: LLVM's time on a function
/// of n loop nests grew as n^1.8.
void fuse_siblings(mlir::ModuleOp module, int64_t max_body_ops);

}  // namespace ejit::detail
