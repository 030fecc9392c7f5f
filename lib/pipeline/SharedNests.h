// One function for loop nests that a kernel repeats on buffers of other shapes.
//
// A kernel that runs whole (split_outer_loop found no common row count) often runs one
// elementwise body over several buffers: an optimizer's update of each parameter (Adam over
// a 3-layer MLP: six nests of 14 ops, over 64x128, 128, 128x64, ... floats). LLVM optimizes
// and emits each nest (its vector body and its scalar remainder) on its own. Here:
//  - a nest whose every buffer access is x[i0, ..., ik] at its induction variables, on
//    buffers of the nest's static shape (or a rank-0 load), runs as one 1-D loop over the
//    buffers collapsed to 1-D (rows of contiguous buffers laid end to end: also no
//    remainder loop per row of a narrow buffer);
//  - nests that are then the same up to the buffers and sizes they use become calls of one
//    private function, its buffers of dynamic size and noalias (as the kernel's own
//    arguments; nests that read two views of one buffer keep their own code).
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

namespace ejit::detail {

/// Marks a shared function until the LLVM dialect, where mark_shared_nests() makes it
/// internal and its pointer arguments noalias.
inline constexpr const char* kSharedNestAttr = "ejit.shared_nest";

/// Rewrites the top-level loop nests of `kernel` as above (a kernel split into rows keeps
/// its nests). Returns how many nests became calls of a shared function.
int share_repeated_nests(mlir::func::FuncOp kernel);

/// In the LLVM dialect: each shared function internal (deadargelim then drops the buffer
/// fields it does not read) and its pointer arguments noalias.
void mark_shared_nests(mlir::ModuleOp module);

}  // namespace ejit::detail
