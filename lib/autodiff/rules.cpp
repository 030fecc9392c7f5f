// Gradient rules of the primitives, in ejit ops (so the backward pass is traced and fused too).
// The table ops take theirs from include/ejit/ops.def; the structural ops are written here.
#include "rules.h"

#include <numeric>

#include "../interp/kernels.h"
#include "ejit/ops.h"

namespace ejit::detail {
namespace {

Shape keep_shape(const Shape& in, const std::vector<int64_t>& axes) {
  Shape s = in;
  for (int64_t a : axes) s[a] = 1;
  return s;
}

/// One-hot rows (dtype dt) of integer indices in [-n, n), negative ones wrapped.
Tensor one_hot_wrapped(const Tensor& indices, int64_t n, DType dt) {
  Tensor idx = where(indices < 0, indices + n, indices);
  Tensor columns = [&] {
    DeviceScope on(idx.device());
    return arange(0, n, 1, idx.dtype());
  }();
  return cast(eq(unsqueeze(idx, -1), columns), dt);
}

std::vector<Tensor> unary_vjp(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& g) {
#define NOGRAD Tensor()
#define EJIT_UNARY_OP(Name, name, Kind, expr, grad) \
  case UnaryOp::Name: return {grad};
  switch (op) {
#include "ejit/ops.def"
  }
#undef NOGRAD
  return {Tensor()};
}

std::vector<Tensor> binary_vjp(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& y, const Tensor& g,
                               const std::vector<bool>& need) {
#define NOGRAD Tensor()
#define EJIT_BINARY_OP(Name, name, Kind, expr, grad_a, grad_b) \
  case BinaryOp::Name: return {need[0] ? Tensor(grad_a) : Tensor(), need[1] ? Tensor(grad_b) : Tensor()};
  switch (op) {
#include "ejit/ops.def"
  }
#undef NOGRAD
  return {Tensor(), Tensor()};
}

std::vector<Tensor> reduce_vjp(const PrimOp& op, const Tensor& g) {
  const Tensor& x = op.inputs[0];
  const Shape keep = keep_shape(x.shape(), op.ints);
  Tensor gk = reshape(g, keep);
  switch (static_cast<ReduceOp>(op.sub)) {
    case ReduceOp::Sum: return {broadcast_to(gk, x.shape())};
    case ReduceOp::Prod: return {gk * reshape(op.output, keep) / x};  // x == 0 gives inf/NaN (documented)
    case ReduceOp::Max:
    case ReduceOp::Min: {  // shared evenly among the tied extremes
      Tensor mask = cast(eq(x, reshape(op.output, keep)), g.dtype());
      return {gk * mask / sum(mask, op.ints, /*keepdims=*/true)};
    }
    default: return {Tensor()};  // argmax/argmin: integer results
  }
}

std::vector<Tensor> matmul_vjp(const Tensor& a, const Tensor& b, const Tensor& g, const std::vector<bool>& need) {
  return {need[0] ? unbroadcast(matmul(g, transpose(b, -1, -2)), a.shape()) : Tensor(),
          need[1] ? unbroadcast(matmul(transpose(a, -1, -2), g), b.shape()) : Tensor()};
}

/// Scatters g back to the positions start, start+step, ... of x's dim `ax`; zeros elsewhere.
Tensor slice_vjp(const Tensor& x, const Tensor& g_in, int ax, int64_t start, int64_t step) {
  const int64_t n = x.shape()[ax], len = g_in.shape()[ax];
  if (len == 0) return zeros_like(x);
  Tensor g = g_in;
  if (step < 0) {  // the same positions in increasing order
    g = slice(g, ax, std::nullopt, std::nullopt, -1);
    start += (len - 1) * step;
    step = -step;
  }
  int64_t covered = len;
  if (step > 1) {  // interleave step-1 zeros after each element, then drop the tail past n
    std::vector<std::pair<int64_t, int64_t>> widths(g.rank() + 1, {0, 0});
    widths[ax + 1] = {0, step - 1};
    Shape spread = g.shape();
    spread[ax] = len * step;
    g = reshape(pad(unsqueeze(g, ax + 1), widths, 0), spread);
    covered = std::min(len * step, n - start);
    if (covered < len * step) g = slice(g, ax, 0, covered);
  }
  std::vector<std::pair<int64_t, int64_t>> widths(g.rank(), {0, 0});
  widths[ax] = {start, n - start - covered};
  return pad(g, widths, 0);
}

/// Whether an indexing op's gradient can be a scatter-add: on the CPU (index_add and
/// scatter_add have no GPU kernel yet) and of a dtype that adds.
bool scatters(const Tensor& x, const Tensor& indices, const Tensor& g) {
  return !g.device().is_cuda() && !x.device().is_cuda() && !indices.device().is_cuda() && g.dtype() != DType::Bool;
}

/// Zeros of x's shape broadcast from a scalar: no table-sized constant in a trace.
Tensor zeros_for(const Tensor& x, DType dtype) {
  Tensor zero = [&] { DeviceScope on(x.device()); return zeros(Shape{}, dtype); }();
  return broadcast_to(zero, x.shape());
}

/// On the CPU a scatter-add (index_add of the rows of g where they were taken); on a GPU a
/// one-hot matrix times g on cuBLAS, O(n * indices) memory, fine for the small tables GPU
/// programs take.
std::vector<Tensor> take_vjp(const Tensor& x, const Tensor& indices, const Tensor& g, int ax) {
  if (scatters(x, indices, g)) return {index_add(zeros_for(x, g.dtype()), indices, g, ax), Tensor()};
  const Shape& xs = x.shape();
  int64_t pre = 1, post = 1;
  for (int d = 0; d < ax; ++d) pre *= xs[d];
  for (int d = ax + 1; d < xs.rank(); ++d) post *= xs[d];
  const int64_t n = xs[ax], ni = indices.numel();
  Tensor oh = one_hot_wrapped(reshape(indices, Shape{ni}), n, g.dtype());  // (ni, n)
  Tensor g3 = reshape(g, Shape{pre, ni, post});
  return {reshape(matmul(transpose(oh), g3), xs), Tensor()};  // (n, ni) @ (pre, ni, post) -> (pre, n, post)
}

/// With one pick per slice (cross-entropy's gather of each row's label) the one-hot product
/// is the gradient's own size and fuses into the kernels around it; with K picks per slice
/// it would be K times that, so on the CPU a scatter-add (scatter_add, gather's adjoint).
std::vector<Tensor> gather_vjp(const Tensor& x, const Tensor& indices, const Tensor& g, int ax) {
  if (indices.shape()[ax] > 1 && scatters(x, indices, g))
    return {scatter_add(zeros_for(x, g.dtype()), indices, g, ax), Tensor()};
  const int r = x.rank();
  Tensor oh = one_hot_wrapped(indices, x.shape()[ax], g.dtype());  // indices.shape + (n)
  std::vector<int64_t> perm;
  for (int d = 0; d <= ax; ++d) perm.push_back(d);
  perm.push_back(r);
  for (int d = ax + 1; d < r; ++d) perm.push_back(d);
  Tensor spread = unsqueeze(g, ax + 1) * permute(oh, perm);  // (..., K, n, ...)
  return {unbroadcast(sum(spread, {ax}), x.shape()), Tensor()};
}

std::vector<Tensor> concat_vjp(const PrimOp& op, const Tensor& g) {
  const int ax = static_cast<int>(op.ints[0]);
  std::vector<Tensor> out;
  int64_t offset = 0;
  for (const Tensor& in : op.inputs) {
    const int64_t len = in.shape()[ax];
    out.push_back(slice(g, ax, offset, offset + len));
    offset += len;
  }
  return out;
}

Tensor pad_vjp(const Tensor& x, const Tensor& g, const std::vector<int64_t>& low_high) {
  Tensor r = g;
  for (int d = 0; d < x.rank(); ++d)
    if (r.shape()[d] != x.shape()[d]) r = slice(r, d, low_high[d], low_high[d] + x.shape()[d]);
  return r;
}

std::vector<int64_t> inverse(const std::vector<int64_t>& perm) {
  std::vector<int64_t> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[perm[i]] = static_cast<int64_t>(i);
  return inv;
}

}  // namespace

Tensor unbroadcast(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int lead = g.rank() - shape.rank();
  std::vector<int64_t> axes(lead);
  std::iota(axes.begin(), axes.end(), 0);
  for (int d = 0; d < shape.rank(); ++d)
    if (shape[d] == 1 && g.shape()[lead + d] != 1) axes.push_back(lead + d);
  return reshape(axes.empty() ? g : sum(g, axes), shape);
}

std::vector<Tensor> vjp(const PrimOp& op, const Tensor& g, const std::vector<bool>& need) {
  const TensorList& in = op.inputs;
  switch (op.kind) {
    case NodeKind::Constant: return {};
    case NodeKind::Unary: return unary_vjp(static_cast<UnaryOp>(op.sub), in[0], op.output, g);
    case NodeKind::Binary: {
      auto r = binary_vjp(static_cast<BinaryOp>(op.sub), in[0], in[1], op.output, g, need);
      for (size_t i = 0; i < 2; ++i)
        if (r[i].defined()) r[i] = unbroadcast(r[i], in[i].shape());
      return r;
    }
    case NodeKind::Cast: return {is_floating(in[0].dtype()) ? cast(g, in[0].dtype()) : Tensor()};
    case NodeKind::Where:
      return {Tensor(), need[1] ? unbroadcast(where(in[0], g, 0.0), in[1].shape()) : Tensor(),
              need[2] ? unbroadcast(where(in[0], 0.0, g), in[2].shape()) : Tensor()};
    case NodeKind::Reduce: return reduce_vjp(op, g);
    case NodeKind::MatMul: return matmul_vjp(in[0], in[1], g, need);
    case NodeKind::Reshape: return {reshape(g, in[0].shape())};
    case NodeKind::Permute: return {permute(g, inverse(op.ints))};
    case NodeKind::BroadcastTo: return {unbroadcast(g, in[0].shape())};
    case NodeKind::Slice: return {slice_vjp(in[0], g, static_cast<int>(op.ints[0]), op.ints[1], op.ints[2])};
    case NodeKind::Concat: return concat_vjp(op, g);
    case NodeKind::Pad: return {pad_vjp(in[0], g, op.ints)};
    case NodeKind::Take: return take_vjp(in[0], in[1], g, static_cast<int>(op.ints[0]));
    case NodeKind::Gather: return gather_vjp(in[0], in[1], g, static_cast<int>(op.ints[0]));
    case NodeKind::IndexAdd: return {need[0] ? g : Tensor(), Tensor(), need[2] ? take(g, in[1], op.ints[0]) : Tensor()};
    case NodeKind::ScatterAdd: return {need[0] ? g : Tensor(), Tensor(), need[2] ? gather(g, in[1], op.ints[0]) : Tensor()};
    case NodeKind::HostCall: break;  // its gradient is the callback's own (record_custom_gradient), or none
  }
  return std::vector<Tensor>(in.size());
}

}  // namespace ejit::detail
