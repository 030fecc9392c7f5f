// The ejit dialect and its ops' verifiers, result type inference and folders.
// Elementwise ops get theirs from the op table (include/ejit/ops.def) through X-macros;
// structural ops are written one by one. An inferable op's verifier and its
// inferReturnTypes share one rule function (inferBinary, inferReduction...), which
// checks the operands and attributes with the verifier's messages and gives the type.
// (One file: the dialect's registration needs every op class, and each MLIR
// translation unit costs about 20 s of header parsing here.)
#include "ejit/op_kind.h"
#include "EjitDialect.h"
#include "EjitOps.h"

#include "EjitFoldMath.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"

#include <numeric>
#include <optional>
#include <string>

using namespace mlir;
using namespace mlir::ejit;

#include "ejit/EjitOpsDialect.cpp.inc"

#define GET_OP_CLASSES
#include "ejit/EjitOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Dialect
//===----------------------------------------------------------------------===//

void EjitDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ejit/EjitOps.cpp.inc"
      >();
}

/// Folded values become `ejit.constant` ops (when they are element attributes of an
/// ejit tensor type).
Operation *EjitDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                            Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return nullptr;
  Type element = tensor.getElementType();
  if (!element.isInteger(1) && !element.isInteger(32) && !element.isInteger(64) &&
      !element.isF32() && !element.isF64())
    return nullptr;
  return builder.create<ConstantOp>(loc, tensor, elements);
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

/// A shape as ejit's runtime errors print it: (4,3), (3,), ().
std::string str(ArrayRef<int64_t> shape) {
  std::string s = "(";
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (i)
      s += ',';
    s += ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
  }
  return s + (shape.size() == 1 ? ",)" : ")");
}

/// An attribute list such as axes or perm: [0, 2].
std::string list(ArrayRef<int64_t> values) {
  std::string s = "[";
  for (auto [i, v] : llvm::enumerate(values)) {
    if (i)
      s += ", ";
    s += std::to_string(v);
  }
  return s + "]";
}

RankedTensorType tensorType(Value v) {
  return cast<RankedTensorType>(v.getType());
}
ArrayRef<int64_t> shapeOf(Value v) { return tensorType(v).getShape(); }
Type elementOf(Value v) { return tensorType(v).getElementType(); }

/// An error being reported, or one that goes nowhere (type inference without a
/// location). Either way it converts to failure.
class RuleError {
public:
  RuleError() = default;
  explicit RuleError(InFlightDiagnostic diag) : diag(std::move(diag)) {}
  template <class T> RuleError &operator<<(T &&value) {
    if (diag)
      *diag << std::forward<T>(value);
    return *this;
  }
  operator LogicalResult() const { return failure(); }
  template <class T> operator FailureOr<T>() const { return failure(); }

private:
  std::optional<InFlightDiagnostic> diag;
};

/// Where the rules shared by a verifier and its op's inferReturnTypes report errors:
/// the op being verified (emitOpError), or the location of the op being built, with the
/// same "'ejit.add' op " prefix, so that both give the same message.
class Emitter {
public:
  Emitter(Operation *op) : op(op) {}
  Emitter(std::optional<Location> location, StringRef opName)
      : location(location), opName(opName) {}
  RuleError operator()() const {
    if (op)
      return RuleError(op->emitOpError());
    if (!location)
      return RuleError();
    InFlightDiagnostic diag = emitError(*location);
    diag << "'" << opName << "' op ";
    return RuleError(std::move(diag));
  }

private:
  Operation *op = nullptr;
  std::optional<Location> location;
  StringRef opName;
};

/// inferReturnTypes may be called on operands that were never verified (a builder's);
/// checks that there are `count` (at least `count` with `variadic`) ranked tensors.
LogicalResult checkOperands(const Emitter &emit, ValueRange operands, size_t count,
                            bool variadic = false) {
  if (variadic ? operands.size() < count : operands.size() != count)
    return emit() << "expects " << (variadic ? "at least " : "") << count
                  << " operands, got " << operands.size();
  for (auto [i, v] : llvm::enumerate(operands))
    if (!v || !isa<RankedTensorType>(v.getType()))
      return emit() << "operand #" << i << " must be a ranked tensor";
  return success();
}

/// The product of a static shape's dims, or nothing when it overflows int64.
std::optional<int64_t> numElements(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    if (llvm::MulOverflow(n, d, n))
      return std::nullopt;
  return n;
}

/// Reads a required attribute from an op adaptor's properties (null when a builder
/// left it out).
template <class AttrT>
FailureOr<AttrT> required(const Emitter &emit, Attribute attr, StringRef name) {
  if (auto typed = dyn_cast_if_present<AttrT>(attr))
    return typed;
  return emit() << "needs the attribute '" << name << "'";
}

/// An attribute for inferReturnTypes: from the properties, or from the attribute
/// dictionary when a builder gave it there (generic builders with NamedAttributes).
Attribute property(Attribute fromProperties, DictionaryAttr attributes,
                   StringRef name) {
  if (fromProperties || !attributes)
    return fromProperties;
  return attributes.get(name);
}

/// The one inferred type of inferReturnTypes.
LogicalResult setInferred(FailureOr<RankedTensorType> type,
                          SmallVectorImpl<Type> &inferred) {
  if (failed(type))
    return failure();
  inferred.assign(1, *type);
  return success();
}

/// NumPy broadcasting of two shapes (aligned on the right; equal dims or one of them
/// 1); nullopt when they do not broadcast.
std::optional<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> a,
                                                    ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (da != db && da != 1 && db != 1)
      return std::nullopt;
    out[rank - 1 - i] = da == 1 ? db : da;
  }
  return out;
}

