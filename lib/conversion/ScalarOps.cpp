// Scalar bodies of the ejit ops as arith/math ops, one case per op-table row.
//
// The switches below cover every UnaryOp/BinaryOp enumerator (-Werror=switch): a new row
// of ops.def does not compile until it says how it lowers.
#include "ScalarOps.h"
#include "AccurateExpLog.h"

#include <cmath>
#include <limits>

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

namespace mlir::ejit {
namespace {

using ::ejit::BinaryOp;
using ::ejit::UnaryOp;

bool isBool(Type t) { return t.isInteger(1); }

Value constantLike(OpBuilder& b, Location loc, Type t, double v) {
  if (auto ft = dyn_cast<FloatType>(t)) return b.create<arith::ConstantOp>(loc, b.getFloatAttr(ft, v));
  return b.create<arith::ConstantOp>(loc, b.getIntegerAttr(t, static_cast<int64_t>(v)));
}

Value select(OpBuilder& b, Location loc, Value c, Value t, Value f) { return b.create<arith::SelectOp>(loc, c, t, f); }

Value cmpf(OpBuilder& b, Location loc, arith::CmpFPredicate p, Value l, Value r) {
  return b.create<arith::CmpFOp>(loc, p, l, r);
}
Value cmpi(OpBuilder& b, Location loc, arith::CmpIPredicate p, Value l, Value r) {
  return b.create<arith::CmpIOp>(loc, p, l, r);
}

/// Non-zero test (NaN counts as true).
Value truth(OpBuilder& b, Location loc, Value x) {
  Type t = x.getType();
  if (isBool(t)) return x;
  Value zero = constantLike(b, loc, t, 0);
  if (isa<FloatType>(t)) return cmpf(b, loc, arith::CmpFPredicate::UNE, x, zero);
  return cmpi(b, loc, arith::CmpIPredicate::ne, x, zero);
}

}  // namespace

/// a**b for integers as the interpreter computes it: squaring and multiplying over every
/// bit of b (unrolled: no control flow in the body), wrapping on overflow; a negative b
/// gives 0 unless |a| is 1.
static Value integerPow(OpBuilder& b, Location loc, Value a, Value e) {
  Type t = a.getType();
  const unsigned bits = t.getIntOrFloatBitWidth();
  Value one = b.create<arith::ConstantOp>(loc, b.getIntegerAttr(t, 1));
  Value zero = b.create<arith::ConstantOp>(loc, b.getIntegerAttr(t, 0));
  Value result = one, base = a;
  for (unsigned i = 0; i < bits; ++i) {
    Value shift = b.create<arith::ConstantOp>(loc, b.getIntegerAttr(t, i));
    Value bit = b.create<arith::AndIOp>(loc, b.create<arith::ShRUIOp>(loc, e, shift), one);
    Value set = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, bit, zero);
    result = b.create<arith::SelectOp>(loc, set, b.create<arith::MulIOp>(loc, result, base), result);
    if (i + 1 < bits) base = b.create<arith::MulIOp>(loc, base, base);
  }
  Value minus_one = b.create<arith::ConstantOp>(loc, b.getIntegerAttr(t, -1));
  Value odd = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, b.create<arith::AndIOp>(loc, e, one), zero);
  Value of_minus_one = b.create<arith::SelectOp>(loc, odd, minus_one, one);
  Value negative = b.create<arith::SelectOp>(
      loc, b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, a, one), one,
      b.create<arith::SelectOp>(loc, b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, a, minus_one), of_minus_one,
                                zero));
  Value is_negative = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, e, zero);
  return b.create<arith::SelectOp>(loc, is_negative, negative, result);
}

