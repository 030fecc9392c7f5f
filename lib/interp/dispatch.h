// Shared helpers of the interpreter's ops: dtype rules, broadcasting and strided loops.
#pragma once

#include <initializer_list>

#include "../support/check.h"
#include "../core/convert.h"
#include "../core/device_ops.h"
#include "../core/observer.h"
#include "../core/op_profile.h"
#include "../core/parallel.h"
#include "ejit/ops.h"
#include "kernels.h"

namespace ejit::detail {

/// Calls f(U{}) with U the unsigned integer of an element's size, for copies by element
/// size whatever the dtype; an Error naming `op` for a size with no such integer.
template <class F> void by_element_size(const char* op, DType dtype, F&& f) {
  switch (itemsize(dtype)) {
    case 1: return f(uint8_t{});
    case 4: return f(uint32_t{});
    case 8: return f(uint64_t{});
    default: fail(op, "no copy loop for {}-byte elements ({})", itemsize(dtype), dtype);
  }
}
/// Throws "[op] ... undefined tensor" for an undefined handle.
void check_defined(const char* op, const Tensor& t);
/// Throws "[op] index i is out of range for dim `axis` of size n (shape x)": the message of
/// take, gather and index_add, eagerly and in compiled code alike.
[[noreturn]] void fail_index_out_of_range(const char* op, int64_t index, int axis, const Shape& x);
/// Rank-0 tensor holding a C++ scalar, flagged weak for promotion.
Tensor scalar_operand(Scalar s);
/// The same as an operand beside `other`: in other's dtype when that is what promotion
/// would make of it (a float tensor's), so that no cast follows.
Tensor scalar_operand(Scalar s, const Tensor& other);
/// Promotion of two operands; a weak (scalar) operand only moves the result up a category.
DType mixed_result_type(const Tensor& a, const Tensor& b);
inline DType result_type(const Tensor& a, const Tensor& b) {
  const bool common = a.dtype() == b.dtype() && !a.impl()->weak && !b.impl()->weak;  // without a call
  return common ? a.dtype() : mixed_result_type(a, b);
}
/// NumPy broadcast of two shapes; throws "[op] shapes (..) and (..) cannot broadcast".
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);
/// x converted to dtype (x itself when it already has it).
Tensor to_dtype(const Tensor& x, DType dtype);
/// The same without a reference-count copy: x itself, or its cast kept in `holder`.
inline const Tensor& to_dtype(const Tensor& x, DType dtype, Tensor& holder) {
  return x.dtype() == dtype ? x : (holder = cast(x, dtype));
}

/// True when an op may write its result (`numel` elements of `dtype`) over t's memory: t is
/// on the CPU, its handle is the only one to its storage (no copy, no view shares it), its
/// elements line up one for one with the result's, and no observer reads it after the op.
/// Callers ask only of handles given up: rvalue arguments, or an op's own temporaries.
inline bool can_overwrite(const Tensor& t, int64_t numel, DType dtype) {
  const TensorImpl* i = t.impl();
  return i->refs.load(std::memory_order_acquire) == 1 && i->storage->refs.load(std::memory_order_acquire) == 1 &&
         i->numel == numel && itemsize(i->dtype) == itemsize(dtype) && i->storage->device.is_cpu() &&
         may_overwrite(t);
}
/// A tensor of `shape` and `dtype` on t's memory (which can_overwrite allowed).
inline Tensor on_storage_of(const Tensor& t, const Shape& shape, DType dtype) {
  Storage* s = t.impl()->storage;
  s->retain();
  return Tensor(new TensorImpl(s, shape, dtype));
}

/// Which dims `axes` reduces (all when empty); throws naming `op` for bad or repeated axes.
std::vector<bool> reduced_mask(const char* op, const Tensor& x, const std::vector<int64_t>& axes);
/// The reduction behind sum/prod/max/min/argmax/argmin (op names the public op in errors).
Tensor reduce(const char* op, ReduceOp rop, const Tensor& x, const std::vector<int64_t>& axes, bool keepdims);

/// Elements per parallel chunk for cheap elementwise work; transcendental ops use less.
inline constexpr int64_t kElementwiseGrain = int64_t{1} << 15;

inline constexpr int kMaxOperands = 4;

/// An elementwise loop over `shape` with one stride vector per operand (0 = broadcast),
/// dims of size 1 dropped and contiguous neighbours merged.
struct LoopPlan {
  int rank = 0;
  int nops = 0;
  int64_t shape[kMaxRank];
  int64_t strides[kMaxOperands][kMaxRank];
};

/// Plan for an output of `out` shape and inputs that broadcast to it (operand 0 = output).
LoopPlan make_plan(const Shape& out, std::initializer_list<Shape> inputs);
/// Plan over `shape` with explicit element strides per operand (operand 0 = output).
LoopPlan plan_from_strides(const Shape& shape, const int64_t* const* strides, int nops);
/// dst[i] = src[i] over `shape`, each side with its own element strides (0 repeats).
void strided_copy(DType dtype, const Shape& shape, char* dst, const int64_t* dst_strides, const char* src,
                  const int64_t* src_strides);

/// Runs f(ptrs, inner_strides, n) over rows of the plan in parallel; base[k] and isz[k]
/// are operand k's data pointer and element size.
template <class F>
void run_plan(const LoopPlan& p, char* const* base, const size_t* isz, int64_t grain, F&& f) {
  const int r = p.rank;
  int64_t istr[kMaxOperands];
  for (int k = 0; k < p.nops; ++k) istr[k] = r ? p.strides[k][r - 1] : 0;
  const int64_t inner = r ? p.shape[r - 1] : 1;
  int64_t rows = 1;
  for (int d = 0; d + 1 < r; ++d) rows *= p.shape[d];
  if (rows == 1) {
    parallel_for(inner, grain, [&](int64_t b, int64_t e) {
      char* ptrs[kMaxOperands];
      for (int k = 0; k < p.nops; ++k) ptrs[k] = base[k] + b * istr[k] * static_cast<int64_t>(isz[k]);
      f(ptrs, istr, e - b);
    });
    return;
  }
  int64_t row_grain = grain / inner > 0 ? grain / inner : 1;
  parallel_for(rows, row_grain, [&](int64_t rb, int64_t re) {
    int64_t counter[kMaxRank];
    int64_t off[kMaxOperands] = {};
    int64_t rem = rb;
    for (int d = r - 2; d >= 0; --d) {
      counter[d] = rem % p.shape[d];
      rem /= p.shape[d];
      for (int k = 0; k < p.nops; ++k) off[k] += counter[d] * p.strides[k][d];
    }
    for (int64_t row = rb; row < re; ++row) {
      char* ptrs[kMaxOperands];
      for (int k = 0; k < p.nops; ++k) ptrs[k] = base[k] + off[k] * static_cast<int64_t>(isz[k]);
      f(ptrs, istr, inner);
      for (int d = r - 2; d >= 0; --d) {  // odometer step with offset updates
        for (int k = 0; k < p.nops; ++k) off[k] += p.strides[k][d];
        if (++counter[d] < p.shape[d]) break;
        for (int k = 0; k < p.nops; ++k) off[k] -= counter[d] * p.strides[k][d];
        counter[d] = 0;
      }
    }
  });
}

}  // namespace ejit::detail
