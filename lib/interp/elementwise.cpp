// Elementwise ops of the table (unary, binary), where and cast: dtype rules, broadcasting, kernels.
#include "dispatch.h"

namespace ejit {
namespace detail {
namespace {

int64_t unary_grain(UnaryOp op) {
  return kind(op) == UnaryKind::Float ? kElementwiseGrain / 4 : kElementwiseGrain;
}

/// Runs a binary kernel on already-converted operands into `out` (`same_shape`: a and b
/// have one shape, out's).
[[gnu::noinline]] void run_binary(BinaryKernel kern, const Tensor& a, const Tensor& b, Tensor& out, int64_t grain, bool same_shape) {
  if (out.numel() == 0) return;
  const size_t ia = itemsize(a.dtype()), io = itemsize(out.dtype());
  const char* pa = static_cast<const char*>(a.raw_data());
  const char* pb = static_cast<const char*>(b.raw_data());
  char* po = static_cast<char*>(out.raw_data());
  if (same_shape || a.numel() == 1 || b.numel() == 1) {  // flat: no index arithmetic
    const int64_t sa = !same_shape && a.numel() == 1 ? 0 : 1, sb = !same_shape && b.numel() == 1 ? 0 : 1;
    parallel_for(out.numel(), grain, [&](int64_t lo, int64_t hi) {
      kern(pa + lo * sa * ia, sa, pb + lo * sb * ia, sb, po + lo * io, hi - lo);
    });
    return;
  }
  LoopPlan plan = make_plan(out.shape(), {a.shape(), b.shape()});
  char* base[3] = {po, const_cast<char*>(pa), const_cast<char*>(pb)};
  size_t isz[3] = {io, ia, ia};
  run_plan(plan, base, isz, grain, [&](char** p, const int64_t* s, int64_t n) { kern(p[1], s[1], p[2], s[2], p[0], n); });
}

/// f32 sin and cos read their input again after writing (libm for huge arguments).
bool rereads_input(UnaryOp op) { return op == UnaryOp::Sin || op == UnaryOp::Cos; }

/// The result of an elementwise op: over the memory of the first candidate it may
/// overwrite (can_overwrite), else fresh. A candidate is a handle the op owns: an
/// argument the caller gave up, or the op's own conversion of one.
Tensor elementwise_output(const Shape& shape, DType dtype, const Tensor* first, const Tensor* second = nullptr) {
  if (first || second) {
    const int64_t n = shape.numel();
    for (const Tensor* t : {first, second})
      if (t && can_overwrite(*t, n, dtype)) return on_storage_of(*t, shape, dtype);
  }
  return Tensor::empty(shape, dtype);
}

Tensor unary_op(UnaryOp op, const Tensor& x, bool given) {
  const char* opname = name(op).data();
  OpScope prof(opname, x);
  check_defined(opname, x);
  DType in = x.dtype();
  switch (kind(op)) {
    case UnaryKind::Float: if (!is_floating(in)) in = kDefaultFloat; break;
    case UnaryKind::Numeric:
      if (in == DType::Bool) fail(opname, "not defined for dtype bool (shape {})", x.shape());
      break;
    case UnaryKind::Predicate: break;
  }
  Tensor converted;
  const Tensor& src = to_dtype(x, in, converted);
  DType out_dtype = returns_bool(kind(op)) ? DType::Bool : in;
  if (Device d = op_device(opname, {&src}); d.is_cuda())
    return run_on_device(opname, {NodeKind::Unary, static_cast<uint8_t>(op), {src}, {}, false, 0, x.shape(), out_dtype}, d);
  UnaryKernel kern = kernels().unary[static_cast<int>(op)][static_cast<int>(in)];
  const bool own = (given || converted.defined()) && !rereads_input(op);
  Tensor out = elementwise_output(x.shape(), out_dtype, own ? &src : nullptr);
  const char* ps = static_cast<const char*>(src.raw_data());
  char* po = static_cast<char*>(out.raw_data());
  const size_t is = itemsize(in), io = itemsize(out_dtype);
  parallel_for(out.numel(), unary_grain(op), [&](int64_t lo, int64_t hi) { kern(ps + lo * is, po + lo * io, hi - lo); });
  record_op(NodeKind::Unary, {src}, out, static_cast<uint8_t>(op));
  return out;
}

/// binary_op's second half, for operands converted to `compute` and the result's shape.
Tensor binary_in(BinaryOp op, const Tensor& a, const Tensor& b, bool a_given, bool b_given, DType compute,
                 const Shape& out_shape, bool same_shape, Device device) {
  const char* opname = name(op).data();
  const DType out_dtype = returns_bool(kind(op)) ? DType::Bool : compute;
  BinaryKernel kern = kernels().binary[static_cast<int>(op)][static_cast<int>(compute)];
  Tensor converted_a, converted_b;
  const Tensor& ca = to_dtype(a, compute, converted_a);
  const Tensor& cb = to_dtype(b, compute, converted_b);
  if (device.is_cuda())
    return run_on_device(opname, {NodeKind::Binary, static_cast<uint8_t>(op), {ca, cb}, {}, false, 0, out_shape, out_dtype},
                         device);
  Tensor out = elementwise_output(out_shape, out_dtype, a_given || converted_a.defined() ? &ca : nullptr,
                                  b_given || converted_b.defined() ? &cb : nullptr);
  run_binary(kern, ca, cb, out, kElementwiseGrain, same_shape);
  record_op(NodeKind::Binary, {ca, cb}, out, static_cast<uint8_t>(op));
  return out;
}

Tensor binary_op(BinaryOp op, const Tensor& a, const Tensor& b, bool a_given, bool b_given) {
  const char* opname = name(op).data();
  OpScope prof(opname, a, b);
  check_defined(opname, a);
  check_defined(opname, b);
  const Device device = op_device(opname, {&a, &b});
  DType compute = result_type(a, b);
  switch (kind(op)) {
    case BinaryKind::Arith: break;
    case BinaryKind::ArithNoBool:
      if (compute == DType::Bool)
        fail(opname, "not defined for dtype bool (shapes {} and {})", a.shape(), b.shape());
      break;
    case BinaryKind::Div: if (!is_floating(compute)) compute = kDefaultFloat; break;
    case BinaryKind::Compare: break;
    case BinaryKind::Logical: compute = DType::Bool; break;
  }
  // Operands of one shape (the common eager case) take no broadcast and no copies (and
  // no Shape on the stack: zeroing one cost 7 ns of a 62 ns op).
  if (a.shape() == b.shape()) return binary_in(op, a, b, a_given, b_given, compute, a.shape(), true, device);
  const Shape out_shape = broadcast_shapes(opname, a.shape(), b.shape());
  return binary_in(op, a, b, a_given, b_given, compute, out_shape, false, device);
}

/// A C++ number beside tensor `t` in op: made in t's dtype where the op computes in it
/// (logical ops compute in bool, converted from the number itself).
Tensor number(BinaryOp op, Scalar s, const Tensor& t) {
  return kind(op) == BinaryKind::Logical ? scalar_operand(s) : scalar_operand(s, t);
}

}  // namespace
}  // namespace detail

using namespace detail;

// An rvalue argument is given up: the op may write its result over that memory, and the
// caller's handle is undefined afterwards (when the op succeeds) whether or not it did.
namespace {
/// `out`, once the op that made it succeeded: the given-up handle is released.
Tensor releasing(Tensor out, Tensor& given) {
  given = Tensor();
  return out;
}
}  // namespace
Tensor unary(UnaryOp op, const Tensor& x) { return unary_op(op, x, false); }
Tensor unary(UnaryOp op, Tensor&& x) { return releasing(unary_op(op, x, true), x); }
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) { return binary_op(op, a, b, false, false); }
Tensor binary(BinaryOp op, Tensor&& a, const Tensor& b) { return releasing(binary_op(op, a, b, true, false), a); }
Tensor binary(BinaryOp op, const Tensor& a, Tensor&& b) { return releasing(binary_op(op, a, b, false, true), b); }
Tensor binary(BinaryOp op, Tensor&& a, Tensor&& b) {
  return releasing(releasing(binary_op(op, a, b, true, true), a), b);
}

