// f32 math.sin / math.cos as branch-free arith that vectorizes and stays accurate for large
// arguments: the argument is reduced by pi/2 in f64 with a three-part Cody-Waite split
// (fused multiply-adds, so each step rounds once), then the interpreter's f32 polynomials
// on the remainder as a high and a low f32 part.
// Upstream's polynomial approximation reduces with a single-precision pi/2 and loses
// accuracy as |x| grows (cos(1000) was 2e-5 off); this is within 1 ulp of f32 for
// |x| < 2^50 and NaN for inf/NaN.
#include "AccurateTrig.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::ejit {
#define GEN_PASS_DEF_EJITACCURATETRIG
#include "ConversionPasses.h.inc"

namespace {

/// Element type f32 (scalar or vector).
bool isF32Like(Type t) { return getElementTypeOrSelf(t).isF32(); }

/// Builds sin(x) (is_sin) or cos(x) for an f32 (or vector of f32) value x.
Value buildTrig(OpBuilder& b, Location loc, Value x, bool is_sin) {
  Type f32 = x.getType();
  auto shaped = llvm::dyn_cast<ShapedType>(f32);
  auto like = [&](Type elem) -> Type { return shaped ? Type(shaped.clone(elem)) : elem; };
  Type f64 = like(b.getF64Type()), i64 = like(b.getI64Type());
  auto cst = [&](Type t, double v) -> Value {
    Type e = getElementTypeOrSelf(t);
    TypedAttr a = e.isF64()   ? TypedAttr(b.getF64FloatAttr(v))
                  : e.isF32() ? TypedAttr(b.getF32FloatAttr(static_cast<float>(v)))
                              : TypedAttr(b.getI64IntegerAttr(static_cast<int64_t>(v)));
    if (shaped) a = DenseElementsAttr::get(llvm::cast<ShapedType>(t), a);
    return b.create<arith::ConstantOp>(loc, t, a);
  };
  auto fma = [&](Value a, Value m, Value c) { return b.create<math::FmaOp>(loc, a, m, c).getResult(); };
  auto mul = [&](Value a, Value m) { return b.create<arith::MulFOp>(loc, a, m).getResult(); };
  auto add = [&](Value a, Value m) { return b.create<arith::AddFOp>(loc, a, m).getResult(); };

  Value xd = b.create<arith::ExtFOp>(loc, f64, x);
  // q = round(x * 2/pi) by adding and subtracting 1.5 * 2^52 (which also leaves q mod 2^51
  // in the low bits of the sum: no f64 -> i64 conversion, which AVX2 lacks); then
  // r = x - q * pi/2 with pi/2 = P1 + P2 + P3 (each FMA rounds once and the residual
  // shrinks, so r is accurate to ~|q| * 2^-106).
  Value magic = cst(f64, 0x1.8p52);
  Value shifted_q = add(mul(xd, cst(f64, 0.63661977236758134308)), magic);
  Value q = b.create<arith::SubFOp>(loc, shifted_q, magic);
  Value neg_q = b.create<arith::NegFOp>(loc, q);
  Value r = fma(neg_q, cst(f64, 1.5707963267948966), xd);        // P1 = pi/2 rounded to f64
  r = fma(neg_q, cst(f64, 6.123233995736766e-17), r);             // P2 = pi/2 - P1 rounded
  r = fma(neg_q, cst(f64, -1.4973849048591698e-33), r);           // P3 = pi/2 - P1 - P2 rounded
  Value quadrant = b.create<arith::AndIOp>(loc, b.create<arith::BitcastOp>(loc, i64, shifted_q), cst(i64, 3));
  // r as an f32 pair rh + rl (rl: the part of the f64 r that rh cannot hold), then the
  // interpreter's polynomials (lib/interp/vmath.h: Cephes sinf/cosf minimax, with the
  // low parts compensated), in f32 at twice the vector width of f64.
  auto sub = [&](Value a, Value m) { return b.create<arith::SubFOp>(loc, a, m).getResult(); };
  Value rh = b.create<arith::TruncFOp>(loc, f32, r);
  Value rl = b.create<arith::TruncFOp>(loc, f32, sub(r, b.create<arith::ExtFOp>(loc, f64, rh)));
  Value z = mul(rh, rh);
  Value zlo = fma(rh, rh, b.create<arith::NegFOp>(loc, z));  // rh^2 = z + zlo exactly
  Value ps = cst(f32, -1.9515295891e-4);
  ps = fma(ps, z, cst(f32, 8.3321608736e-3));
  ps = fma(ps, z, cst(f32, -1.6666654611e-1));
  Value sin_r = add(rh, fma(mul(rh, z), ps, rl));
  Value pc = cst(f32, 2.443315711809948e-5);
  pc = fma(pc, z, cst(f32, -1.388731625493765e-3));
  pc = fma(pc, z, cst(f32, 4.166664568298827e-2));
  Value t = fma(cst(f32, -0.5), z, cst(f32, 1.0));                          // 1 - z/2
  Value terr = sub(sub(cst(f32, 1.0), t), mul(cst(f32, 0.5), z));           // its rounding error
  Value cos_r = add(t, sub(fma(mul(z, z), pc, terr), fma(cst(f32, 0.5), zlo, mul(rh, rl))));
  // sin(x): quadrant 0..3 gives sin r, cos r, -sin r, -cos r; cos(x): cos r, -sin r, -cos r, sin r.
  Value odd = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, b.create<arith::AndIOp>(loc, quadrant, cst(i64, 1)),
                                      cst(i64, 0));
  Value v = is_sin ? b.create<arith::SelectOp>(loc, odd, cos_r, sin_r) : b.create<arith::SelectOp>(loc, odd, sin_r, cos_r);
  Value shifted = is_sin ? quadrant : b.create<arith::AddIOp>(loc, quadrant, cst(i64, 1)).getResult();
  Value negate = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, b.create<arith::AndIOp>(loc, shifted, cst(i64, 2)),
                                         cst(i64, 0));
  return b.create<arith::SelectOp>(loc, negate, b.create<arith::NegFOp>(loc, v), v);
}

template <class Op, bool IsSin> struct TrigPattern : OpRewritePattern<Op> {
  using OpRewritePattern<Op>::OpRewritePattern;
  LogicalResult matchAndRewrite(Op op, PatternRewriter& rw) const override {
    if (!isF32Like(op.getType())) return failure();
    rw.replaceOp(op, buildTrig(rw, op.getLoc(), op.getOperand(), IsSin));
    return success();
  }
};

struct EjitAccurateTrig : impl::EjitAccurateTrigBase<EjitAccurateTrig> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateAccurateTrigPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns)))) signalPassFailure();
  }
};

}  // namespace

void populateAccurateTrigPatterns(RewritePatternSet& patterns) {
  // Above upstream's polynomial approximation when both are in one set.
  patterns.add<TrigPattern<math::SinOp, true>, TrigPattern<math::CosOp, false>>(patterns.getContext(), /*benefit=*/10);
}

}  // namespace mlir::ejit