Value buildUnary(OpBuilder& b, Location loc, UnaryOp op, Value x, std::string* why) {
  Type t = x.getType();
  const bool fl = isa<FloatType>(t);
  auto one = [&] { return constantLike(b, loc, t, 1); };
  auto zero = [&] { return constantLike(b, loc, t, 0); };
  // f(+-0) = +-0 for the odd functions whose expansions lose the sign of zero (sin(-0) was +0).
  auto keep_zero = [&](Value fx) -> Value {
    return b.create<arith::SelectOp>(loc, cmpf(b, loc, arith::CmpFPredicate::OEQ, x, zero()), x, fx);
  };
  switch (op) {
    case UnaryOp::Neg: return fl ? Value(b.create<arith::NegFOp>(loc, x)) : b.create<arith::SubIOp>(loc, zero(), x);
    case UnaryOp::Abs: return fl ? Value(b.create<math::AbsFOp>(loc, x)) : b.create<math::AbsIOp>(loc, x);
    case UnaryOp::Sign: {
      if (fl) {
        Value pos = cmpf(b, loc, arith::CmpFPredicate::OGT, x, zero());
        Value neg = cmpf(b, loc, arith::CmpFPredicate::OLT, x, zero());
        return select(b, loc, pos, one(), select(b, loc, neg, constantLike(b, loc, t, -1), x));
      }
      Value pos = cmpi(b, loc, arith::CmpIPredicate::sgt, x, zero());
      Value neg = cmpi(b, loc, arith::CmpIPredicate::slt, x, zero());
      return select(b, loc, pos, one(), select(b, loc, neg, constantLike(b, loc, t, -1), zero()));
    }
    case UnaryOp::Square: return fl ? Value(b.create<arith::MulFOp>(loc, x, x)) : b.create<arith::MulIOp>(loc, x, x);
    case UnaryOp::Relu: {
      Value neg = fl ? cmpf(b, loc, arith::CmpFPredicate::OLT, x, zero()) : cmpi(b, loc, arith::CmpIPredicate::slt, x, zero());
      return select(b, loc, neg, zero(), x);  // keeps NaN
    }
    case UnaryOp::Floor: return fl ? Value(b.create<math::FloorOp>(loc, x)) : x;
    case UnaryOp::Ceil: return fl ? Value(b.create<math::CeilOp>(loc, x)) : x;
    case UnaryOp::Round: return fl ? Value(b.create<math::RoundEvenOp>(loc, x)) : x;
    case UnaryOp::Exp: return b.create<math::ExpOp>(loc, x);
    case UnaryOp::Expm1: return keep_zero(b.create<math::ExpM1Op>(loc, x));
    case UnaryOp::Log: return b.create<math::LogOp>(loc, x);
    case UnaryOp::Log1p: return keep_zero(b.create<math::Log1pOp>(loc, x));
    case UnaryOp::Sqrt: return b.create<math::SqrtOp>(loc, x);
    case UnaryOp::Rsqrt: return b.create<arith::DivFOp>(loc, one(), b.create<math::SqrtOp>(loc, x));
    case UnaryOp::Sin: return keep_zero(b.create<math::SinOp>(loc, x));
    case UnaryOp::Cos: return b.create<math::CosOp>(loc, x);
    case UnaryOp::Tanh: return b.create<math::TanhOp>(loc, x);
    case UnaryOp::Sigmoid: {
      // 1/(1+e^-|x|) for x >= 0, e^-|x|/(1+e^-|x|) otherwise: e^-x overflowed for x < -88,
      // which made sigmoid 0 instead of e^x.
      Value e = b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, b.create<math::AbsFOp>(loc, x)));
      Value num = b.create<arith::SelectOp>(loc, cmpf(b, loc, arith::CmpFPredicate::OGE, x, zero()), one(), e);
      return b.create<arith::DivFOp>(loc, num, b.create<arith::AddFOp>(loc, one(), e));
    }
    case UnaryOp::Gelu: {
      if (t.isF32()) return buildGelu(b, loc, x);
      Value s = b.create<arith::MulFOp>(loc, x, constantLike(b, loc, t, 0.70710678118654752440));
      Value e = b.create<arith::AddFOp>(loc, one(), b.create<math::ErfOp>(loc, s));
      return b.create<arith::MulFOp>(loc, b.create<arith::MulFOp>(loc, x, constantLike(b, loc, t, 0.5)), e);
    }
    case UnaryOp::Erf: return keep_zero(b.create<math::ErfOp>(loc, x));
    case UnaryOp::LogicalNot: {
      Value tr = truth(b, loc, x);
      return b.create<arith::XOrIOp>(loc, tr, b.create<arith::ConstantOp>(loc, b.getBoolAttr(true)));
    }
    case UnaryOp::IsNan:
      return fl ? cmpf(b, loc, arith::CmpFPredicate::UNO, x, x)
                : Value(b.create<arith::ConstantOp>(loc, b.getBoolAttr(false)));
    case UnaryOp::IsFinite: {
      if (!fl) return b.create<arith::ConstantOp>(loc, b.getBoolAttr(true));
      Value d = b.create<arith::SubFOp>(loc, x, x);  // NaN for inf and NaN
      return cmpf(b, loc, arith::CmpFPredicate::OEQ, d, d);
    }
  }
  *why = "no lowering for this unary op";
  return nullptr;
}