/// True if `from` broadcasts to exactly `to` (broadcast_to's rule).
bool broadcastsTo(ArrayRef<int64_t> from, ArrayRef<int64_t> to) {
  if (from.size() > to.size())
    return false;
  size_t lead = to.size() - from.size();
  for (auto [i, d] : llvm::enumerate(from))
    if (d != 1 && d != to[lead + i])
      return false;
  return true;
}

/// Checks that an axis attribute lies in [0, rank).
LogicalResult verifyAxis(const Emitter &emit, int64_t axis,
                         ArrayRef<int64_t> shape) {
  if (axis < 0 || axis >= static_cast<int64_t>(shape.size()))
    return emit() << "axis " << axis << " is out of range for shape "
                             << str(shape);
  return success();
}

LogicalResult verifySameElementType(Operation *op, Value result, Value operand) {
  if (elementOf(result) != elementOf(operand))
    return op->emitOpError()
           << "result element type " << elementOf(result)
           << " differs from operand element type " << elementOf(operand);
  return success();
}

LogicalResult verifyResultShape(Operation *op, Value result,
                                ArrayRef<int64_t> expected) {
  if (shapeOf(result) != expected)
    return op->emitOpError() << "result shape " << str(shapeOf(result))
                             << " should be " << str(expected);
  return success();
}

/// A verifier that checks an op against its inference rule: the rule's own errors, then
/// the declared result's shape and its element type against `operand`'s.
LogicalResult verifyInferred(Operation *op, FailureOr<RankedTensorType> inferred,
                             Value result, Value operand) {
  if (failed(inferred))
    return failure();
  if (failed(verifyResultShape(op, result, inferred->getShape())))
    return failure();
  return verifySameElementType(op, result, operand);
}

//===----------------------------------------------------------------------===//
// Splat constant folding of elementwise ops, evaluated with the op table's `expr`
// column in the element type's C++ type (EjitFoldMath.h gives the helpers).
//===----------------------------------------------------------------------===//

template <class... Ts> struct TypeList {};
using AllTypes = TypeList<bool, int32_t, int64_t, float, double>;
using NumericTypes = TypeList<int32_t, int64_t, float, double>;
using FloatTypes = TypeList<float, double>;

/// The element types an op of kind K takes (AllTypes filtered by ::ejit::takes).
template <auto K, class List, class Out = TypeList<>> struct TakenTypes;
template <auto K, class... Os> struct TakenTypes<K, TypeList<>, TypeList<Os...>> {
  using type = TypeList<Os...>;
};
template <auto K, class T, class... Ts, class... Os>
struct TakenTypes<K, TypeList<T, Ts...>, TypeList<Os...>> {
  using type = typename TakenTypes<
      K, TypeList<Ts...>,
      std::conditional_t<::ejit::takes(K, ::ejit::dtype_of<T>), TypeList<Os..., T>,
                         TypeList<Os...>>>::type;
};

/// The dtype kinds of ops.def, from the rules in ejit/op_kind.h: the element types their
/// operands take, and whether the result is i1 (bool) or keeps the operand type.
template <auto K> struct KindRule {
  using Types = typename TakenTypes<K, AllTypes>::type;
  static constexpr bool boolResult = ::ejit::returns_bool(K);
};
namespace kinds {
using Float = KindRule<::ejit::UnaryKind::Float>;
using Numeric = KindRule<::ejit::UnaryKind::Numeric>;
using Predicate = KindRule<::ejit::UnaryKind::Predicate>;
using Arith = KindRule<::ejit::BinaryKind::Arith>;
using ArithNoBool = KindRule<::ejit::BinaryKind::ArithNoBool>;
using Div = KindRule<::ejit::BinaryKind::Div>;
using Compare = KindRule<::ejit::BinaryKind::Compare>;
using Logical = KindRule<::ejit::BinaryKind::Logical>;
} // namespace kinds
static_assert(std::is_same_v<kinds::Numeric::Types, NumericTypes> &&
              std::is_same_v<kinds::Div::Types, FloatTypes>);

template <class T> bool isElementType(Type t) {
  if constexpr (std::is_same_v<T, bool>)
    return t.isInteger(1);
  else if constexpr (std::is_same_v<T, int32_t>)
    return t.isInteger(32);
  else if constexpr (std::is_same_v<T, int64_t>)
    return t.isInteger(64);
  else if constexpr (std::is_same_v<T, float>)
    return t.isF32();
  else
    return t.isF64();
}

/// Calls fn(T{}) for the C++ type T of `element` if it is one of `Ts`.
template <class... Ts, class Fn>
OpFoldResult visitElementType(TypeList<Ts...>, Type element, Fn fn) {
  OpFoldResult result;
  (void)((isElementType<Ts>(element) ? (result = fn(Ts{}), true) : false) || ...);
  return result;
}

template <class Kind, class Fn>
OpFoldResult foldUnarySplat(Attribute operand, RankedTensorType resultType, Fn fn) {
  auto x = dyn_cast_if_present<SplatElementsAttr>(operand);
  if (!x)
    return {};
  return visitElementType(
      typename Kind::Types{}, x.getElementType(), [&](auto zero) -> OpFoldResult {
        using T = decltype(zero);
        using R = std::conditional_t<Kind::boolResult, bool, T>;
        if (!isElementType<R>(resultType.getElementType()))
          return {};
        return DenseElementsAttr::get(resultType,
                                      static_cast<R>(fn(x.getSplatValue<T>())));
      });
}

