// Lowers ejit ops on tensors to linalg/tensor/arith/math: elementwise ops (with NumPy
// broadcasting) become linalg.generic, reductions linalg.generic with reduction loops,
// matmul linalg.matmul/batch_matmul, shape ops tensor reshapes, transposes and slices.
#include "EjitToLinalg.h"

#include <string>

#include "EjitOps.h"
#include "ScalarOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::ejit {
#define GEN_PASS_DEF_CONVERTEJITTOLINALG
#include "ConversionPasses.h.inc"

namespace {

RankedTensorType tensorType(Value v) { return cast<RankedTensorType>(v.getType()); }

/// An operand broadcast to `outShape`: size-1 dims that broadcast are collapsed away so
/// the indexing map stays a projected permutation (what fusion and vectorization want).
std::pair<Value, AffineMap> broadcastOperand(OpBuilder& b, Location loc, Value v, ArrayRef<int64_t> outShape) {
  auto t = tensorType(v);
  const int64_t r = outShape.size(), k = t.getRank(), off = r - k;
  SmallVector<AffineExpr> exprs;
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices pending;
  SmallVector<int64_t> kept;
  bool collapse = false;
  for (int64_t j = 0; j < k; ++j) {
    pending.push_back(j);
    if (t.getDimSize(j) != outShape[j + off]) {
      collapse = true;
      continue;
    }
    groups.push_back(pending);
    pending.clear();
    exprs.push_back(b.getAffineDimExpr(j + off));
    kept.push_back(t.getDimSize(j));
  }
  if (!pending.empty() && !groups.empty()) groups.back().append(pending.begin(), pending.end());
  if (collapse)
    v = b.create<tensor::CollapseShapeOp>(loc, RankedTensorType::get(kept, t.getElementType()), v, groups);
  return {v, AffineMap::get(r, 0, exprs, b.getContext())};
}

using ScalarBody = function_ref<Value(OpBuilder&, Location, ValueRange)>;

/// Dim d of v: a constant, or tensor.dim when it is dynamic.
OpFoldResult dimOf(OpBuilder& b, Location loc, Value v, int64_t d) {
  auto t = tensorType(v);
  if (!t.isDynamicDim(d)) return b.getIndexAttr(t.getDimSize(d));
  return b.create<tensor::DimOp>(loc, v, d).getResult();
}

/// tensor.empty of `shape` and `et`; each dynamic dim i takes its size from sizeOf(i).
Value emptyTensor(OpBuilder& b, Location loc, ArrayRef<int64_t> shape, Type et, function_ref<Value(int64_t)> sizeOf) {
  SmallVector<Value> sizes;
  for (auto [i, d] : llvm::enumerate(shape))
    if (ShapedType::isDynamic(d)) sizes.push_back(sizeOf(static_cast<int64_t>(i)));
  return b.create<tensor::EmptyOp>(loc, shape, et, sizes);
}

/// Entries of ejit.dim_sizes per dynamic result dim: (function argument, dim, mul, add,
/// div), the size being (that argument dim's size * mul + add) / div.
constexpr int64_t kDimSizeEntry = 5;

/// Whether entry `nth` of `op`'s ejit.dim_sizes names an argument dim of its function.
bool validDimSize(Operation* op, int64_t nth) {
  auto sizes = op->getAttrOfType<DenseI64ArrayAttr>(kDimSizesAttr);
  auto func = op->getParentOfType<func::FuncOp>();
  if (!sizes || !func || kDimSizeEntry * (nth + 1) > static_cast<int64_t>(sizes.size())) return false;
  ArrayRef<int64_t> e = sizes.asArrayRef().slice(kDimSizeEntry * nth, kDimSizeEntry);
  if (e[0] < 0 || e[0] >= static_cast<int64_t>(func.getNumArguments()) || e[2] < 1 || e[4] < 1) return false;
  auto t = dyn_cast<RankedTensorType>(func.getArgument(e[0]).getType());
  return t && e[1] >= 0 && e[1] < t.getRank();
}

/// The size of dynamic result dim `nth` (counting dynamic dims only) of `op` from its
/// `ejit.dim_sizes` attribute, or null.
Value sizeFromArguments(OpBuilder& b, Location loc, Operation* op, int64_t nth) {
  if (!op || !validDimSize(op, nth)) return nullptr;
  ArrayRef<int64_t> e = op->getAttrOfType<DenseI64ArrayAttr>(kDimSizesAttr).asArrayRef().slice(kDimSizeEntry * nth, kDimSizeEntry);
  Value v = b.create<tensor::DimOp>(loc, op->getParentOfType<func::FuncOp>().getArgument(e[0]), e[1]);
  auto constant = [&](int64_t c) { return b.create<arith::ConstantIndexOp>(loc, c); };
  if (e[2] != 1) v = b.create<arith::MulIOp>(loc, v, constant(e[2]));
  if (e[3] != 0) v = b.create<arith::AddIOp>(loc, v, constant(e[3]));
  if (e[4] != 1) v = b.create<arith::DivSIOp>(loc, v, constant(e[4]));
  return v;
}

/// True when `op`'s ejit.dim_sizes gives a valid source for each dynamic dim of `rt`.
bool validDimSizes(Operation* op, RankedTensorType rt) {
  auto sizes = op->getAttrOfType<DenseI64ArrayAttr>(kDimSizesAttr);
  const int64_t dynamic = llvm::count_if(rt.getShape(), ShapedType::isDynamic);
  if (!sizes || static_cast<int64_t>(sizes.size()) != kDimSizeEntry * dynamic) return false;
  for (int64_t i = 0; i < dynamic; ++i)
    if (!validDimSize(op, i)) return false;
  return true;
}

/// The number of dynamic dims of `t` before dim `d`.
int64_t dynamicBefore(RankedTensorType t, int64_t d) { return llvm::count_if(t.getShape().take_front(d), ShapedType::isDynamic); }

/// a + b as an index.
OpFoldResult addSizes(OpBuilder& b, Location loc, OpFoldResult x, OpFoldResult y) {
  std::optional<int64_t> cx = getConstantIntValue(x), cy = getConstantIntValue(y);
  if (cx && cy) return b.getIndexAttr(*cx + *cy);
  if (cy && *cy == 0) return x;
  if (cx && *cx == 0) return y;
  return b.create<arith::AddIOp>(loc, getValueOrCreateConstantIndexOp(b, loc, x), getValueOrCreateConstantIndexOp(b, loc, y))
      .getResult();
}

/// result[i] = body(operands[i]...) with broadcasting, as one linalg.generic. A dynamic
/// result dim no operand has comes from `op`'s ejit.dim_sizes.
Value elementwise(OpBuilder& b, Location loc, RankedTensorType resultType, ValueRange operands, ScalarBody body,
                  Operation* op = nullptr) {
  SmallVector<Value> ins;
  SmallVector<AffineMap> maps;
  for (Value v : operands) {
    auto [bv, map] = broadcastOperand(b, loc, v, resultType.getShape());
    ins.push_back(bv);
    maps.push_back(map);
  }
  maps.push_back(b.getMultiDimIdentityMap(resultType.getRank()));
  // A dynamic dim of the result is a dynamic dim of an operand (the others broadcast along it).
  Value init = emptyTensor(b, loc, resultType.getShape(), resultType.getElementType(), [&](int64_t i) -> Value {
    for (Value v : operands) {
      auto t = tensorType(v);
      const int64_t j = i - (resultType.getRank() - t.getRank());
      if (j >= 0 && t.isDynamicDim(j)) return b.create<tensor::DimOp>(loc, v, j);
    }
    return sizeFromArguments(b, loc, op, dynamicBefore(resultType, i));
  });
  SmallVector<utils::IteratorType> iters(resultType.getRank(), utils::IteratorType::parallel);
  auto generic = b.create<linalg::GenericOp>(
      loc, TypeRange{resultType}, ins, ValueRange{init}, maps, iters, [&](OpBuilder& nb, Location nl, ValueRange args) {
        nb.create<linalg::YieldOp>(nl, body(nb, nl, args.drop_back()));
      });
  return generic.getResult(0);
}

template <class Op> struct UnaryLowering : OpConversionPattern<Op> {
  UnaryLowering(MLIRContext* ctx, ::ejit::UnaryOp kind) : OpConversionPattern<Op>(ctx), kind(kind) {}
  LogicalResult matchAndRewrite(Op op, typename Op::Adaptor a, ConversionPatternRewriter& rw) const override {
    std::string why;
    bool failed = false;
    Value r = elementwise(rw, op.getLoc(), tensorType(op.getResult()), {a.getX()},
                          [&](OpBuilder& b, Location l, ValueRange s) {
                            Value v = buildUnary(b, l, kind, s[0], &why);
                            failed |= !v;
                            return v ? v : s[0];
                          });
    if (failed) return rw.notifyMatchFailure(op, why);
    rw.replaceOp(op, r);
    return success();
  }
  ::ejit::UnaryOp kind;
};

template <class Op> struct BinaryLowering : OpConversionPattern<Op> {
  BinaryLowering(MLIRContext* ctx, ::ejit::BinaryOp kind) : OpConversionPattern<Op>(ctx), kind(kind) {}
  LogicalResult matchAndRewrite(Op op, typename Op::Adaptor a, ConversionPatternRewriter& rw) const override {
    std::string why;
    // Check support first so that no IR is built for an op that cannot lower.
    {
      OpBuilder probe(op.getContext());
      Block scratch;
      probe.setInsertionPointToStart(&scratch);
      Type et = tensorType(a.getLhs()).getElementType();
      Value x = scratch.addArgument(et, op.getLoc()), y = scratch.addArgument(et, op.getLoc());
      bool ok = buildBinary(probe, op.getLoc(), kind, x, y, &why) != nullptr;
      while (!scratch.empty()) scratch.back().erase();
      if (!ok) return rw.notifyMatchFailure(op, why);
    }
    Value r = elementwise(rw, op.getLoc(), tensorType(op.getResult()), {a.getLhs(), a.getRhs()},
                          [&](OpBuilder& b, Location l, ValueRange s) { return buildBinary(b, l, kind, s[0], s[1], &why); });
    rw.replaceOp(op, r);
    return success();
  }
  ::ejit::BinaryOp kind;
};

struct CastLowering : OpConversionPattern<CastOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(CastOp op, OpAdaptor a, ConversionPatternRewriter& rw) const override {
    auto rt = tensorType(op.getResult());
    rw.replaceOp(op, elementwise(rw, op.getLoc(), rt, {a.getX()}, [&](OpBuilder& b, Location l, ValueRange s) {
                   return buildCast(b, l, s[0], rt.getElementType());
                 }));
    return success();
  }
};