Value buildBinary(OpBuilder& b, Location loc, BinaryOp op, Value l, Value r, std::string* why) {
  Type t = l.getType();
  const bool fl = isa<FloatType>(t), bo = isBool(t);
  using P = arith::CmpIPredicate;
  using F = arith::CmpFPredicate;
  auto icmp = [&](P s, P u) { return cmpi(b, loc, bo ? u : s, l, r); };
  switch (op) {
    case BinaryOp::Add:
      if (bo) return b.create<arith::OrIOp>(loc, l, r);
      return fl ? Value(b.create<arith::AddFOp>(loc, l, r)) : b.create<arith::AddIOp>(loc, l, r);
    case BinaryOp::Sub: return fl ? Value(b.create<arith::SubFOp>(loc, l, r)) : b.create<arith::SubIOp>(loc, l, r);
    case BinaryOp::Mul:
      if (bo) return b.create<arith::AndIOp>(loc, l, r);
      return fl ? Value(b.create<arith::MulFOp>(loc, l, r)) : b.create<arith::MulIOp>(loc, l, r);
    case BinaryOp::Div: return b.create<arith::DivFOp>(loc, l, r);
    case BinaryOp::Pow:
      if (fl) return b.create<math::PowFOp>(loc, l, r);
      return integerPow(b, loc, l, r);
    case BinaryOp::Mod: {
      Value zero = constantLike(b, loc, t, 0);
      if (fl) {
        Value rem = b.create<arith::RemFOp>(loc, l, r);
        Value nz = cmpf(b, loc, F::UNE, rem, zero);
        Value diff = b.create<arith::XOrIOp>(loc, cmpf(b, loc, F::OLT, rem, zero), cmpf(b, loc, F::OLT, r, zero));
        return select(b, loc, b.create<arith::AndIOp>(loc, nz, diff), b.create<arith::AddFOp>(loc, rem, r), rem);
      }
      // x % 0 and x % -1 are 0; the divisor is made safe before the remainder.
      Value bad = b.create<arith::OrIOp>(loc, cmpi(b, loc, P::eq, r, zero),
                                         cmpi(b, loc, P::eq, r, constantLike(b, loc, t, -1)));
      Value safe = select(b, loc, bad, constantLike(b, loc, t, 1), r);
      Value rem = b.create<arith::RemSIOp>(loc, l, safe);
      Value nz = cmpi(b, loc, P::ne, rem, zero);
      Value diff = b.create<arith::XOrIOp>(loc, cmpi(b, loc, P::slt, rem, zero), cmpi(b, loc, P::slt, safe, zero));
      Value fixed = select(b, loc, b.create<arith::AndIOp>(loc, nz, diff), b.create<arith::AddIOp>(loc, rem, safe), rem);
      return select(b, loc, bad, zero, fixed);
    }
    // The interpreter's (a > b || a != a) ? a : b, bit for bit: NaN propagates, and of two
    // zeros the second wins (arith.maximumf would pick +0).
    case BinaryOp::Maximum:
      if (fl) return select(b, loc, b.create<arith::OrIOp>(loc, cmpf(b, loc, F::OGT, l, r), cmpf(b, loc, F::UNO, l, l)), l, r);
      return bo ? Value(b.create<arith::OrIOp>(loc, l, r)) : b.create<arith::MaxSIOp>(loc, l, r);
    case BinaryOp::Minimum:
      if (fl) return select(b, loc, b.create<arith::OrIOp>(loc, cmpf(b, loc, F::OLT, l, r), cmpf(b, loc, F::UNO, l, l)), l, r);
      return bo ? Value(b.create<arith::AndIOp>(loc, l, r)) : b.create<arith::MinSIOp>(loc, l, r);
    case BinaryOp::Eq: return fl ? cmpf(b, loc, F::OEQ, l, r) : icmp(P::eq, P::eq);
    case BinaryOp::Ne: return fl ? cmpf(b, loc, F::UNE, l, r) : icmp(P::ne, P::ne);
    case BinaryOp::Lt: return fl ? cmpf(b, loc, F::OLT, l, r) : icmp(P::slt, P::ult);
    case BinaryOp::Le: return fl ? cmpf(b, loc, F::OLE, l, r) : icmp(P::sle, P::ule);
    case BinaryOp::Gt: return fl ? cmpf(b, loc, F::OGT, l, r) : icmp(P::sgt, P::ugt);
    case BinaryOp::Ge: return fl ? cmpf(b, loc, F::OGE, l, r) : icmp(P::sge, P::uge);
    case BinaryOp::LogicalAnd: return b.create<arith::AndIOp>(loc, truth(b, loc, l), truth(b, loc, r));
    case BinaryOp::LogicalOr: return b.create<arith::OrIOp>(loc, truth(b, loc, l), truth(b, loc, r));
  }
  *why = "no lowering for this binary op";
  return nullptr;
}