template <class Kind, class Fn>
OpFoldResult foldBinarySplat(Attribute lhs, Attribute rhs,
                             RankedTensorType resultType, Fn fn) {
  auto a = dyn_cast_if_present<SplatElementsAttr>(lhs);
  auto b = dyn_cast_if_present<SplatElementsAttr>(rhs);
  if (!a || !b || a.getElementType() != b.getElementType())
    return {};
  return visitElementType(
      typename Kind::Types{}, a.getElementType(), [&](auto zero) -> OpFoldResult {
        using T = decltype(zero);
        using R = std::conditional_t<Kind::boolResult, bool, T>;
        if (!isElementType<R>(resultType.getElementType()))
          return {};
        return DenseElementsAttr::get(
            resultType,
            static_cast<R>(fn(a.getSplatValue<T>(), b.getSplatValue<T>())));
      });
}

Type boolType(MLIRContext *context) { return IntegerType::get(context, 1); }

/// An elementwise unary op's result: the operand's shape and element type (i1 for the
/// Predicate kind).
FailureOr<RankedTensorType> inferUnary(const Emitter &emit, ValueRange operands,
                                       bool boolResult) {
  if (failed(checkOperands(emit, operands, 1)))
    return failure();
  RankedTensorType x = tensorType(operands[0]);
  return boolResult ? x.clone(boolType(x.getContext())) : x;
}

/// An elementwise binary op's result: the operands' element type (i1 for the Compare
/// and Logical kinds), the broadcast of their shapes.
FailureOr<RankedTensorType> inferBinary(const Emitter &emit, ValueRange operands,
                                        bool boolResult) {
  if (failed(checkOperands(emit, operands, 2)))
    return failure();
  Value lhs = operands[0], rhs = operands[1];
  if (elementOf(lhs) != elementOf(rhs))
    return emit() << "operand element types " << elementOf(lhs) << " and "
                  << elementOf(rhs) << " differ";
  auto shape = broadcastShapes(shapeOf(lhs), shapeOf(rhs));
  if (!shape)
    return emit() << "operand shapes " << str(shapeOf(lhs)) << " and "
                  << str(shapeOf(rhs)) << " do not broadcast";
  return RankedTensorType::get(
      *shape, boolResult ? boolType(lhs.getContext()) : elementOf(lhs));
}

LogicalResult verifyUnary(Operation *op, bool boolResult) {
  Value x = op->getOperand(0), result = op->getResult(0);
  if (shapeOf(result) != shapeOf(x))
    return op->emitOpError() << "result shape " << str(shapeOf(result))
                             << " differs from operand shape " << str(shapeOf(x));
  if (!boolResult)
    return verifySameElementType(op, result, x);
  return success();
}

LogicalResult verifyBinary(Operation *op, bool boolResult) {
  Value lhs = op->getOperand(0), rhs = op->getOperand(1),
        result = op->getResult(0);
  auto inferred = inferBinary(op, op->getOperands(), boolResult);
  if (failed(inferred))
    return failure();
  ArrayRef<int64_t> shape = inferred->getShape();
  if (shapeOf(result) != shape)
    return op->emitOpError() << "result shape " << str(shapeOf(result))
                             << " is not the broadcast " << str(shape)
                             << " of operand shapes " << str(shapeOf(lhs))
                             << " and " << str(shapeOf(rhs));
  if (!boolResult)
    return verifySameElementType(op, result, lhs);
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Elementwise ops: one verifier and one folder per op table row.
//===----------------------------------------------------------------------===//

// The GCC warning about `*` on bools (mul's row is "and" on i1, as intended).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wint-in-bool-context"
#pragma GCC diagnostic ignored "-Wbool-operation"

#define EJIT_UNARY_OP(Name, name, Kind, expr, ...)                                  \
  LogicalResult Name##Op::verify() {                                           \
    return verifyUnary(*this, kinds::Kind::boolResult);                        \
  }                                                                            \
  LogicalResult Name##Op::inferReturnTypes(                                    \
      MLIRContext *, std::optional<Location> location, ValueRange operands,    \
      DictionaryAttr, OpaqueProperties, RegionRange,                           \
      SmallVectorImpl<Type> &inferred) {                                       \
    return setInferred(inferUnary(Emitter(location, getOperationName()),       \
                                  operands, kinds::Kind::boolResult),          \
                       inferred);                                              \
  }                                                                            \
  OpFoldResult Name##Op::fold(FoldAdaptor adaptor) {                           \
    return foldUnarySplat<kinds::Kind>(adaptor.getX(), getType(), [](auto x) { \
      using namespace ::mlir::ejit::fold_math;                                 \
      using T [[maybe_unused]] = decltype(x);                                  \
      return expr;                                                             \
    });                                                                        \
  }
#define EJIT_BINARY_OP(Name, name, Kind, expr, ...)                                 \
  LogicalResult Name##Op::verify() {                                           \
    return verifyBinary(*this, kinds::Kind::boolResult);                       \
  }                                                                            \
  LogicalResult Name##Op::inferReturnTypes(                                    \
      MLIRContext *, std::optional<Location> location, ValueRange operands,    \
      DictionaryAttr, OpaqueProperties, RegionRange,                           \
      SmallVectorImpl<Type> &inferred) {                                       \
    return setInferred(inferBinary(Emitter(location, getOperationName()),      \
                                   operands, kinds::Kind::boolResult),         \
                       inferred);                                              \
  }                                                                            \
  OpFoldResult Name##Op::fold(FoldAdaptor adaptor) {                           \
    return foldBinarySplat<kinds::Kind>(                                       \
        adaptor.getLhs(), adaptor.getRhs(), getType(), [](auto a, auto b) {    \
          using namespace ::mlir::ejit::fold_math;                             \
          using T [[maybe_unused]] = decltype(a);                              \
          return expr;                                                         \
        });                                                                    \
  }