struct WhereLowering : OpConversionPattern<WhereOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(WhereOp op, OpAdaptor a, ConversionPatternRewriter& rw) const override {
    rw.replaceOp(op, elementwise(rw, op.getLoc(), tensorType(op.getResult()),
                                 {a.getCondition(), a.getTrueValue(), a.getFalseValue()},
                                 [&](OpBuilder& b, Location l, ValueRange s) {
                                   return b.create<arith::SelectOp>(l, s[0], s[1], s[2]).getResult();
                                 }));
    return success();
  }
};

struct BroadcastToLowering : OpConversionPattern<BroadcastToOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(BroadcastToOp op, OpAdaptor a, ConversionPatternRewriter& rw) const override {
    auto rt = tensorType(op.getResult());
    if (!rt.hasStaticShape() && !validDimSizes(op, rt))
      return rw.notifyMatchFailure(op, "a dynamic broadcast_to without a valid ejit.dim_sizes");
    rw.replaceOp(op, elementwise(rw, op.getLoc(), rt, {a.getX()}, [](OpBuilder&, Location, ValueRange s) { return s[0]; },
                                 op));
    return success();
  }
};

struct ConstantLowering : OpConversionPattern<ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ConstantOp op, OpAdaptor, ConversionPatternRewriter& rw) const override {
    auto attr = dyn_cast<TypedAttr>(op.getValue());
    if (!attr) return rw.notifyMatchFailure(op, "constant value is not a typed attribute");
    rw.replaceOpWithNewOp<arith::ConstantOp>(op, attr);
    return success();
  }
};

