// The public ops: elementwise (from ops.def), reductions, matmul, shape ops and composites.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "ejit/op_kind.h"
#include "ejit/scalar.h"
#include "ejit/tensor.h"

namespace ejit {

// ---- elementwise (one declaration per ops.def row) ----
// An rvalue argument (a temporary, or std::move(t)) is given up: the op may write its
// result over that tensor's memory when no other handle or view shares it, so a chain
// such as exp(a * b) + 1 needs one buffer, not three. The handle is undefined afterwards.
// Unary ops take their argument by value (one function each, so that `ejit::tanh` can be
// passed where a function is wanted, as to nn::Dense); binary ops have rvalue overloads.
#define EJIT_UNARY_OP(Name, name, Kind, expr, ...) Tensor name(Tensor x);
#define EJIT_BINARY_OP(Name, name, Kind, expr, ...)                               \
  Tensor name(const Tensor& a, const Tensor& b); Tensor name(Tensor&& a, const Tensor& b); \
  Tensor name(const Tensor& a, Tensor&& b); Tensor name(Tensor&& a, Tensor&& b);       \
  Tensor name(const Tensor& a, Scalar b); Tensor name(Tensor&& a, Scalar b);           \
  Tensor name(Scalar a, const Tensor& b); Tensor name(Scalar a, Tensor&& b);
#include "ejit/ops.def"

/// Runs any table op by its enum (what the dispatcher and tests use).
Tensor unary(UnaryOp op, const Tensor& x);
Tensor unary(UnaryOp op, Tensor&& x);
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor binary(BinaryOp op, Tensor&& a, const Tensor& b);
Tensor binary(BinaryOp op, const Tensor& a, Tensor&& b);
Tensor binary(BinaryOp op, Tensor&& a, Tensor&& b);

/// cond ? a : b elementwise, with broadcasting; cond is read as truth values.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, Scalar b);
Tensor where(const Tensor& cond, Scalar a, const Tensor& b);
/// Two C++ scalars give the default dtype of their category (f32, i64 or bool).
Tensor where(const Tensor& cond, Scalar a, Scalar b);
/// Converts to another dtype (floats to ints truncate toward zero; non-zero is true).
Tensor cast(const Tensor& x, DType dtype);

Tensor operator-(const Tensor& x);
Tensor operator-(Tensor&& x);
Tensor operator!(const Tensor& x);
Tensor operator!(Tensor&& x);
#define EJIT_BINARY_OPERATOR(sym, fn)                                                            \
  inline Tensor operator sym(const Tensor& a, const Tensor& b) { return fn(a, b); }              \
  inline Tensor operator sym(Tensor&& a, const Tensor& b) { return fn(std::move(a), b); }        \
  inline Tensor operator sym(const Tensor& a, Tensor&& b) { return fn(a, std::move(b)); }        \
  inline Tensor operator sym(Tensor&& a, Tensor&& b) { return fn(std::move(a), std::move(b)); }  \
  inline Tensor operator sym(const Tensor& a, Scalar b) { return fn(a, b); }                     \
  inline Tensor operator sym(Tensor&& a, Scalar b) { return fn(std::move(a), b); }               \
  inline Tensor operator sym(Scalar a, const Tensor& b) { return fn(a, b); }                     \
  inline Tensor operator sym(Scalar a, Tensor&& b) { return fn(a, std::move(b)); }
EJIT_BINARY_OPERATOR(+, add)
EJIT_BINARY_OPERATOR(-, sub)
EJIT_BINARY_OPERATOR(*, mul)
EJIT_BINARY_OPERATOR(/, div)
EJIT_BINARY_OPERATOR(%, mod)
EJIT_BINARY_OPERATOR(==, eq)
EJIT_BINARY_OPERATOR(!=, ne)
EJIT_BINARY_OPERATOR(<, lt)
EJIT_BINARY_OPERATOR(<=, le)
EJIT_BINARY_OPERATOR(>, gt)
EJIT_BINARY_OPERATOR(>=, ge)
EJIT_BINARY_OPERATOR(&&, logical_and)
EJIT_BINARY_OPERATOR(||, logical_or)
#undef EJIT_BINARY_OPERATOR
// a op= b computes in place when no other handle or view shares a's memory (and a's dtype
// holds the result); a tensor another handle shares is never changed through it.
inline Tensor& operator+=(Tensor& a, const Tensor& b) { return a = add(std::move(a), b); }
inline Tensor& operator-=(Tensor& a, const Tensor& b) { return a = sub(std::move(a), b); }
inline Tensor& operator*=(Tensor& a, const Tensor& b) { return a = mul(std::move(a), b); }
inline Tensor& operator/=(Tensor& a, const Tensor& b) { return a = div(std::move(a), b); }
inline Tensor& operator+=(Tensor& a, Scalar b) { return a = add(std::move(a), b); }
inline Tensor& operator-=(Tensor& a, Scalar b) { return a = sub(std::move(a), b); }
inline Tensor& operator*=(Tensor& a, Scalar b) { return a = mul(std::move(a), b); }
inline Tensor& operator/=(Tensor& a, Scalar b) { return a = div(std::move(a), b); }

// ---- reductions: `axes` empty means all axes; negative axes count from the end ----
/// Sum; bool and integer inputs sum to i64. Float sums are pairwise (accurate on long rows).
Tensor sum(const Tensor& x, std::vector<int64_t> axes = {}, bool keepdims = false);
/// Mean; integer and bool inputs give f32. The mean of nothing is NaN.
Tensor mean(const Tensor& x, std::vector<int64_t> axes = {}, bool keepdims = false);
/// Product; bool and integer inputs give i64.
Tensor prod(const Tensor& x, std::vector<int64_t> axes = {}, bool keepdims = false);
/// Largest element (NaN wins); an empty reduction is an error.
Tensor max(const Tensor& x, std::vector<int64_t> axes = {}, bool keepdims = false);
Tensor min(const Tensor& x, std::vector<int64_t> axes = {}, bool keepdims = false);
/// Truth-value reductions (bool result).
Tensor all(const Tensor& x, std::vector<int64_t> axes = {}, bool keepdims = false);
Tensor any(const Tensor& x, std::vector<int64_t> axes = {}, bool keepdims = false);
/// Index (i64) of the first largest element along `axis` (NaN counts as largest);
/// without an axis, the index into the flattened tensor.
Tensor argmax(const Tensor& x, std::optional<int64_t> axis = std::nullopt, bool keepdims = false);
Tensor argmin(const Tensor& x, std::optional<int64_t> axis = std::nullopt, bool keepdims = false);
/// Variance, two-pass; divides by N - correction (0: population, 1: sample).
Tensor var(const Tensor& x, std::vector<int64_t> axes = {}, int64_t correction = 0, bool keepdims = false);
/// Standard deviation: sqrt(var).
Tensor stddev(const Tensor& x, std::vector<int64_t> axes = {}, int64_t correction = 0, bool keepdims = false);

// ---- matmul ----
/// Matrix product with NumPy's matmul rules: 1-D operands are promoted to matrices,
/// leading batch dims broadcast. f32/f64 go to an optimized BLAS (see docs/DESIGN-NOTES.md).
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- shape ops ----
/// Same data, new shape (one dim may be -1). Shares storage with x.
Tensor reshape(const Tensor& x, const Shape& shape);
/// Reorders dims: result dim i is x's dim perm[i].
Tensor permute(const Tensor& x, const std::vector<int64_t>& perm);
/// Reverses the dims (a matrix transpose for 2-D).
Tensor transpose(const Tensor& x);
/// Swaps two dims.
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
/// Repeats x along dims of size 1 (and new leading dims) to reach `shape`.
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// Removes the given dims of size 1 (all size-1 dims when `axes` is empty).
Tensor squeeze(const Tensor& x, std::vector<int64_t> axes = {});
/// Inserts a dim of size 1 at `axis` (negative counts from the end of the result).
Tensor unsqueeze(const Tensor& x, int64_t axis);
/// Elements start, start+step, ... before stop along `axis`, as Python's x[start:stop:step];
/// a missing start/stop means the natural end for the step's direction (slice(x, 0, {}, {}, -1)
/// reverses). Negative bounds count from the end; bounds beyond the dim are clamped as in
/// Python, NumPy and PyTorch (x[-10:10:2] of 5 elements is elements 0, 2, 4); step 0 is an error.
Tensor slice(const Tensor& x, int64_t axis, std::optional<int64_t> start, std::optional<int64_t> stop,
             int64_t step = 1);
/// Joins tensors along an existing axis.
Tensor concat(const std::vector<Tensor>& xs, int64_t axis = 0);
/// Joins tensors along a new axis.
Tensor stack(const std::vector<Tensor>& xs, int64_t axis = 0);
/// NumPy's take: picks slices of x along `axis` by integer indices (negative ones wrap
/// once); result shape is x.shape[:axis] + indices.shape + x.shape[axis+1:].
Tensor take(const Tensor& x, const Tensor& indices, int64_t axis = 0);
/// PyTorch's gather / NumPy's take_along_axis: out[..i..] = x[..index[..i..]..] along
/// `axis`; indices has x's rank and broadcasts against x on the other dims.
Tensor gather(const Tensor& x, const Tensor& indices, int64_t axis);
/// PyTorch's index_add: x with the slices of `updates` added at `indices` along `axis`
/// (repeated indices add up, in order; negative ones wrap once). updates has take's result
/// shape: x.shape[:axis] + indices.shape + x.shape[axis+1:]. take's gradient. Runs on the
/// CPU, inside jit() too (an interpreter step between compiled kernels; GPU tensors are
/// copied to the host and back). An rvalue x is given up, as binary ops' are: the result may
/// be written over its memory, and the handle is undefined afterwards.
Tensor index_add(const Tensor& x, const Tensor& indices, const Tensor& updates, int64_t axis = 0);
Tensor index_add(Tensor&& x, const Tensor& indices, const Tensor& updates, int64_t axis = 0);
/// PyTorch's scatter_add, as gather's adjoint: x with each element of `updates` added where
/// gather(x, indices, axis) reads the element at its position (along `axis` at its index,
/// negative ones wrapping once; on a dim where x has size 1, at 0). updates has gather's
/// result shape. Elements that land on one place add up in order (row-major over updates),
/// so the result does not depend on threads. gather's gradient. Runs on the CPU as
/// index_add does (an interpreter step inside jit()); an rvalue x is given up.
Tensor scatter_add(const Tensor& x, const Tensor& indices, const Tensor& updates, int64_t axis);
Tensor scatter_add(Tensor&& x, const Tensor& indices, const Tensor& updates, int64_t axis);
/// Pads each dim with (before, after) elements of `value`.
Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& widths, Scalar value = 0);