#include "ejit/ops.def"

#pragma GCC diagnostic pop

//===----------------------------------------------------------------------===//
// cast, where, constant
//===----------------------------------------------------------------------===//

LogicalResult CastOp::verify() {
  if (getType().getShape() != getX().getType().getShape())
    return emitOpError() << "result shape " << str(getType().getShape())
                         << " differs from operand shape "
                         << str(getX().getType().getShape());
  return success();
}

OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getX().getType() == getType())
    return getX();
  return {};
}

namespace {
/// where's result: the broadcast of the three shapes, the values' element type.
FailureOr<RankedTensorType> inferWhere(const Emitter &emit, ValueRange operands) {
  if (failed(checkOperands(emit, operands, 3)))
    return failure();
  Value cond = operands[0], a = operands[1], b = operands[2];
  if (elementOf(a) != elementOf(b))
    return emit() << "value element types " << elementOf(a) << " and "
                  << elementOf(b) << " differ";
  auto ab = broadcastShapes(shapeOf(a), shapeOf(b));
  auto shape = ab ? broadcastShapes(shapeOf(cond), *ab) : std::nullopt;
  if (!shape)
    return emit() << "shapes " << str(shapeOf(cond)) << ", " << str(shapeOf(a))
                  << " and " << str(shapeOf(b)) << " do not broadcast";
  return RankedTensorType::get(*shape, elementOf(a));
}
} // namespace

LogicalResult WhereOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> location,
                                        ValueRange operands, DictionaryAttr,
                                        OpaqueProperties, RegionRange,
                                        SmallVectorImpl<Type> &inferred) {
  return setInferred(
      inferWhere(Emitter(location, getOperationName()), operands), inferred);
}

LogicalResult WhereOp::verify() {
  Value cond = getCondition(), a = getTrueValue(), b = getFalseValue();
  auto inferred = inferWhere(getOperation(), (*this)->getOperands());
  if (failed(inferred))
    return failure();
  ArrayRef<int64_t> shape = inferred->getShape();
  if (getType().getShape() != shape)
    return emitOpError() << "result shape " << str(getType().getShape())
                         << " is not the broadcast " << str(shape)
                         << " of shapes " << str(shapeOf(cond)) << ", "
                         << str(shapeOf(a)) << " and " << str(shapeOf(b));
  return verifySameElementType(*this, getResult(), a);
}

OpFoldResult WhereOp::fold(FoldAdaptor adaptor) {
  auto cond = dyn_cast_if_present<SplatElementsAttr>(adaptor.getCondition());
  if (!cond)
    return {};
  Value picked = cond.getSplatValue<bool>() ? getTrueValue() : getFalseValue();
  if (picked.getType() == getType())
    return picked;
  return {};
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

namespace {

/// The result element type of a reduction follows its kind in the op table (ops.def):
/// Accumulate (sum, prod: i1/i32/i64 give i64, floats keep their type), Keep (max, min: the
/// operand's type; reducing an empty dim is an error), Index (argmax, argmin: i64, one
/// axis; reducing an empty dim is an error).
using ::ejit::ReduceKind;

/// The reduction rules shared by all six ops: axes valid (non-negative, sorted,
/// unique, not empty), result shape from axes and keepdims, element type by `kind`.
FailureOr<RankedTensorType> inferReduction(const Emitter &emit, ValueRange operands,
                                           Attribute axesAttr, Attribute keepdimsAttr,
                                           ReduceKind kind) {
  if (failed(checkOperands(emit, operands, 1)))
    return failure();
  auto axesOr = required<DenseI64ArrayAttr>(emit, axesAttr, "axes");
  if (failed(axesOr))
    return failure();
  auto keepdimsOr = required<BoolAttr>(emit, keepdimsAttr, "keepdims");
  if (failed(keepdimsOr))
    return failure();
  ArrayRef<int64_t> axes = axesOr->asArrayRef();
  bool keepdims = keepdimsOr->getValue();
  Value x = operands[0];
  ArrayRef<int64_t> shape = shapeOf(x);
  bool nonEmpty = kind != ReduceKind::Accumulate;
  if (kind == ReduceKind::Index && axes.size() != 1)
    return emit() << "takes exactly one axis, got " << list(axes);
  if (axes.empty())
    return emit() << "needs at least one axis";
  for (auto [i, axis] : llvm::enumerate(axes)) {
    if (failed(verifyAxis(emit, axis, shape)))
      return failure();
    if (i > 0 && axis <= axes[i - 1])
      return emit() << "axes " << list(axes) << " must be sorted and unique";
    if (nonEmpty && shape[axis] == 0)
      return emit() << "cannot reduce the empty dim " << axis << " of shape "
                    << str(shape);
  }
  SmallVector<int64_t> expected;
  for (auto [d, n] : llvm::enumerate(shape)) {
    if (!llvm::is_contained(axes, static_cast<int64_t>(d)))
      expected.push_back(n);
    else if (keepdims)
      expected.push_back(1);
  }
  Type element = elementOf(x);
  if (kind == ReduceKind::Index ||
      (kind == ReduceKind::Accumulate && isa<IntegerType>(element)))
    element = IntegerType::get(x.getContext(), 64);
  return RankedTensorType::get(expected, element);
}

template <class OpT>
LogicalResult verifyReduction(OpT op, ReduceKind kind) {
  Value result = op.getResult();
  auto inferred = inferReduction(op.getOperation(), op->getOperands(),
                                 op.getAxesAttr(), op.getKeepdimsAttr(), kind);
  if (failed(inferred))
    return failure();
  if (failed(verifyResultShape(op, result, inferred->getShape())))
    return failure();
  if (elementOf(result) != inferred->getElementType())
    return op.emitOpError() << "result element type " << elementOf(result)
                            << " should be " << inferred->getElementType();
  return success();
}

template <class OpT>
LogicalResult inferReductionTypes(std::optional<Location> location,
                                  ValueRange operands, DictionaryAttr attributes,
                                  OpaqueProperties properties, RegionRange regions,
                                  SmallVectorImpl<Type> &inferred,
                                  ReduceKind kind) {
  typename OpT::Adaptor adaptor(operands, attributes, properties, regions);
  return setInferred(
      inferReduction(Emitter(location, OpT::getOperationName()), operands,
                     property(adaptor.getProperties().axes, attributes, "axes"),
                     property(adaptor.getProperties().keepdims, attributes,
                              "keepdims"),
                     kind),
      inferred);
}

} // namespace

#define EJIT_REDUCTION(Op, kind)                                               \
  LogicalResult Op::verify() { return verifyReduction(*this, kind); }          \
  LogicalResult Op::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> location, ValueRange operands,    \
      DictionaryAttr attributes, OpaqueProperties properties,                  \
      RegionRange regions, SmallVectorImpl<Type> &inferred) {                  \
    return inferReductionTypes<Op>(location, operands, attributes, properties, \
                                   regions, inferred, kind);                   \
  }
