// Reductions over any set of axes: sum, mean, prod, max, min, argmax, argmin, all, any; var/stddev.
#include <algorithm>

#include "dispatch.h"

namespace ejit {
namespace detail {
namespace {

constexpr int64_t kChunk = int64_t{1} << 16;  // elements per partial when splitting a long reduction

struct Layout {
  Shape out_shape, keep_shape;  // without / with the reduced dims kept as 1
  int64_t outer = 1, len = 1, inner = 1;
  bool needs_permute = false;
  std::vector<int64_t> perm;  // kept dims then reduced dims
};

}  // namespace

std::vector<bool> reduced_mask(const char* op, const Tensor& x, const std::vector<int64_t>& axes) {
  std::vector<bool> mask(x.rank(), axes.empty());
  for (int64_t a : axes) {
    int ax = normalize_axis(op, a, x.rank(), x.shape());
    if (mask[ax]) fail(op, "axis {} appears twice for shape {}", a, x.shape());
    mask[ax] = true;
  }
  return mask;
}

namespace {

Layout plan_layout(const Tensor& x, const std::vector<bool>& mask) {
  Layout l;
  const Shape& s = x.shape();
  // One run of reduced dims (ignoring size-1 dims) fits (outer, len, inner) as it lies.
  int reduced_runs = 0;
  bool in_run = false;
  for (int d = 0; d < s.rank(); ++d) {
    if (!mask[d]) l.out_shape.push_back(s[d]);
    l.keep_shape.push_back(mask[d] ? 1 : s[d]);
    if (s[d] == 1) continue;
    if (mask[d] && !in_run) ++reduced_runs;
    in_run = mask[d];
  }
  for (int d = 0; d < s.rank(); ++d) {
    if (mask[d]) l.perm.push_back(d);
  }
  std::vector<int64_t> kept;
  for (int d = 0; d < s.rank(); ++d)
    if (!mask[d]) kept.push_back(d);
  l.perm.insert(l.perm.begin(), kept.begin(), kept.end());
  int64_t len = 1, outer = 1, inner = 1;
  for (int d = 0; d < s.rank(); ++d)
    if (mask[d]) len *= s[d];
  if (reduced_runs <= 1) {
    bool seen_reduced = false;
    for (int d = 0; d < s.rank(); ++d) {
      if (mask[d]) seen_reduced |= s[d] != 1;
      else (seen_reduced ? inner : outer) *= s[d];
    }
  } else {
    l.needs_permute = true;
    for (int d = 0; d < s.rank(); ++d)
      if (!mask[d]) outer *= s[d];
  }
  l.outer = outer, l.len = len, l.inner = inner;
  return l;
}

DType reduce_out_dtype(ReduceOp op, DType in) {
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Prod: return is_floating(in) ? in : DType::I64;
    case ReduceOp::ArgMax:
    case ReduceOp::ArgMin: return DType::I64;
    default: return in;
  }
}

/// Runs the kernel on a contiguous (outer, len, inner) source; len >= 1.
void run_reduce(ReduceOp op, DType in, const char* src, int64_t outer, int64_t len, int64_t inner, char* dst) {
  const KernelTable& kt = kernels();
  ReduceKernel kern = kt.reduce[int(op)][int(in)];
  DType acc = reduce_out_dtype(op, in);
  const size_t isz = itemsize(in), osz = itemsize(acc);
  bool arg = op == ReduceOp::ArgMax || op == ReduceOp::ArgMin;
  // A few long reductions: partials over fixed chunks of `len` (thread-count independent).
  if (!arg && outer < 16 && len >= 2 * kChunk / std::max<int64_t>(inner, 1) && len >= 4) {
    int64_t rows_per_chunk = std::max<int64_t>(1, kChunk / inner);
    int64_t chunks = (len + rows_per_chunk - 1) / rows_per_chunk;
    Tensor partial = Tensor::empty(Shape{outer, chunks, inner}, acc);
    char* pp = static_cast<char*>(partial.raw_data());
    parallel_chunks(outer * chunks, [&](int64_t t) {
      int64_t o = t / chunks, c = t % chunks;
      int64_t r0 = c * rows_per_chunk, r1 = std::min(len, r0 + rows_per_chunk);
      kern(src + ((o * len + r0) * inner) * isz, 1, r1 - r0, inner, pp + ((o * chunks + c) * inner) * osz);
    });
    kt.reduce[int(op)][int(acc)](pp, outer, chunks, inner, dst);
    return;
  }
  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, len * inner));
  parallel_for(outer, grain, [&](int64_t b, int64_t e) {
    kern(src + b * len * inner * isz, e - b, len, inner, dst + b * inner * osz);
  });
}

}  // namespace

