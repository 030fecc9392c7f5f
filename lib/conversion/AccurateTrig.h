// Accurate f32 sin and cos for compiled code (see AccurateTrig.cpp).
#pragma once

#include "mlir/IR/PatternMatch.h"

namespace mlir::ejit {

/// Rewrites f32 (scalar or vector) math.sin / math.cos as f64-reduced, branch-free arith
/// (within 1 ulp of f32 for |x| < 2^50). They take precedence over
/// math-polynomial-approximation's patterns in the same set.
void populateAccurateTrigPatterns(RewritePatternSet& patterns);

}  // namespace mlir::ejit
