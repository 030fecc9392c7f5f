// Scalar arith/math bodies for the ejit ops of the op table, by element type.
#pragma once

#include "mlir/IR/Builders.h"

#include "ejit/op_kind.h"

namespace mlir::ejit {

/// The scalar computation of a unary table op on `x` (element type of x), or null with
/// `why` set when the op/type pair has no lowering yet.
Value buildUnary(OpBuilder& b, Location loc, ::ejit::UnaryOp op, Value x, std::string* why);
/// The scalar computation of a binary table op on operands of one element type.
Value buildBinary(OpBuilder& b, Location loc, ::ejit::BinaryOp op, Value l, Value r, std::string* why);
/// Element conversion with ejit's rules (saturating float->int, NaN -> 0, non-zero -> true).
Value buildCast(OpBuilder& b, Location loc, Value x, Type to);
/// The identity element of an accumulating or keeping reduction (sum, prod, max, min) for a type.
Value buildReduceInit(OpBuilder& b, Location loc, ::ejit::ReduceOp op, Type type);
/// acc (+|*|max|min) x for such a reduction; x is already converted to acc's type.
Value buildReduceStep(OpBuilder& b, Location loc, ::ejit::ReduceOp op, Value acc, Value x);

}  // namespace mlir::ejit
