// f32 exp and log that keep the interpreter's answers at the edges of float.
//
// Upstream's polynomial exp flushes results below 2^-126 to 0 (exp(-88.5) was 0, not
// 3.7e-39), and its log reads a subnormal argument's exponent field as if it were normal
// (log(1e-45) was -87.3, not -103.3): log(exp(x)), a log-likelihood's usual shape, was
// -inf for x < -87.3. Found by test_jit_ops' edge-value test, which compares every float
// op with the interpreter on zeros, subnormals, limits, infinities and NaN.
#include "AccurateExpLog.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/TypeUtilities.h"

namespace mlir::ejit {
namespace {

bool isF32Like(Type t) { return getElementTypeOrSelf(t).isF32(); }

/// Builds ops of one element type (f32 or i32) and shape (that of `like`: scalar or vector).
struct Builder {
  OpBuilder& b;
  Location loc;
  Type f32, i32;

  Builder(OpBuilder& builder, Location l, Type like) : b(builder), loc(l) {
    auto shaped = llvm::dyn_cast<ShapedType>(like);
    f32 = like;
    i32 = shaped ? Type(shaped.clone(b.getI32Type())) : Type(b.getI32Type());
  }
  Value constant(Type t, TypedAttr a) {
    if (auto shaped = llvm::dyn_cast<ShapedType>(t)) a = DenseElementsAttr::get(shaped, a);
    return b.create<arith::ConstantOp>(loc, t, a);
  }
  Value f(float v) { return constant(f32, b.getF32FloatAttr(v)); }
  Value i(int32_t v) { return constant(i32, b.getI32IntegerAttr(v)); }
  Value add(Value x, Value y) { return b.create<arith::AddFOp>(loc, x, y); }
  Value sub(Value x, Value y) { return b.create<arith::SubFOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b.create<arith::MulFOp>(loc, x, y); }
  Value fma(Value x, Value y, Value z) { return b.create<math::FmaOp>(loc, x, y, z); }
  Value less(Value x, Value y) { return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT, x, y); }
  Value select(Value c, Value x, Value y) { return b.create<arith::SelectOp>(loc, c, x, y); }
  /// 2^n for i32 n in [-126, 127], as an f32.
  Value pow2(Value n) {
    Value e = b.create<arith::ShLIOp>(loc, b.create<arith::AddIOp>(loc, n, i(127)), i(23));
    return b.create<arith::BitcastOp>(loc, f32, e);
  }
};

/// e^x with Cephes expf's reduction and polynomial (those of lib/interp/vmath.h, without
/// its compensated sums: within 1 ulp of the interpreter's, and 15 fewer instructions in the
/// W1 chain's loop): x clamped to [-104, 89] (NaN passes), x = n*ln2 + r with a Cody-Waite
/// split, e^r = 1 + r + r^2 p(r), then scaled by 2^n as two exact powers of two, so that
/// overflow gives inf and a subnormal result is rounded once.
Value buildExp(OpBuilder& ob, Location loc, Value x) {
  Builder b(ob, loc, x.getType());
  Value xc = b.select(b.less(x, b.f(-104.0f)), b.f(-104.0f), x);
  xc = b.select(b.less(b.f(89.0f), xc), b.f(89.0f), xc);
  const float kMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer held in the low bits
  Value k = b.fma(xc, b.f(1.44269504088896341f), b.f(kMagic));
  Value n = b.sub(k, b.f(kMagic));
  Value neg_n = ob.create<arith::NegFOp>(loc, n);
  Value r = b.fma(neg_n, b.f(-2.12194440e-4f), b.fma(neg_n, b.f(0.693359375f), xc));
  Value p = b.f(1.9875691500e-4f);
  for (float c : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f})
    p = b.fma(p, r, b.f(c));
  Value y = b.add(b.fma(b.mul(r, r), p, r), b.f(1.0f));
  Value ni = ob.create<arith::SubIOp>(loc, ob.create<arith::BitcastOp>(loc, b.i32, k), b.i(0x4B400000));
  Value n1 = ob.create<arith::ShRSIOp>(loc, ni, b.i(1));
  Value n2 = ob.create<arith::SubIOp>(loc, ni, n1);
  return b.mul(b.mul(y, b.pow2(n1)), b.pow2(n2));
}

struct ExpPattern : OpRewritePattern<math::ExpOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::ExpOp op, PatternRewriter& rw) const override {
    if (!isF32Like(op.getType())) return failure();
    rw.replaceOp(op, buildExp(rw, op.getLoc(), op.getOperand()));
    return success();
  }
};

/// Marks a math.log whose argument is normal (or 0, negative, inf, NaN), for upstream's
/// expansion: LogPattern leaves it alone.
constexpr const char* kNormalArgument = "ejit.normal_argument";

/// log(x) = log(x * 2^23) - 23 ln 2 for subnormal x.
struct LogPattern : OpRewritePattern<math::LogOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::LogOp op, PatternRewriter& rw) const override {
    if (!isF32Like(op.getType()) || op->hasAttr(kNormalArgument)) return failure();
    Builder b(rw, op.getLoc(), op.getType());
    Value x = op.getOperand();
    Value subnormal = b.less(x, b.f(0x1p-126f));  // also true for 0 and negatives: their scaling changes nothing
    Value scaled = b.select(subnormal, b.mul(x, b.f(0x1p23f)), x);
    auto log = rw.create<math::LogOp>(op.getLoc(), scaled, op.getFastmathAttr());
    log->setAttr(kNormalArgument, rw.getUnitAttr());
    rw.replaceOp(op, b.select(subnormal, b.sub(log, b.f(15.9423851528787421f)), log));  // 23 ln 2
    return success();
  }
};

}  // namespace

Value buildGelu(OpBuilder& ob, Location loc, Value x) {
  Builder b(ob, loc, x.getType());
  Value u = b.mul(x, b.f(0.707106781186547524f));
  Value a = ob.create<math::AbsFOp>(loc, u);
  // erfc(a) for a >= 0.9 (lib/interp/vmath.h: erfc_tail): exp(-a^2) * H(a), H fitted on
  // [0.9, 4] in powers of a - 2.45 and held beyond.
  Value t = b.sub(b.select(b.less(a, b.f(4.0f)), a, b.f(4.0f)), b.f(2.45f));
  Value h = b.f(-4.75831115e-07f);
  for (float c : {1.98662678e-06f, -4.40262875e-06f, 1.58394014e-05f, -6.60198712e-05f, 0.000235528205f, -0.000800027628f,
                  0.0026570647f, -0.00851380918f, 0.0261764899f, -0.0769024268f, 0.214587082f})
    h = b.fma(h, t, b.f(c));
  Value erfc = b.mul(ob.create<math::ExpOp>(loc, ob.create<arith::NegFOp>(loc, b.mul(a, a))), h);
  Value small = b.add(b.f(1.0f), ob.create<math::ErfOp>(loc, u));
  Value positive = b.less(b.f(-1.0f), x);  // x > -1: with a >= 0.9, x >= 0 (NaN: erfc's NaN either way)
  Value tail = b.select(positive, b.sub(b.f(2.0f), erfc), erfc);
  return b.mul(b.mul(b.f(0.5f), x), b.select(b.less(a, b.f(0.9f)), small, tail));
}

void populateAccurateExpLogPatterns(RewritePatternSet& patterns) {
  patterns.add<ExpPattern, LogPattern>(patterns.getContext(), /*benefit=*/10);
}

}  // namespace mlir::ejit