Tensor reduce(const char* op, ReduceOp rop, const Tensor& x, const std::vector<int64_t>& axes, bool keepdims) {
  OpScope prof(op, x);
  check_defined(op, x);
  std::vector<bool> mask = reduced_mask(op, x, axes);
  Layout l = plan_layout(x, mask);
  DType out_dtype = reduce_out_dtype(rop, x.dtype());
  if (l.len == 0 && rop != ReduceOp::Sum && rop != ReduceOp::Prod)
    fail(op, "cannot reduce over an empty dim (shape {}): the reduction has no identity", x.shape());
  if (Device d = op_device(op, {&x}); d.is_cuda()) {
    std::vector<int64_t> reduced_axes;
    for (int i = 0; i < x.rank(); ++i)
      if (mask[i]) reduced_axes.push_back(i);
    Tensor out;
    if (reduced_axes.empty()) {
      out = out_dtype == x.dtype() ? reshape(x, l.out_shape) : cast(x, out_dtype);
    } else if (l.len == 0) {
      {
        PauseRecording pause;
        DeviceScope on(d);
        out = full(l.out_shape, rop == ReduceOp::Sum ? 0 : 1, out_dtype);
      }
      record_op(NodeKind::Reduce, {x}, out, static_cast<uint8_t>(rop), std::move(reduced_axes));
    } else {
      out = run_on_device(op, {NodeKind::Reduce, static_cast<uint8_t>(rop), {x}, reduced_axes, false, 0, l.out_shape,
                               out_dtype}, d);
    }
    return keepdims ? reshape(out, l.keep_shape) : out;
  }
  Tensor out = Tensor::empty(l.out_shape, out_dtype);
  {
    PauseRecording pause;  // the fill / permute below are this op's own business
    if (l.len == 0) {
      DeviceScope on_cpu(Device::cpu());
      out = full(l.out_shape, rop == ReduceOp::Sum ? 0 : 1, out_dtype);
    } else if (out.numel() > 0) {
      Tensor src = l.needs_permute ? permute(x, l.perm) : x;
      run_reduce(rop, x.dtype(), static_cast<const char*>(src.raw_data()), l.outer, l.len, l.inner,
                 static_cast<char*>(out.raw_data()));
    }
  }
  std::vector<int64_t> reduced_axes;
  for (int d = 0; d < x.rank(); ++d)
    if (mask[d]) reduced_axes.push_back(d);
  if (reduced_axes.empty())  // nothing to reduce (rank 0): an identity, or a cast for int sums
    record_op(out.dtype() == x.dtype() ? NodeKind::Reshape : NodeKind::Cast, {x}, out);
  else
    record_op(NodeKind::Reduce, {x}, out, static_cast<uint8_t>(rop), std::move(reduced_axes));
  return keepdims ? reshape(out, l.keep_shape) : out;
}

}  // namespace detail