// ---- composites (built from the ops above) ----
Tensor softmax(const Tensor& x, int64_t axis = -1);
Tensor log_softmax(const Tensor& x, int64_t axis = -1);
/// Normalizes over the last `normalized_dims` dims (biased variance, eps inside the sqrt),
/// then scales by gamma and shifts by beta when they are defined.
Tensor layer_norm(const Tensor& x, const Tensor& gamma = {}, const Tensor& beta = {}, double eps = 1e-5,
                  int normalized_dims = 1);
/// One-hot rows of length `depth` for integer indices (out-of-range indices are an error).
Tensor one_hot(const Tensor& indices, int64_t depth, DType dtype = DType::F32);
enum class Reduction { Mean, Sum, None };
/// Cross-entropy from unnormalized logits (..., C). `labels` are integer class indices
/// (shape ...) or float probabilities (shape ..., C).
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, Reduction reduction = Reduction::Mean);

// ---- creation ----
/// Tensor from values in row-major order; values.size() must equal shape.numel().
template <class T> Tensor from_vector(const std::vector<T>& values, const Shape& shape);
/// 1-D tensor from a list: tensor({1.f, 2.f}) is f32, tensor({1, 2}) is i32.
template <class T> Tensor tensor(std::initializer_list<T> values) {
  return from_vector(std::vector<T>(values), Shape{static_cast<int64_t>(values.size())});
}
template <class T> Tensor tensor(std::initializer_list<T> values, const Shape& shape) {
  return from_vector(std::vector<T>(values), shape);
}
/// A rank-0 tensor holding v (dtype of T).
template <class T> Tensor scalar(T v) { return from_vector(std::vector<T>{v}, Shape{}); }