Value buildCast(OpBuilder& b, Location loc, Value x, Type to) {
  Type from = x.getType();
  if (from == to) return x;
  if (isBool(to)) return truth(b, loc, x);
  auto ffrom = dyn_cast<FloatType>(from);
  auto fto = dyn_cast<FloatType>(to);
  if (ffrom && fto)
    return ffrom.getWidth() < fto.getWidth() ? Value(b.create<arith::ExtFOp>(loc, to, x))
                                             : b.create<arith::TruncFOp>(loc, to, x);
  if (!ffrom && fto)
    return isBool(from) ? Value(b.create<arith::UIToFPOp>(loc, to, x)) : b.create<arith::SIToFPOp>(loc, to, x);
  if (ffrom && !fto) {  // saturate, NaN -> 0 (as the interpreter's convert<>)
    unsigned w = to.getIntOrFloatBitWidth();
    double lo = -std::ldexp(1.0, w - 1), hi = std::ldexp(1.0, w - 1);
    Value clo = cmpf(b, loc, arith::CmpFPredicate::OLE, x, constantLike(b, loc, from, lo));
    Value chi = cmpf(b, loc, arith::CmpFPredicate::OGE, x, constantLike(b, loc, from, hi));
    Value nan = cmpf(b, loc, arith::CmpFPredicate::UNO, x, x);
    Value safe = select(b, loc, b.create<arith::OrIOp>(loc, b.create<arith::OrIOp>(loc, clo, chi), nan),
                        constantLike(b, loc, from, 0), x);
    Value v = b.create<arith::FPToSIOp>(loc, to, safe);
    auto imin = b.create<arith::ConstantOp>(loc, b.getIntegerAttr(to, APInt::getSignedMinValue(w)));
    auto imax = b.create<arith::ConstantOp>(loc, b.getIntegerAttr(to, APInt::getSignedMaxValue(w)));
    return select(b, loc, clo, imin, select(b, loc, chi, imax, v));
  }
  unsigned wf = from.getIntOrFloatBitWidth(), wt = to.getIntOrFloatBitWidth();
  if (isBool(from)) return b.create<arith::ExtUIOp>(loc, to, x);
  return wf < wt ? Value(b.create<arith::ExtSIOp>(loc, to, x)) : b.create<arith::TruncIOp>(loc, to, x);
}

Value buildReduceInit(OpBuilder& b, Location loc, ::ejit::ReduceOp op, Type t) {
  using ::ejit::ReduceOp;
  if (op == ReduceOp::Sum) return constantLike(b, loc, t, 0);
  if (op == ReduceOp::Prod) return constantLike(b, loc, t, 1);
  bool isMax = op == ReduceOp::Max;
  if (auto ft = dyn_cast<FloatType>(t)) {
    double inf = std::numeric_limits<double>::infinity();
    return b.create<arith::ConstantOp>(loc, b.getFloatAttr(ft, isMax ? -inf : inf));
  }
  unsigned w = t.getIntOrFloatBitWidth();
  if (w == 1) return b.create<arith::ConstantOp>(loc, b.getBoolAttr(!isMax));
  return b.create<arith::ConstantOp>(
      loc, b.getIntegerAttr(t, isMax ? APInt::getSignedMinValue(w) : APInt::getSignedMaxValue(w)));
}

Value buildReduceStep(OpBuilder& b, Location loc, ::ejit::ReduceOp op, Value acc, Value x) {
  using ::ejit::ReduceOp;
  Type t = acc.getType();
  bool fl = isa<FloatType>(t), bo = isBool(t);
  // Float sums and products may be reassociated: LLVM then accumulates them in vector
  // lanes (vectorized, and more accurate than one running scalar).
  auto reassoc = arith::FastMathFlagsAttr::get(b.getContext(), arith::FastMathFlags::reassoc);
  if (op == ReduceOp::Sum)
    return fl ? Value(b.create<arith::AddFOp>(loc, acc, x, reassoc)) : b.create<arith::AddIOp>(loc, acc, x);
  if (op == ReduceOp::Prod)
    return fl ? Value(b.create<arith::MulFOp>(loc, acc, x, reassoc)) : b.create<arith::MulIOp>(loc, acc, x);
  if (op == ReduceOp::Max) {
    if (fl) return b.create<arith::MaximumFOp>(loc, acc, x);
    return bo ? Value(b.create<arith::OrIOp>(loc, acc, x)) : b.create<arith::MaxSIOp>(loc, acc, x);
  }
  if (fl) return b.create<arith::MinimumFOp>(loc, acc, x);
  return bo ? Value(b.create<arith::AndIOp>(loc, acc, x)) : b.create<arith::MinSIOp>(loc, acc, x);
}

}  // namespace mlir::ejit
