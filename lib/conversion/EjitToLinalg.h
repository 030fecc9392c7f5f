// ejit -> linalg/tensor/arith/math on tensors.
#pragma once

#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace mlir::ejit {

/// A unit attribute on the module: lower matmul to loops instead of leaving it to the BLAS.
inline constexpr const char* kCodegenMatmulAttr = "ejit.codegen_matmul";
/// On an op whose result has dynamic dims no operand carries (broadcast_to in jit()'s
/// dynamic traces): per such dim, the function argument and dim its size is read from.
inline constexpr const char* kDimSizesAttr = "ejit.dim_sizes";

/// On a linalg.generic whose operands must be read as stored, never recomputed inside it by
/// a fused copy of their producer: argmax's two passes compare elements for equality, and
/// two copies of a producer (a vector loop in one pass, a scalar remainder in the other)
/// could differ in the last bit.
inline constexpr const char* kReadsStoredAttr = "ejit.reads_stored";

/// Patterns lowering every ejit op that has a lowering (host calls do not; take and gather
/// along a dynamic dim do not: conversion fails on them, and callers run them on the
/// interpreter).
void populateEjitToLinalgPatterns(RewritePatternSet& patterns);
/// Applies them to `root`; fails, with a diagnostic naming the op, if any ejit op remains.
LogicalResult lowerEjitToLinalg(Operation* root);

#define GEN_PASS_DECL
#include "ConversionPasses.h.inc"
/// Registers convert-ejit-to-linalg (for ejit-opt).
#define GEN_PASS_REGISTRATION
#include "ConversionPasses.h.inc"

}  // namespace mlir::ejit