Tensor sum(const Tensor& x, std::vector<int64_t> axes, bool keepdims) {
  return detail::reduce("sum", ReduceOp::Sum, x, axes, keepdims);
}
Tensor prod(const Tensor& x, std::vector<int64_t> axes, bool keepdims) {
  return detail::reduce("prod", ReduceOp::Prod, x, axes, keepdims);
}
Tensor max(const Tensor& x, std::vector<int64_t> axes, bool keepdims) {
  return detail::reduce("max", ReduceOp::Max, x, axes, keepdims);
}
Tensor min(const Tensor& x, std::vector<int64_t> axes, bool keepdims) {
  return detail::reduce("min", ReduceOp::Min, x, axes, keepdims);
}

Tensor all(const Tensor& x, std::vector<int64_t> axes, bool keepdims) {
  detail::check_defined("all", x);
  Tensor b = detail::to_dtype(x, DType::Bool);
  if (b.numel() == 0) return logical_not(any(logical_not(b), axes, keepdims));
  return detail::reduce("all", ReduceOp::Min, b, axes, keepdims);
}

Tensor any(const Tensor& x, std::vector<int64_t> axes, bool keepdims) {
  detail::check_defined("any", x);
  Tensor b = detail::to_dtype(x, DType::Bool);
  if (b.numel() == 0) return cast(detail::reduce("any", ReduceOp::Sum, b, axes, keepdims), DType::Bool);
  return detail::reduce("any", ReduceOp::Max, b, axes, keepdims);
}

static Tensor arg_reduce(const char* op, ReduceOp rop, const Tensor& x, std::optional<int64_t> axis, bool keepdims) {
  detail::check_defined(op, x);
  if (!axis) {
    Tensor flat = reshape(x, Shape{x.numel()});
    Tensor r = detail::reduce(op, rop, flat, {0}, false);
    return keepdims ? reshape(r, Shape(std::vector<int64_t>(x.rank(), 1))) : r;
  }
  return detail::reduce(op, rop, x, {*axis}, keepdims);
}

Tensor argmax(const Tensor& x, std::optional<int64_t> axis, bool keepdims) {
  return arg_reduce("argmax", ReduceOp::ArgMax, x, axis, keepdims);
}
Tensor argmin(const Tensor& x, std::optional<int64_t> axis, bool keepdims) {
  return arg_reduce("argmin", ReduceOp::ArgMin, x, axis, keepdims);
}

static int64_t reduced_count(const Tensor& x, const std::vector<int64_t>& axes) {
  if (axes.empty()) return x.numel();
  int64_t n = 1;
  for (int64_t a : axes) n *= x.dim(a);
  return n;
}

static Tensor as_float(const Tensor& x) { return is_floating(x.dtype()) ? x : cast(x, kDefaultFloat); }

Tensor mean(const Tensor& x, std::vector<int64_t> axes, bool keepdims) {
  detail::check_defined("mean", x);
  Tensor s = as_float(detail::reduce("mean", ReduceOp::Sum, x, axes, keepdims));
  return s / static_cast<double>(reduced_count(x, axes));
}

static Tensor var_impl(const char* op, const Tensor& x, const std::vector<int64_t>& axes, int64_t correction,
                       bool keepdims) {
  detail::check_defined(op, x);
  detail::reduced_mask(op, x, axes);  // errors name this op, not the mean inside
  Tensor xf = as_float(x);
  Tensor d = xf - mean(xf, axes, /*keepdims=*/true);  // two-pass: stable for large means
  Tensor ss = detail::reduce(op, ReduceOp::Sum, d * d, axes, keepdims);
  return ss / static_cast<double>(std::max<int64_t>(reduced_count(x, axes) - correction, 0));
}

Tensor var(const Tensor& x, std::vector<int64_t> axes, int64_t correction, bool keepdims) {
  return var_impl("var", x, axes, correction, keepdims);
}

Tensor stddev(const Tensor& x, std::vector<int64_t> axes, int64_t correction, bool keepdims) {
  return sqrt(var_impl("stddev", x, axes, correction, keepdims));
}

}  // namespace ejit