Tensor zeros(const Shape& shape, DType dtype = DType::F32);
Tensor ones(const Shape& shape, DType dtype = DType::F32);
/// Filled with value; the dtype defaults to the value's category (f32, i64 or bool).
Tensor full(const Shape& shape, Scalar value, std::optional<DType> dtype = std::nullopt);
Tensor zeros_like(const Tensor& x);
Tensor ones_like(const Tensor& x);
Tensor full_like(const Tensor& x, Scalar value);
/// start, start+step, ... < stop (i64 when all three are integers, else f32 by default).
Tensor arange(Scalar start, Scalar stop, Scalar step = 1, std::optional<DType> dtype = std::nullopt);
Tensor arange(int64_t stop);
/// num evenly spaced values from start to stop inclusive.
Tensor linspace(double start, double stop, int64_t num, DType dtype = DType::F32);
/// n x m identity (m = n when negative).
Tensor eye(int64_t n, int64_t m = -1, DType dtype = DType::F32);
/// Standard normal samples from the Philox counter-based generator: the same seed gives
/// the same values on every device and thread count (docs/DESIGN-NOTES.md gives the formula).
Tensor randn(const Shape& shape, uint64_t seed, DType dtype = DType::F32);
/// Uniform samples in [low, high) from the Philox generator.
Tensor rand(const Shape& shape, uint64_t seed, DType dtype = DType::F32, double low = 0.0, double high = 1.0);

// ---- execution state ----
/// True when ops execute eagerly now (always true outside tracing).
bool executing_eagerly();

}  // namespace ejit