#define EJIT_REDUCE_OP(Name, name, Kind) EJIT_REDUCTION(Name##Op, ReduceKind::Kind)
#include "ejit/ops.def"
#undef EJIT_REDUCTION

//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

namespace {
/// matmul's result: (batch..., m, n), the batch dims broadcast; the operands' type.
FailureOr<RankedTensorType> inferMatmul(const Emitter &emit, ValueRange operands) {
  if (failed(checkOperands(emit, operands, 2)))
    return failure();
  Value lhs = operands[0], rhs = operands[1];
  ArrayRef<int64_t> a = shapeOf(lhs), b = shapeOf(rhs);
  if (a.size() < 2 || b.size() < 2)
    return emit() << "operands of shapes " << str(a) << " and " << str(b)
                  << " must have rank 2 or more";
  if (elementOf(lhs) != elementOf(rhs))
    return emit() << "operand element types " << elementOf(lhs) << " and "
                  << elementOf(rhs) << " differ";
  if (a.back() != b[b.size() - 2])
    return emit() << "cannot multiply " << str(a) << " by " << str(b)
                  << ": inner dims " << a.back() << " and " << b[b.size() - 2]
                  << " differ";
  auto batch = broadcastShapes(a.drop_back(2), b.drop_back(2));
  if (!batch)
    return emit() << "batch dims of " << str(a) << " and " << str(b)
                  << " do not broadcast";
  SmallVector<int64_t> expected = *batch;
  expected.push_back(a[a.size() - 2]);
  expected.push_back(b.back());
  return RankedTensorType::get(expected, elementOf(lhs));
}
} // namespace

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> location,
                                         ValueRange operands, DictionaryAttr,
                                         OpaqueProperties, RegionRange,
                                         SmallVectorImpl<Type> &inferred) {
  return setInferred(
      inferMatmul(Emitter(location, getOperationName()), operands), inferred);
}

LogicalResult MatmulOp::verify() {
  return verifyInferred(
      *this, inferMatmul(getOperation(), (*this)->getOperands()),
      getResult(), getLhs());
}

//===----------------------------------------------------------------------===//
// Shape ops
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  RankedTensorType in = getX().getType(), out = getType();
  if (!in.hasStaticShape() || !out.hasStaticShape()) {
    // Dynamic dims (jit()'s): both sides need some, as a side of static dims alone has a
    // fixed element count; their sizes are checked where the trace is generalized.
    auto split = [](ArrayRef<int64_t> shape, int64_t &dynamic) {
      SmallVector<int64_t> statics;
      for (int64_t d : shape)
        ShapedType::isDynamic(d) ? ++dynamic : (statics.push_back(d), 0);
      return numElements(statics);
    };
    int64_t inDynamic = 0, outDynamic = 0;
    std::optional<int64_t> inCount = split(in.getShape(), inDynamic),
                           outCount = split(out.getShape(), outDynamic);
    if (inDynamic == 0 || outDynamic == 0 || !inCount || !outCount)
      return emitOpError() << "cannot reshape " << in << " to " << out;
    return verifySameElementType(*this, getResult(), getX());
  }
  // getNumElements() would wrap: (4611686018427387905, 4) would pass for (4,).
  std::optional<int64_t> inCount = numElements(in.getShape()),
                         outCount = numElements(out.getShape());
  if (!inCount || !outCount)
    return emitOpError() << "the element count of "
                         << str((inCount ? out : in).getShape())
                         << " overflows int64";
  if (*inCount != *outCount)
    return emitOpError() << "cannot reshape " << str(in.getShape()) << " ("
                         << *inCount << " elements) to " << str(out.getShape())
                         << " (" << *outCount << " elements)";
  return verifySameElementType(*this, getResult(), getX());
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getX().getType() == getType())
    return getX();
  // reshape(reshape(x)) is one reshape of x.
  if (auto inner = getX().getDefiningOp<ReshapeOp>()) {
    if (inner.getX().getType() == getType())
      return inner.getX();
    getXMutable().assign(inner.getX());
    return getResult();
  }
  if (auto dense = dyn_cast_if_present<DenseElementsAttr>(adaptor.getX()))
    return dense.reshape(getType());
  return {};
}