/// The loops of a reduction of `x` over the dims in `axes`: iterator types, the maps of
/// the input (identity) and of the result (its kept dims), and a result of `type` filled
/// with `value` (a dynamic kept dim sized from x).
struct ReductionLoops {
  SmallVector<utils::IteratorType> iters;
  SmallVector<AffineMap> maps;  // input, result
  SmallVector<int64_t> kept;    // the input dim of each result dim

  ReductionLoops(OpBuilder& b, Value x, ArrayRef<int64_t> axes) {
    const int64_t r = tensorType(x).getRank();
    SmallVector<AffineExpr> outExprs;
    for (int64_t d = 0; d < r; ++d) {
      const bool reduced = llvm::is_contained(axes, d);
      iters.push_back(reduced ? utils::IteratorType::reduction : utils::IteratorType::parallel);
      if (!reduced) outExprs.push_back(b.getAffineDimExpr(d)), kept.push_back(d);
    }
    maps = {b.getMultiDimIdentityMap(r), AffineMap::get(r, 0, outExprs, b.getContext())};
  }
  Value filled(OpBuilder& b, Location loc, Value x, RankedTensorType type, Value value) const {
    Value empty = emptyTensor(b, loc, type.getShape(), value.getType(),
                              [&](int64_t i) -> Value { return b.create<tensor::DimOp>(loc, x, kept[i]); });
    return b.create<linalg::FillOp>(loc, value, empty).getResult(0);
  }
};

template <class Op> struct ReduceLowering : OpConversionPattern<Op> {
  ReduceLowering(MLIRContext* ctx, ::ejit::ReduceOp kind) : OpConversionPattern<Op>(ctx), kind(kind) {}
  LogicalResult matchAndRewrite(Op op, typename Op::Adaptor a, ConversionPatternRewriter& rw) const override {
    Location loc = op.getLoc();
    auto in = tensorType(a.getX());
    auto rt = tensorType(op.getResult());
    if (op.getKeepdims()) return rw.notifyMatchFailure(op, "keepdims reductions are reshaped by the recorder");
    const ReductionLoops loops(rw, a.getX(), op.getAxes());
    Type acc = rt.getElementType();
    Value identity = buildReduceInit(rw, loc, kind, acc);
    // A float sum starts from -0, IEEE addition's identity: a sum of -0s is -0, as the
    // interpreter's (it was +0). A sum over no elements stays +0, as the interpreter's
    // (decided at run time for a dynamic size).
    const bool empty = llvm::any_of(op.getAxes(), [&](int64_t ax) { return in.getDimSize(ax) == 0; });
    if (kind == ::ejit::ReduceOp::Sum && isa<FloatType>(acc) && !empty) {
      Value negative_zero = rw.create<arith::ConstantOp>(loc, rw.getFloatAttr(acc, -0.0));
      Value none = nullptr;  // true when some dynamic reduced dim is 0
      for (int64_t ax : op.getAxes()) {
        if (!in.isDynamicDim(ax)) continue;
        Value dim = rw.create<tensor::DimOp>(loc, a.getX(), ax);
        Value zero_dim = rw.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, dim, rw.create<arith::ConstantIndexOp>(loc, 0));
        none = none ? rw.create<arith::OrIOp>(loc, none, zero_dim).getResult() : zero_dim;
      }
      identity = none ? rw.create<arith::SelectOp>(loc, none, identity, negative_zero).getResult() : negative_zero;
    }
    auto generic = rw.create<linalg::GenericOp>(
        loc, TypeRange{rt}, ValueRange{a.getX()}, ValueRange{loops.filled(rw, loc, a.getX(), rt, identity)}, loops.maps,
        loops.iters,
        [&](OpBuilder& b, Location l, ValueRange args) {
          Value x = buildCast(b, l, args[0], acc);
          b.create<linalg::YieldOp>(l, buildReduceStep(b, l, kind, args[1], x));
        });
    rw.replaceOp(op, generic.getResult(0));
    return success();
  }
  ::ejit::ReduceOp kind;
};