#define EJIT_UNARY_OP(Name, name, Kind, expr, ...) \
  Tensor name(Tensor x) { return unary(UnaryOp::Name, std::move(x)); }
#define EJIT_BINARY_OP(Name, name, Kind, expr, ...)                                                                  \
  Tensor name(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Name, a, b); }                             \
  Tensor name(Tensor&& a, const Tensor& b) { return binary(BinaryOp::Name, std::move(a), b); }                       \
  Tensor name(const Tensor& a, Tensor&& b) { return binary(BinaryOp::Name, a, std::move(b)); }                       \
  Tensor name(Tensor&& a, Tensor&& b) { return binary(BinaryOp::Name, std::move(a), std::move(b)); }                 \
  Tensor name(const Tensor& a, Scalar b) { return binary(BinaryOp::Name, a, number(BinaryOp::Name, b, a)); }         \
  Tensor name(Tensor&& a, Scalar b) {                                                                                \
    Tensor n = number(BinaryOp::Name, b, a);                                                                         \
    return binary(BinaryOp::Name, std::move(a), std::move(n));                                                       \
  }                                                                                                                  \
  Tensor name(Scalar a, const Tensor& b) { return binary(BinaryOp::Name, number(BinaryOp::Name, a, b), b); }         \
  Tensor name(Scalar a, Tensor&& b) {                                                                                \
    Tensor n = number(BinaryOp::Name, a, b);                                                                         \
    return binary(BinaryOp::Name, std::move(n), std::move(b));                                                       \
  }
