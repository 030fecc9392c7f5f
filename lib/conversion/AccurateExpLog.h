// f32 exp, log and gelu at the edges of float for compiled code (see AccurateExpLog.cpp).
#pragma once

#include "mlir/IR/PatternMatch.h"

namespace mlir::ejit {

/// Rewrites f32 (scalar or vector) math.exp as the interpreter's exp (lib/interp/vmath.h:
/// results in the subnormal range rounded once, not flushed to 0), and wraps f32 math.log
/// so that subnormal arguments are scaled into the normal range first. Both take
/// precedence over math-polynomial-approximation's patterns in the same set.
void populateAccurateExpLogPatterns(RewritePatternSet& patterns);

/// gelu(x) = x/2 * (1 + erf(x/sqrt(2))) for f32 (scalar or vector) x as the interpreter
/// computes it: 1 + erf(u) as erfc(-u) where u <= -0.9, since the sum lost every digit in
/// the negative tail (gelu(-10) was -0, not -1.3e-22).
Value buildGelu(OpBuilder& b, Location loc, Value x);

}  // namespace mlir::ejit