/// argmax / argmin over one axis as two reductions over it: the extreme (NaN wins, as in
/// max and min), then the least position holding it, or holding a NaN: the interpreter's
/// first index among ties, a NaN counting as the extreme. Both passes are exact, and the
/// second reads the first's result as softmax's sum reads its max (fused per row block).
template <class Op> struct ArgReduceLowering : OpConversionPattern<Op> {
  ArgReduceLowering(MLIRContext* ctx, bool isMax) : OpConversionPattern<Op>(ctx), isMax(isMax) {}
  LogicalResult matchAndRewrite(Op op, typename Op::Adaptor a, ConversionPatternRewriter& rw) const override {
    Location loc = op.getLoc();
    Value x = a.getX();
    auto in = tensorType(x);
    auto rt = tensorType(op.getResult());
    if (op.getKeepdims()) return rw.notifyMatchFailure(op, "keepdims reductions are reshaped by the recorder");
    if (op.getAxes().size() != 1) return rw.notifyMatchFailure(op, "an index reduction over other than one axis");
    const int64_t axis = op.getAxes()[0];
    const ReductionLoops loops(rw, x, op.getAxes());
    auto filled = [&](Value value) { return loops.filled(rw, loc, x, rt, value); };
    Type et = in.getElementType();
    const ::ejit::ReduceOp kind = isMax ? ::ejit::ReduceOp::Max : ::ejit::ReduceOp::Min;
    auto extreme = rw.create<linalg::GenericOp>(
        loc, TypeRange{rt.clone(et)}, ValueRange{x}, ValueRange{filled(buildReduceInit(rw, loc, kind, et))},
        loops.maps, loops.iters, [&](OpBuilder& b, Location l, ValueRange args) {
          b.create<linalg::YieldOp>(l, buildReduceStep(b, l, kind, args[1], args[0]));
        });
    Type i64 = rw.getI64Type();
    Value len = rw.create<arith::IndexCastOp>(loc, i64, getValueOrCreateConstantIndexOp(rw, loc, dimOf(rw, loc, x, axis)));
    auto position = rw.create<linalg::GenericOp>(
        loc, TypeRange{rt}, ValueRange{x, extreme.getResult(0)}, ValueRange{filled(len)},
        SmallVector<AffineMap>{loops.maps[0], loops.maps[1], loops.maps[1]}, loops.iters,
        [&](OpBuilder& b, Location l, ValueRange args) {
          Value i = b.create<arith::IndexCastOp>(l, i64, b.create<linalg::IndexOp>(l, axis));
          Value hit;
          if (isa<FloatType>(et)) {
            Value equal = b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OEQ, args[0], args[1]);
            Value nan = b.create<arith::CmpFOp>(l, arith::CmpFPredicate::UNO, args[0], args[0]);
            hit = b.create<arith::OrIOp>(l, equal, nan);
          } else {
            hit = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, args[0], args[1]);
          }
          b.create<linalg::YieldOp>(l, b.create<arith::MinSIOp>(l, args[2], b.create<arith::SelectOp>(l, hit, i, len)).getResult());
        });
    extreme->setAttr(kReadsStoredAttr, rw.getUnitAttr());
    position->setAttr(kReadsStoredAttr, rw.getUnitAttr());
    rw.replaceOp(op, position.getResult(0));
    return success();
  }
  bool isMax;
};

/// An index element of take / gather as an index into a dim of size n (an i64 value):
/// negative ones count from the end, as the interpreter's. Clamped to [0, n): the executor
/// checks indices against n (PackedKernel: before a kernel runs when they are its input,
/// after it when the kernel computes them), so an index out of range never gives a result;
/// the load stays inside x all the same. n > 0 (dims that may be 0 stay on the interpreter).
Value indexInto(OpBuilder& b, Location loc, Value i, Value n) {
  Type i64 = b.getI64Type();
  if (i.getType() != i64) i = b.create<arith::ExtSIOp>(loc, i64, i);
  auto constant = [&](int64_t c) { return b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(c)).getResult(); };
  Value negative = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, i, constant(0));
  i = b.create<arith::SelectOp>(loc, negative, b.create<arith::AddIOp>(loc, i, n), i);
  Value last = b.create<arith::SubIOp>(loc, n, constant(1));
  i = b.create<arith::MaxSIOp>(loc, b.create<arith::MinSIOp>(loc, i, last), constant(0));
  return b.create<arith::IndexCastOp>(loc, b.getIndexType(), i);
}

/// The size of x's dim `axis` as an i64 value (take and gather index it): a constant, or
/// read from x when the dim is dynamic.
Value indexedDimSize(OpBuilder& b, Location loc, Value x, int64_t axis) {
  auto xt = tensorType(x);
  if (!xt.isDynamicDim(axis)) return b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(xt.getDimSize(axis)));
  return b.create<arith::IndexCastOp>(loc, b.getI64Type(), b.create<tensor::DimOp>(loc, x, axis));
}