#include "ejit/ops.def"

Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator-(Tensor&& x) { return neg(std::move(x)); }
Tensor operator!(const Tensor& x) { return logical_not(x); }
Tensor operator!(Tensor&& x) { return logical_not(std::move(x)); }

Tensor cast(const Tensor& x, DType dtype) {
  check_defined("cast", x);
  if (x.dtype() == dtype) return x;
  OpScope prof("cast", x);
  if (Device d = op_device("cast", {&x}); d.is_cuda())
    return run_on_device("cast", {NodeKind::Cast, 0, {x}, {}, false, 0, x.shape(), dtype}, d);
  Tensor out = Tensor::empty(x.shape(), dtype);
  UnaryKernel kern = kernels().cast[static_cast<int>(x.dtype())][static_cast<int>(dtype)];
  const char* ps = static_cast<const char*>(x.raw_data());
  char* po = static_cast<char*>(out.raw_data());
  const size_t is = itemsize(x.dtype()), io = itemsize(dtype);
  parallel_for(x.numel(), kElementwiseGrain, [&](int64_t lo, int64_t hi) { kern(ps + lo * is, po + lo * io, hi - lo); });
  record_op(NodeKind::Cast, {x}, out);
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  OpScope prof("where", cond, a, b);
  check_defined("where", cond);
  check_defined("where", a);
  check_defined("where", b);
  DType dt = result_type(a, b);
  Shape out_shape = broadcast_shapes("where", broadcast_shapes("where", cond.shape(), a.shape()), b.shape());
  const Device device = op_device("where", {&cond, &a, &b});
  Tensor c = to_dtype(cond, DType::Bool), ta = to_dtype(a, dt), tb = to_dtype(b, dt);
  if (device.is_cuda()) return run_on_device("where", {NodeKind::Where, 0, {c, ta, tb}, {}, false, 0, out_shape, dt}, device);
  Tensor out = Tensor::empty(out_shape, dt);
  record_op(NodeKind::Where, {c, ta, tb}, out);
  if (out.numel() == 0) return out;
  LoopPlan plan = make_plan(out_shape, {c.shape(), ta.shape(), tb.shape()});
  char* base[4] = {static_cast<char*>(out.raw_data()), static_cast<char*>(c.raw_data()),
                   static_cast<char*>(ta.raw_data()), static_cast<char*>(tb.raw_data())};
  size_t isz[4] = {itemsize(dt), 1, itemsize(dt), itemsize(dt)};
  WhereKernel kern = kernels().where[static_cast<int>(dt)];
  run_plan(plan, base, isz, kElementwiseGrain, [&](char** p, const int64_t* s, int64_t n) {
    kern(reinterpret_cast<const bool*>(p[1]), s[1], p[2], s[2], p[3], s[3], p[0], n);
  });
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, Scalar b) { return where(cond, a, scalar_operand(b, a)); }
Tensor where(const Tensor& cond, Scalar a, const Tensor& b) { return where(cond, scalar_operand(a, b), b); }
Tensor where(const Tensor& cond, Scalar a, Scalar b) { return where(cond, scalar_operand(a), scalar_operand(b)); }

}  // namespace ejit
