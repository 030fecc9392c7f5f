// Shape ops: reshape (a view), permute/transpose, broadcast_to, squeeze, unsqueeze.
#include <algorithm>

#include "dispatch.h"

namespace ejit {

using namespace detail;

Tensor reshape(const Tensor& x, const Shape& shape) {
  OpScope prof("reshape", x);
  check_defined("reshape", x);
  Shape s = shape;
  int infer = -1;
  int64_t span = 1;  // the product of the known non-zero dims, bounded as Tensor::empty bounds it
  bool zero = false;
  for (int d = 0; d < s.rank(); ++d) {
    if (s[d] == -1) {
      if (infer >= 0) fail("reshape", "more than one -1 in target shape {} (from {})", shape, x.shape());
      infer = d;
    } else if (s[d] < 0) {
      fail("reshape", "negative dim in target shape {} (from {})", shape, x.shape());
    } else if (s[d] == 0) {
      zero = true;
    } else if (span > kMaxElements / s[d]) {
      fail("reshape", "target shape {} is too large (from {})", shape, x.shape());
    } else {
      span *= s[d];
    }
  }
  const int64_t known = zero ? 0 : span;
  if (infer >= 0) {
    if (known == 0 || x.numel() % known != 0)
      fail("reshape", "cannot infer the -1 dim: shape {} does not fit {} elements of {}", shape, x.numel(), x.shape());
    s[infer] = x.numel() / known;
  }
  if (s.numel() != x.numel())
    fail("reshape", "cannot reshape {} ({} elements) to {} ({} elements)", x.shape(), x.numel(), shape, s.numel());
  detail::Storage* storage = x.impl()->storage;
  storage->retain();
  Tensor out(new detail::TensorImpl(storage, s, x.dtype()));
  record_op(NodeKind::Reshape, {x}, out);
  return out;
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& perm) {
  OpScope prof("permute", x);
  check_defined("permute", x);
  const int r = x.rank();
  if (static_cast<int>(perm.size()) != r)
    fail("permute", "permutation of {} dims given for shape {}", perm.size(), x.shape());
  std::vector<bool> seen(r, false);
  std::vector<int64_t> out_dims(r), src_strides(r), norm_perm(r);
  auto strides = strides_of(x.shape());
  for (int i = 0; i < r; ++i) {
    int d = normalize_axis("permute", perm[i], r, x.shape());
    if (seen[d]) fail("permute", "dim {} repeats in the permutation for shape {}", perm[i], x.shape());
    seen[d] = true;
    norm_perm[i] = d;
    out_dims[i] = x.shape()[d];
    src_strides[i] = strides[d];
  }
  Shape out_shape(out_dims);
  if (Device d = op_device("permute", {&x}); d.is_cuda())
    return run_on_device("permute", {NodeKind::Permute, 0, {x}, norm_perm, false, 0, out_shape, x.dtype()}, d);
  Tensor out = Tensor::empty(out_shape, x.dtype());
  auto dst_strides = strides_of(out_shape);
  strided_copy(x.dtype(), out_shape, static_cast<char*>(out.raw_data()), dst_strides.data(),
               static_cast<const char*>(x.raw_data()), src_strides.data());
  record_op(NodeKind::Permute, {x}, out, 0, std::move(norm_perm));
  return out;
}

Tensor transpose(const Tensor& x) {
  check_defined("transpose", x);
  std::vector<int64_t> perm(x.rank());
  for (int i = 0; i < x.rank(); ++i) perm[i] = x.rank() - 1 - i;
  return permute(x, perm);
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  check_defined("transpose", x);
  std::vector<int64_t> perm(x.rank());
  for (int i = 0; i < x.rank(); ++i) perm[i] = i;
  std::swap(perm[normalize_axis("transpose", dim0, x.rank(), x.shape())],
            perm[normalize_axis("transpose", dim1, x.rank(), x.shape())]);
  return permute(x, perm);
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  OpScope prof("broadcast_to", x);
  check_defined("broadcast_to", x);
  const int r = shape.rank(), xr = x.rank();
  if (xr > r) fail("broadcast_to", "cannot broadcast {} to the lower-rank shape {}", x.shape(), shape);
  auto xs = strides_of(x.shape());
  std::vector<int64_t> src_strides(r, 0);
  for (int d = 0; d < r; ++d) {
    int xd = d - (r - xr);
    if (xd < 0) continue;
    if (x.shape()[xd] == shape[d]) src_strides[d] = xs[xd];
    else if (x.shape()[xd] != 1)
      fail("broadcast_to", "cannot broadcast {} to {} (dim {}: {} vs {})", x.shape(), shape, d, x.shape()[xd], shape[d]);
  }
  if (Device d = op_device("broadcast_to", {&x}); d.is_cuda())
    return run_on_device("broadcast_to", {NodeKind::BroadcastTo, 0, {x}, {}, false, 0, shape, x.dtype()}, d);
  Tensor out = Tensor::empty(shape, x.dtype());
  auto dst_strides = strides_of(shape);
  strided_copy(x.dtype(), shape, static_cast<char*>(out.raw_data()), dst_strides.data(),
               static_cast<const char*>(x.raw_data()), src_strides.data());
  record_op(NodeKind::BroadcastTo, {x}, out);
  return out;
}

Tensor squeeze(const Tensor& x, std::vector<int64_t> axes) {
  check_defined("squeeze", x);
  std::vector<bool> drop(x.rank(), false);
  for (int64_t a : axes) {
    int d = normalize_axis("squeeze", a, x.rank(), x.shape());
    if (x.shape()[d] != 1) fail("squeeze", "dim {} of shape {} has size {}, not 1", a, x.shape(), x.shape()[d]);
    drop[d] = true;
  }
  std::vector<int64_t> dims;
  for (int d = 0; d < x.rank(); ++d)
    if (!(axes.empty() ? x.shape()[d] == 1 : drop[d])) dims.push_back(x.shape()[d]);
  return reshape(x, Shape(dims));
}

Tensor unsqueeze(const Tensor& x, int64_t axis) {
  check_defined("unsqueeze", x);
  if (x.rank() == kMaxRank) fail("unsqueeze", "shape {} already has the maximum rank {}", x.shape(), kMaxRank);
  int d = normalize_axis("unsqueeze", axis, x.rank() + 1, x.shape());
  std::vector<int64_t> dims = x.shape().vec();
  dims.insert(dims.begin() + d, 1);
  return reshape(x, Shape(dims));
}

}  // namespace ejit