/// The result `init` stands for, one element per index (`indices` read at `indexMap`): x
/// (tensor.extract) at the coordinates `at` gives for the index.
Value indexedRead(OpBuilder& rw, Location loc, Value x, Value indices, AffineMap indexMap, Value init,
                  function_ref<SmallVector<Value>(OpBuilder&, Location, Value)> at) {
  auto rt = tensorType(init);
  SmallVector<AffineMap> maps = {indexMap, rw.getMultiDimIdentityMap(rt.getRank())};
  SmallVector<utils::IteratorType> iters(rt.getRank(), utils::IteratorType::parallel);
  auto generic = rw.create<linalg::GenericOp>(
      loc, TypeRange{rt}, ValueRange{indices}, ValueRange{init}, maps, iters, [&](OpBuilder& b, Location l, ValueRange args) {
        b.create<linalg::YieldOp>(l, b.create<tensor::ExtractOp>(l, x, at(b, l, args[0])).getResult());
      });
  return generic.getResult(0);
}

/// take(x, indices, axis): x with its dim `axis` replaced by the indices' dims; each element
/// reads x (tensor.extract) at the index the indices give. Any dim may be dynamic (a number
/// of ids, a batch, a table that varies): the executor checks indices against the dim's size
/// of the call. An empty dim indexed stays on the interpreter.
struct TakeLowering : OpConversionPattern<TakeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(TakeOp op, OpAdaptor a, ConversionPatternRewriter& rw) const override {
    Location loc = op.getLoc();
    Value x = a.getX(), indices = a.getIndices();
    auto xt = tensorType(x), it = tensorType(indices), rt = tensorType(op.getResult());
    const int64_t axis = op.getAxis(), k = it.getRank(), r = rt.getRank(), n = xt.getDimSize(axis);
    if (n == 0) return rw.notifyMatchFailure(op, "take from an empty dim");
    Value size = indexedDimSize(rw, loc, x, axis);
    SmallVector<AffineExpr> indexDims;
    for (int64_t d = 0; d < k; ++d) indexDims.push_back(rw.getAffineDimExpr(axis + d));
    // A dynamic result dim is one of x's before or after the axis, or one of the indices'.
    Value init = emptyTensor(rw, loc, rt.getShape(), rt.getElementType(), [&](int64_t d) -> Value {
      if (d < axis) return rw.create<tensor::DimOp>(loc, x, d);
      if (d >= axis + k) return rw.create<tensor::DimOp>(loc, x, d - k + 1);
      return rw.create<tensor::DimOp>(loc, indices, d - axis);
    });
    rw.replaceOp(op, indexedRead(rw, loc, x, indices, AffineMap::get(r, 0, indexDims, rw.getContext()), init,
                                 [&](OpBuilder& b, Location l, Value index) {
                                   SmallVector<Value> at;
                                   for (int64_t d = 0; d < xt.getRank(); ++d) {
                                     if (d < axis) at.push_back(b.create<linalg::IndexOp>(l, d));
                                     else if (d == axis) at.push_back(indexInto(b, l, index, size));
                                     else at.push_back(b.create<linalg::IndexOp>(l, d - 1 + k));
                                   }
                                   return at;
                                 }));
    return success();
  }
};

/// gather(x, indices, axis): out[..., j, ...] = x[..., indices[..., j, ...], ...], x and
/// the indices broadcasting on the other dims. Dims may be dynamic, as take's.
struct GatherLowering : OpConversionPattern<GatherOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(GatherOp op, OpAdaptor a, ConversionPatternRewriter& rw) const override {
    Location loc = op.getLoc();
    Value x = a.getX();
    auto xt = tensorType(x), it = tensorType(a.getIndices()), rt = tensorType(op.getResult());
    const int64_t axis = op.getAxis(), r = rt.getRank(), n = xt.getDimSize(axis);
    if (n == 0) return rw.notifyMatchFailure(op, "gather from an empty dim");
    Value size = indexedDimSize(rw, loc, x, axis);
    // A dynamic dim of the result: the indices' along the axis, else x's or the indices'
    // (the other broadcasts along it, with size 1).
    for (int64_t d = 0; d < r; ++d)
      if (rt.isDynamicDim(d) && d != axis && !xt.isDynamicDim(d) && !it.isDynamicDim(d))
        return rw.notifyMatchFailure(op, "a dynamic result dim neither operand has");
    Value original = a.getIndices();
    auto [indices, indexMap] = broadcastOperand(rw, loc, a.getIndices(), rt.getShape());
    Value init = emptyTensor(rw, loc, rt.getShape(), rt.getElementType(), [&](int64_t d) -> Value {
      return rw.create<tensor::DimOp>(loc, d != axis && xt.isDynamicDim(d) ? x : original, d);
    });
    rw.replaceOp(op, indexedRead(rw, loc, x, indices, indexMap, init, [&](OpBuilder& b, Location l, Value index) {
      SmallVector<Value> at;
      for (int64_t d = 0; d < r; ++d) {
        if (d == axis) at.push_back(indexInto(b, l, index, size));
        else if (xt.getDimSize(d) == 1) at.push_back(b.create<arith::ConstantIndexOp>(l, 0));
        else at.push_back(b.create<linalg::IndexOp>(l, d));
      }
      return at;
    }));
    return success();
  }
};