namespace {
/// permute's result: dim i is the operand's dim perm[i].
FailureOr<RankedTensorType> inferPermute(const Emitter &emit, ValueRange operands,
                                         Attribute permAttr) {
  if (failed(checkOperands(emit, operands, 1)))
    return failure();
  auto permOr = required<DenseI64ArrayAttr>(emit, permAttr, "perm");
  if (failed(permOr))
    return failure();
  ArrayRef<int64_t> in = shapeOf(operands[0]), perm = permOr->asArrayRef();
  if (perm.size() != in.size())
    return emit() << "perm " << list(perm) << " has " << perm.size()
                  << " entries for shape " << str(in);
  SmallVector<bool> seen(in.size(), false);
  SmallVector<int64_t> expected;
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(in.size()) || seen[p])
      return emit() << "perm " << list(perm) << " is not a permutation of 0.."
                    << in.size() - 1;
    seen[p] = true;
    expected.push_back(in[p]);
  }
  return RankedTensorType::get(expected, elementOf(operands[0]));
}
} // namespace

LogicalResult PermuteOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> location, ValueRange operands,
    DictionaryAttr attributes, OpaqueProperties properties, RegionRange regions,
    SmallVectorImpl<Type> &inferred) {
  Adaptor adaptor(operands, attributes, properties, regions);
  return setInferred(
      inferPermute(Emitter(location, getOperationName()), operands,
                   property(adaptor.getProperties().perm, attributes, "perm")),
      inferred);
}

LogicalResult PermuteOp::verify() {
  return verifyInferred(
      *this, inferPermute(getOperation(), (*this)->getOperands(), getPermAttr()),
      getResult(), getX());
}

OpFoldResult PermuteOp::fold(FoldAdaptor adaptor) {
  ArrayRef<int64_t> perm = getPerm();
  auto isIdentity = [](ArrayRef<int64_t> p) {
    for (auto [i, v] : llvm::enumerate(p))
      if (v != static_cast<int64_t>(i))
        return false;
    return true;
  };
  if (isIdentity(perm))
    return getX();
  // permute(permute(x, inner), perm) is permute(x, inner[perm[i]]).
  if (auto inner = getX().getDefiningOp<PermuteOp>()) {
    SmallVector<int64_t> composed;
    for (int64_t p : perm)
      composed.push_back(inner.getPerm()[p]);
    if (isIdentity(composed))
      return inner.getX();
    getXMutable().assign(inner.getX());
    setPerm(composed);
    return getResult();
  }
  if (auto splat = dyn_cast_if_present<SplatElementsAttr>(adaptor.getX());
      splat && getType().hasStaticShape())  // a dynamic type has no element count
    return splat.resizeSplat(getType());
  return {};
}

LogicalResult BroadcastToOp::verify() {
  ArrayRef<int64_t> in = getX().getType().getShape(),
                    out = getType().getShape();
  if (!broadcastsTo(in, out))
    return emitOpError() << "cannot broadcast " << str(in) << " to " << str(out);
  return verifySameElementType(*this, getResult(), getX());
}

OpFoldResult BroadcastToOp::fold(FoldAdaptor adaptor) {
  if (getX().getType() == getType())
    return getX();
  // Broadcasting is transitive: broadcast_to(broadcast_to(x)) is one broadcast_to.
  if (auto inner = getX().getDefiningOp<BroadcastToOp>()) {
    getXMutable().assign(inner.getX());
    return getResult();
  }
  if (auto splat = dyn_cast_if_present<SplatElementsAttr>(adaptor.getX());
      splat && getType().hasStaticShape())  // a dynamic type has no element count
    return splat.resizeSplat(getType());
  return {};
}

LogicalResult SliceOp::verify() {
  ArrayRef<int64_t> in = getX().getType().getShape(),
                    out = getType().getShape();
  int64_t axis = getAxisAttr().getInt(), start = getStartAttr().getInt(),
          step = getStepAttr().getInt();
  if (failed(verifyAxis(getOperation(), axis, in)))
    return failure();
  if (step == 0)
    return emitOpError() << "step must not be 0";
  if (out.size() != in.size())
    return emitOpError() << "result shape " << str(out)
                         << " should have the rank of operand shape " << str(in);
  for (size_t d = 0; d < in.size(); ++d)
    if (static_cast<int64_t>(d) != axis && out[d] != in[d])
      return emitOpError() << "result shape " << str(out) << " differs from "
                           << str(in) << " outside axis " << axis;
  int64_t n = in[axis], count = out[axis];
  // Dynamic dims (jit()'s): the bounds hold for the sizes the trace serves (generalize).
  if (count > 0 && !ShapedType::isDynamic(n)) {
    int64_t last;
    if (start < 0 || start >= n || llvm::MulOverflow(count - 1, step, last) ||
        llvm::AddOverflow(start, last, last) || last < 0 || last >= n)
      return emitOpError() << count << " elements from " << start << " by step "
                           << step << " leave [0, " << n << ") on dim " << axis
                           << " of shape " << str(in);
  }
  return verifySameElementType(*this, getResult(), getX());
}

OpFoldResult SliceOp::fold(FoldAdaptor) {
  // A dynamic axis dim may be shorter than the operand's (x[:-1] of ? rows is ? rows).
  const int64_t axis = getAxisAttr().getInt();
  if (getX().getType() == getType() && !getType().isDynamicDim(axis) && getStartAttr().getInt() == 0 &&
      getStepAttr().getInt() == 1)
    return getX();
  return {};
}