struct ReshapeLowering : OpConversionPattern<ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ReshapeOp op, OpAdaptor a, ConversionPatternRewriter& rw) const override {
    Location loc = op.getLoc();
    auto in = tensorType(a.getX());
    auto rt = tensorType(op.getResult());
    auto all = [](int64_t rank) {
      ReassociationIndices g;
      for (int64_t i = 0; i < rank; ++i) g.push_back(i);
      return SmallVector<ReassociationIndices>{g};
    };
    Value v = a.getX();
    if (in == rt) return rw.replaceOp(op, v), success();
    // Through a 1-D (or 0-D) tensor: collapse everything, then expand to the target.
    if (!rt.hasStaticShape() && llvm::count_if(rt.getShape(), ShapedType::isDynamic) > 1)
      return rw.notifyMatchFailure(op, "a reshape to more than one dynamic dim");
    if (in.getRank() != 1) {
      const int64_t count = in.hasStaticShape() ? in.getNumElements() : ShapedType::kDynamic;
      auto flat = RankedTensorType::get(in.getRank() == 0 ? ArrayRef<int64_t>{} : ArrayRef<int64_t>{count},
                                        in.getElementType());
      if (rt.getRank() == 0) flat = rt;
      if (in.getRank() > 0 || rt.getRank() == 0)
        v = rw.create<tensor::CollapseShapeOp>(loc, flat, v, in.getRank() == 0 || rt.getRank() == 0
                                                                ? SmallVector<ReassociationIndices>{}
                                                                : all(in.getRank()));
    }
    if (tensorType(v) != rt)
      v = rw.create<tensor::ExpandShapeOp>(loc, rt, v, tensorType(v).getRank() == 0 ? SmallVector<ReassociationIndices>{}
                                                                                     : all(rt.getRank()));
    rw.replaceOp(op, v);
    return success();
  }
};

struct PermuteLowering : OpConversionPattern<PermuteOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(PermuteOp op, OpAdaptor a, ConversionPatternRewriter& rw) const override {
    auto rt = tensorType(op.getResult());
    Value init = emptyTensor(rw, op.getLoc(), rt.getShape(), rt.getElementType(), [&](int64_t i) -> Value {
      return rw.create<tensor::DimOp>(op.getLoc(), a.getX(), op.getPerm()[i]);
    });
    rw.replaceOp(op, rw.create<linalg::TransposeOp>(op.getLoc(), a.getX(), init, op.getPerm()).getResult());
    return success();
  }
};

struct MatmulLowering : OpConversionPattern<MatmulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MatmulOp op, OpAdaptor a, ConversionPatternRewriter& rw) const override {
    Location loc = op.getLoc();
    // linalg.matmul becomes plain loops here: about 0.7 GFLOP/s against OpenBLAS's 80+, so
    // traces with a matmul stay eager (and fast) until matmul calls the BLAS from compiled
    // code. A module marked ejit.codegen_matmul compiles it anyway: the GPU back end's (where
    // cuBLAS is missing), or any with EJIT_CODEGEN_MATMUL=1 (for work on that codegen).
    const bool module_asks = op->getParentOfType<ModuleOp>()->hasAttr(kCodegenMatmulAttr);
    if (!module_asks) return rw.notifyMatchFailure(op, "matmul is not compiled yet (it runs on the BLAS eagerly)");
    auto lt = tensorType(a.getLhs()), rt = tensorType(a.getRhs()), ot = tensorType(op.getResult());
    if (lt.getRank() != rt.getRank() || lt.getShape().drop_back(2) != rt.getShape().drop_back(2))
      return rw.notifyMatchFailure(op, "matmul with broadcast batch dims is not compiled yet");
    Type et = ot.getElementType();
    Value zero = buildReduceInit(rw, loc, ::ejit::ReduceOp::Sum, et);
    auto fillOf = [&](RankedTensorType t) {
      Value e = rw.create<tensor::EmptyOp>(loc, t.getShape(), et);
      return rw.create<linalg::FillOp>(loc, zero, e).getResult(0);
    };
    if (ot.getRank() == 2) {
      rw.replaceOp(op, rw.create<linalg::MatmulOp>(loc, TypeRange{ot}, ValueRange{a.getLhs(), a.getRhs()},
                                                    ValueRange{fillOf(ot)})
                           .getResult(0));
      return success();
    }
    // Batched: collapse the batch dims into one, batch_matmul, expand back.
    const int64_t nb = ot.getRank() - 2;
    ReassociationIndices batch;
    for (int64_t i = 0; i < nb; ++i) batch.push_back(i);
    SmallVector<ReassociationIndices> groups = {batch, {nb}, {nb + 1}};
    int64_t bsz = 1;
    for (int64_t i = 0; i < nb; ++i) bsz *= ot.getDimSize(i);
    auto c3 = [&](Value v) {
      auto t = tensorType(v);
      auto t3 = RankedTensorType::get({bsz, t.getDimSize(nb), t.getDimSize(nb + 1)}, et);
      return nb == 1 ? v : rw.create<tensor::CollapseShapeOp>(loc, t3, v, groups).getResult();
    };
    auto o3 = RankedTensorType::get({bsz, ot.getDimSize(nb), ot.getDimSize(nb + 1)}, et);
    Value r = rw.create<linalg::BatchMatmulOp>(loc, TypeRange{o3}, ValueRange{c3(a.getLhs()), c3(a.getRhs())},
                                               ValueRange{fillOf(o3)})
                  .getResult(0);
    if (nb != 1) r = rw.create<tensor::ExpandShapeOp>(loc, ot, r, groups);
    rw.replaceOp(op, r);
    return success();
  }
};

struct SliceLowering : OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(SliceOp op, OpAdaptor a, ConversionPatternRewriter& rw) const override {
    auto rt = tensorType(op.getResult());
    const int64_t r = rt.getRank(), axis = op.getAxis();
    const int64_t start = static_cast<int64_t>(op.getStart()), step = static_cast<int64_t>(op.getStep());
    const bool dynamic = tensorType(a.getX()).isDynamicDim(axis) || rt.isDynamicDim(axis);
    if (dynamic && step < 0) return rw.notifyMatchFailure(op, "a slice with a negative step along a dynamic dim");
    Value length;  // a dynamic result length, from ejit.dim_sizes
    if (rt.isDynamicDim(axis) && !(length = sizeFromArguments(rw, op.getLoc(), op, dynamicBefore(rt, axis))))
      return rw.notifyMatchFailure(op, "a slice to a dynamic length without a valid ejit.dim_sizes");
    if (step < 0) {  // a generic reading x[.., start + step * i, ..], not an extract_slice with a negative stride
      Location loc = op.getLoc();
      SmallVector<AffineExpr> reads;
      for (int64_t d = 0; d < r; ++d)
        reads.push_back(d == axis ? rw.getAffineConstantExpr(start) + rw.getAffineDimExpr(d) * step : rw.getAffineDimExpr(d));
      SmallVector<AffineMap> maps = {AffineMap::get(r, 0, reads, rw.getContext()), rw.getMultiDimIdentityMap(r)};
      Value init = emptyTensor(rw, loc, rt.getShape(), rt.getElementType(),
                               [&](int64_t d) -> Value { return rw.create<tensor::DimOp>(loc, a.getX(), d); });
      SmallVector<utils::IteratorType> iters(r, utils::IteratorType::parallel);
      auto generic = rw.create<linalg::GenericOp>(loc, TypeRange{rt}, ValueRange{a.getX()}, ValueRange{init}, maps, iters,
                                                  [](OpBuilder& b, Location l, ValueRange args) {
                                                    b.create<linalg::YieldOp>(l, args[0]);
                                                  });
      rw.replaceOp(op, generic.getResults());
      return success();
    }
    SmallVector<OpFoldResult> offsets(r, rw.getIndexAttr(0)), sizes, strides(r, rw.getIndexAttr(1));
    for (int64_t d = 0; d < r; ++d)
      sizes.push_back(d != axis ? dimOf(rw, op.getLoc(), a.getX(), d)
                      : length ? OpFoldResult(length) : OpFoldResult(rw.getIndexAttr(rt.getDimSize(d))));
    offsets[axis] = rw.getIndexAttr(op.getStart());
    strides[axis] = rw.getIndexAttr(op.getStep());
    rw.replaceOpWithNewOp<tensor::ExtractSliceOp>(op, rt, a.getX(), offsets, sizes, strides);
    return success();
  }
};

/// Writes `pieces` into a tensor at the given offsets along dims.
struct ConcatLowering : OpConversionPattern<ConcatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ConcatOp op, OpAdaptor a, ConversionPatternRewriter& rw) const override {
    Location loc = op.getLoc();
    auto rt = tensorType(op.getResult());
    const int64_t r = rt.getRank(), axis = op.getAxis();
    ValueRange inputs = a.getInputs();
    SmallVector<SmallVector<OpFoldResult>> sizes;  // each piece's
    OpFoldResult length = rw.getIndexAttr(0);      // along the axis, the sum of the pieces'
    for (Value in : inputs) {
      SmallVector<OpFoldResult>& piece = sizes.emplace_back();
      for (int64_t d = 0; d < r; ++d) piece.push_back(dimOf(rw, loc, in, d));
      length = addSizes(rw, loc, length, piece[axis]);
    }
    Value acc = emptyTensor(rw, loc, rt.getShape(), rt.getElementType(), [&](int64_t d) -> Value {
      return getValueOrCreateConstantIndexOp(rw, loc, d == axis ? length : sizes[0][d]);
    });
    OpFoldResult offset = rw.getIndexAttr(0);
    for (auto [i, in] : llvm::enumerate(inputs)) {
      SmallVector<OpFoldResult> offsets(r, rw.getIndexAttr(0)), strides(r, rw.getIndexAttr(1));
      offsets[axis] = offset;
      acc = rw.create<tensor::InsertSliceOp>(loc, in, acc, offsets, sizes[i], strides);
      if (i + 1 < inputs.size()) offset = addSizes(rw, loc, offset, sizes[i][axis]);
    }
    rw.replaceOp(op, acc);
    return success();
  }
};