namespace {
/// concat's result: operand 0's shape with dim `axis` the sum of the operands'.
FailureOr<RankedTensorType> inferConcat(const Emitter &emit, ValueRange inputs,
                                        Attribute axisAttr) {
  if (inputs.empty())
    return emit() << "needs at least one operand";
  if (failed(checkOperands(emit, inputs, 1, /*variadic=*/true)))
    return failure();
  auto axisOr = required<IntegerAttr>(emit, axisAttr, "axis");
  if (failed(axisOr))
    return failure();
  ArrayRef<int64_t> first = shapeOf(inputs[0]);
  int64_t axis = axisOr->getInt();
  if (failed(verifyAxis(emit, axis, first)))
    return failure();
  SmallVector<int64_t> expected(first);
  expected[axis] = 0;
  for (auto [i, input] : llvm::enumerate(inputs)) {
    ArrayRef<int64_t> shape = shapeOf(input);
    if (elementOf(input) != elementOf(inputs[0]))
      return emit() << "operand " << i << " has element type " << elementOf(input)
                    << ", operand 0 has " << elementOf(inputs[0]);
    bool compatible = shape.size() == first.size();
    for (size_t d = 0; compatible && d < shape.size(); ++d)
      compatible = static_cast<int64_t>(d) == axis || shape[d] == first[d];
    if (!compatible)
      return emit() << "operand " << i << " of shape " << str(shape)
                    << " does not match operand 0 of shape " << str(first)
                    << " outside axis " << axis;
    if (ShapedType::isDynamic(shape[axis]) || ShapedType::isDynamic(expected[axis]))
      expected[axis] = ShapedType::kDynamic;
    else if (llvm::AddOverflow(expected[axis], shape[axis], expected[axis]))
      return emit() << "the sizes along axis " << axis << " overflow int64";
  }
  return RankedTensorType::get(expected, elementOf(inputs[0]));
}
} // namespace

LogicalResult ConcatOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> location, ValueRange operands,
    DictionaryAttr attributes, OpaqueProperties properties, RegionRange regions,
    SmallVectorImpl<Type> &inferred) {
  Adaptor adaptor(operands, attributes, properties, regions);
  return setInferred(
      inferConcat(Emitter(location, getOperationName()), operands,
           property(adaptor.getProperties().axis, attributes, "axis")),
      inferred);
}

LogicalResult HostCallOp::verify() {
  if (getIndexAttr().getInt() < 0) return emitOpError("index ") << getIndexAttr().getInt() << " is negative";
  if (getCallee().empty()) return emitOpError("has an empty callee name");
  return success();
}

LogicalResult ConcatOp::verify() {
  auto inferred = inferConcat(getOperation(), getInputs(), getAxisAttr());
  if (failed(inferred)) // before getInputs()[0]: there may be no operand
    return failure();
  return verifyInferred(*this, inferred, getResult(), getInputs()[0]);
}

OpFoldResult ConcatOp::fold(FoldAdaptor) {
  if (getInputs().size() == 1 && getInputs()[0].getType() == getType())
    return getInputs()[0];
  return {};
}

namespace {
/// pad's result: dim d grows by low[d] + high[d].
FailureOr<RankedTensorType> inferPad(const Emitter &emit, ValueRange operands,
                                     Attribute lowAttr, Attribute highAttr) {
  if (failed(checkOperands(emit, operands, 1)))
    return failure();
  auto lowOr = required<DenseI64ArrayAttr>(emit, lowAttr, "low");
  if (failed(lowOr))
    return failure();
  auto highOr = required<DenseI64ArrayAttr>(emit, highAttr, "high");
  if (failed(highOr))
    return failure();
  ArrayRef<int64_t> in = shapeOf(operands[0]), low = lowOr->asArrayRef(),
                    high = highOr->asArrayRef();
  if (low.size() != in.size() || high.size() != in.size())
    return emit() << "low " << list(low) << " and high " << list(high)
                  << " need one width per dim of shape " << str(in);
  SmallVector<int64_t> expected;
  for (size_t d = 0; d < in.size(); ++d) {
    if (low[d] < 0 || high[d] < 0)
      return emit() << "negative width (" << low[d] << ", " << high[d]
                    << ") for dim " << d << " of shape " << str(in);
    int64_t size = ShapedType::kDynamic;
    if (ShapedType::isDynamic(in[d])) {
      expected.push_back(size);
      continue;
    }
    if (llvm::AddOverflow(in[d], low[d], size) ||
        llvm::AddOverflow(size, high[d], size))
      return emit() << "padding dim " << d << " of shape " << str(in)
                    << " overflows int64";
    expected.push_back(size);
  }
  return RankedTensorType::get(expected, elementOf(operands[0]));
}
} // namespace

LogicalResult PadOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> location, ValueRange operands,
    DictionaryAttr attributes, OpaqueProperties properties, RegionRange regions,
    SmallVectorImpl<Type> &inferred) {
  Adaptor adaptor(operands, attributes, properties, regions);
  return setInferred(
      inferPad(Emitter(location, getOperationName()), operands,
           property(adaptor.getProperties().low, attributes, "low"),
           property(adaptor.getProperties().high, attributes, "high")),
      inferred);
}

LogicalResult PadOp::verify() {
  return verifyInferred(
      *this, inferPad(getOperation(), (*this)->getOperands(), getLowAttr(), getHighAttr()),
      getResult(), getX());
}

OpFoldResult PadOp::fold(FoldAdaptor) {
  auto isZero = [](int64_t w) { return w == 0; };
  if (llvm::all_of(getLow(), isZero) && llvm::all_of(getHigh(), isZero) &&
      getX().getType() == getType())
    return getX();
  return {};
}

//===----------------------------------------------------------------------===//
// Indexing ops
//===----------------------------------------------------------------------===//