struct PadLowering : OpConversionPattern<PadOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(PadOp op, OpAdaptor a, ConversionPatternRewriter& rw) const override {
    Location loc = op.getLoc();
    auto rt = tensorType(op.getResult()), in = tensorType(a.getX());
    Type et = rt.getElementType();
    double v = op.getValue().convertToDouble();
    Value fillValue = isa<FloatType>(et)
                          ? rw.create<arith::ConstantOp>(loc, rw.getFloatAttr(et, v)).getResult()
                          : rw.create<arith::ConstantOp>(loc, rw.getIntegerAttr(et, static_cast<int64_t>(v))).getResult();
    Value empty = emptyTensor(rw, loc, rt.getShape(), et, [&](int64_t d) -> Value {
      return getValueOrCreateConstantIndexOp(
          rw, loc, addSizes(rw, loc, dimOf(rw, loc, a.getX(), d), rw.getIndexAttr(op.getLow()[d] + op.getHigh()[d])));
    });
    Value filled = rw.create<linalg::FillOp>(loc, fillValue, empty).getResult(0);
    SmallVector<OpFoldResult> offsets, sizes, strides(in.getRank(), rw.getIndexAttr(1));
    for (int64_t d = 0; d < in.getRank(); ++d) {
      offsets.push_back(rw.getIndexAttr(op.getLow()[d]));
      sizes.push_back(dimOf(rw, loc, a.getX(), d));
    }
    rw.replaceOpWithNewOp<tensor::InsertSliceOp>(op, a.getX(), filled, offsets, sizes, strides);
    return success();
  }
};

}  // namespace

void populateEjitToLinalgPatterns(RewritePatternSet& patterns) {
  MLIRContext* ctx = patterns.getContext();
#define EJIT_UNARY_OP(Name, name, Kind, expr, ...) patterns.add<UnaryLowering<Name##Op>>(ctx, ::ejit::UnaryOp::Name);
#define EJIT_BINARY_OP(Name, name, Kind, expr, ...) patterns.add<BinaryLowering<Name##Op>>(ctx, ::ejit::BinaryOp::Name);
#include "ejit/ops.def"
  patterns.add<ReduceLowering<SumOp>>(ctx, ::ejit::ReduceOp::Sum);
  patterns.add<ReduceLowering<ProdOp>>(ctx, ::ejit::ReduceOp::Prod);
  patterns.add<ReduceLowering<MaxOp>>(ctx, ::ejit::ReduceOp::Max);
  patterns.add<ReduceLowering<MinOp>>(ctx, ::ejit::ReduceOp::Min);
  patterns.add<ArgReduceLowering<ArgMaxOp>>(ctx, /*isMax=*/true);
  patterns.add<ArgReduceLowering<ArgMinOp>>(ctx, /*isMax=*/false);
  patterns.add<CastLowering, WhereLowering, BroadcastToLowering, ConstantLowering, ReshapeLowering, PermuteLowering,
               MatmulLowering, SliceLowering, ConcatLowering, PadLowering, TakeLowering, GatherLowering>(ctx);
}

namespace {
bool isElementwiseOp(Operation* op) {
#define EJIT_UNARY_OP(Name, ...) if (isa<Name##Op>(op)) return true;
#define EJIT_BINARY_OP(Name, ...) if (isa<Name##Op>(op)) return true;
#include "ejit/ops.def"
  return false;
}
}  // namespace

LogicalResult lowerEjitToLinalg(Operation* root) {
  // Dynamic dims (jit()'s) reach elementwise ops, reductions and the shape ops only.
  WalkResult dynamic = root->walk([](Operation* op) {
    if (!isa<EjitDialect>(op->getDialect()) || isa<CastOp, WhereOp, ReshapeOp, PermuteOp, SumOp, ProdOp, MaxOp, MinOp, ArgMaxOp, ArgMinOp>(op) ||
        isa<SliceOp, ConcatOp, PadOp>(op) ||  // a dynamic slice length comes from ejit.dim_sizes
        isa<TakeOp, GatherOp>(op) ||           // along a static dim (TakeLowering, GatherLowering)
        isElementwiseOp(op) || (isa<BroadcastToOp>(op) && op->hasAttr(kDimSizesAttr)))
      return WalkResult::advance();
    auto dynamic = [](Type t) {
      auto rt = dyn_cast<RankedTensorType>(t);
      return rt && !rt.hasStaticShape();
    };
    if (llvm::any_of(op->getOperandTypes(), dynamic) || llvm::any_of(op->getResultTypes(), dynamic)) {
      op->emitOpError() << "does not take dynamic dims yet";
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (dynamic.wasInterrupted()) return failure();
  MLIRContext* ctx = root->getContext();
  ConversionTarget target(*ctx);
  target.addIllegalDialect<EjitDialect>();
  target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect, math::MathDialect, tensor::TensorDialect,
                         func::FuncDialect>();
  RewritePatternSet patterns(ctx);
  populateEjitToLinalgPatterns(patterns);
  return applyPartialConversion(root, target, std::move(patterns));
}

namespace {
struct ConvertEjitToLinalg : impl::ConvertEjitToLinalgBase<ConvertEjitToLinalg> {
  using ConvertEjitToLinalgBase::ConvertEjitToLinalgBase;
  void runOnOperation() override {
    if (codegenMatmul) getOperation()->setAttr(kCodegenMatmulAttr, UnitAttr::get(&getContext()));
    if (failed(lowerEjitToLinalg(getOperation()))) signalPassFailure();
  }
};
}  // namespace

}  // namespace mlir::ejit