namespace {
/// take's result: x.shape[:axis] + indices.shape + x.shape[axis+1:].
FailureOr<RankedTensorType> inferTake(const Emitter &emit, ValueRange operands,
                                      Attribute axisAttr) {
  if (failed(checkOperands(emit, operands, 2)))
    return failure();
  auto axisOr = required<IntegerAttr>(emit, axisAttr, "axis");
  if (failed(axisOr))
    return failure();
  ArrayRef<int64_t> x = shapeOf(operands[0]), idx = shapeOf(operands[1]);
  if (x.empty())
    return emit() << "cannot take from a rank-0 tensor";
  int64_t axis = axisOr->getInt();
  if (failed(verifyAxis(emit, axis, x)))
    return failure();
  SmallVector<int64_t> expected(x.take_front(axis));
  llvm::append_range(expected, idx);
  llvm::append_range(expected, x.drop_front(axis + 1));
  return RankedTensorType::get(expected, elementOf(operands[0]));
}
} // namespace

/// inferReturnTypes and verify of an indexing op: its rule `infer` (emitter, operands, axis
/// attribute) gives its result type, and the result must be that type.
#define EJIT_INDEXING_OP_TYPES(Op, infer)                                        \
  LogicalResult Op::inferReturnTypes(                                            \
      MLIRContext *, std::optional<Location> location, ValueRange operands,      \
      DictionaryAttr attributes, OpaqueProperties properties,                    \
      RegionRange regions, SmallVectorImpl<Type> &inferred) {                    \
    Adaptor adaptor(operands, attributes, properties, regions);                  \
    return setInferred(                                                          \
        infer(Emitter(location, getOperationName()), operands,                   \
              property(adaptor.getProperties().axis, attributes, "axis")),       \
        inferred);                                                               \
  }                                                                              \
  LogicalResult Op::verify() {                                                   \
    return verifyInferred(                                                       \
        *this, infer(getOperation(), (*this)->getOperands(), getAxisAttr()),     \
        getResult(), getX());                                                    \
  }

EJIT_INDEXING_OP_TYPES(TakeOp, inferTake)

namespace {
/// gather's result: dim `axis` from indices, the other dims x and indices broadcast.
FailureOr<RankedTensorType> inferGather(const Emitter &emit, ValueRange operands,
                                        Attribute axisAttr) {
  if (failed(checkOperands(emit, operands, 2)))
    return failure();
  auto axisOr = required<IntegerAttr>(emit, axisAttr, "axis");
  if (failed(axisOr))
    return failure();
  ArrayRef<int64_t> x = shapeOf(operands[0]), idx = shapeOf(operands[1]);
  if (idx.size() != x.size())
    return emit() << "indices of shape " << str(idx) << " must have the rank of x "
                  << str(x);
  if (x.empty())
    return emit() << "cannot gather from a rank-0 tensor";
  int64_t axis = axisOr->getInt();
  if (failed(verifyAxis(emit, axis, x)))
    return failure();
  SmallVector<int64_t> expected;
  for (size_t d = 0; d < x.size(); ++d) {
    if (static_cast<int64_t>(d) == axis) {
      expected.push_back(idx[d]);
      continue;
    }
    if (x[d] != idx[d] && x[d] != 1 && idx[d] != 1)
      return emit() << "x " << str(x) << " and indices " << str(idx)
                    << " do not broadcast on dim " << d;
    expected.push_back(x[d] == 1 ? idx[d] : x[d]);
  }
  return RankedTensorType::get(expected, elementOf(operands[0]));
}
} // namespace

EJIT_INDEXING_OP_TYPES(GatherOp, inferGather)

namespace {
/// index_add's result: x's type, once updates has take's result shape and x's element
/// type (and x is not bool).
FailureOr<RankedTensorType> inferIndexAdd(const Emitter &emit, ValueRange operands,
                                          Attribute axisAttr) {
  if (failed(checkOperands(emit, operands, 3)))
    return failure();
  if (shapeOf(operands[0]).empty())
    return emit() << "cannot add into a rank-0 tensor";
  FailureOr<RankedTensorType> taken = inferTake(emit, operands.take_front(2), axisAttr);
  if (failed(taken))
    return failure();
  if (elementOf(operands[0]).isInteger(1))
    return emit() << "is not defined for i1 (bool) tensors";
  ArrayRef<int64_t> u = shapeOf(operands[2]);
  if (u != taken->getShape() || elementOf(operands[2]) != elementOf(operands[0]))
    return emit() << "updates of shape " << str(u) << " must have take's result shape "
                  << str(taken->getShape()) << " and x's element type";
  return RankedTensorType::get(shapeOf(operands[0]), elementOf(operands[0]));
}
} // namespace

EJIT_INDEXING_OP_TYPES(IndexAddOp, inferIndexAdd)

namespace {
/// scatter_add's result: x's type, once updates has gather's result type (and x is not
/// bool).
FailureOr<RankedTensorType> inferScatterAdd(const Emitter &emit, ValueRange operands,
                                            Attribute axisAttr) {
  if (failed(checkOperands(emit, operands, 3)))
    return failure();
  if (shapeOf(operands[0]).empty())
    return emit() << "cannot add into a rank-0 tensor";
  FailureOr<RankedTensorType> gathered = inferGather(emit, operands.take_front(2), axisAttr);
  if (failed(gathered))
    return failure();
  if (elementOf(operands[0]).isInteger(1))
    return emit() << "is not defined for i1 (bool) tensors";
  if (operands[2].getType() != Type(*gathered))
    return emit() << "updates of type " << operands[2].getType()
                  << " must have gather's result type " << Type(*gathered);
  return RankedTensorType::get(shapeOf(operands[0]), elementOf(operands[0]));
}
} // namespace

EJIT_INDEXING_OP_TYPES(ScatterAddOp, inferScatterAdd)
#undef EJIT_INDEXING_OP_TYPES
