// index_add: a scatter-add on the host (take's gradient), built on host_callback_op so that
// it runs between compiled kernels inside jit() and has a gradient of its own.
#include <cstring>

#include "../core/parallel.h"
#include "../support/check.h"
#include "ejit/host_callback.h"
#include "ejit/ops.h"

namespace ejit {
namespace {

/// x's rows (the slices along `axis`) with the rows of `updates` added at `indices`, on the
/// CPU. Rows of one outer index run in order, so that repeated indices add up in order (the
/// result does not depend on the thread pool); outer indices run in parallel.
template <class T>
void add_rows(T* out, const T* updates, const std::vector<int64_t>& idx, int64_t outer, int64_t n, int64_t inner) {
  const auto k = static_cast<int64_t>(idx.size());
  detail::parallel_for(outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, k * inner)), [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o)
      for (int64_t j = 0; j < k; ++j) {
        T* dst = out + (o * n + idx[static_cast<size_t>(j)]) * inner;
        const T* src = updates + (o * k + j) * inner;
        for (int64_t e = 0; e < inner; ++e) dst[e] += src[e];
      }
  });
}

Tensor index_add_on_host(const Tensor& x, const Tensor& indices, const Tensor& updates, int ax) {
  const int64_t n = x.shape()[ax];
  std::vector<int64_t> idx = indices.to_vector<int64_t>();
  for (int64_t& i : idx) {
    if (i < -n || i >= n) fail("index_add", "index {} is out of range for dim {} of size {} (shape {})", i, ax, n, x.shape());
    if (i < 0) i += n;
  }
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < ax; ++d) outer *= x.shape()[d];
  for (int d = ax + 1; d < x.rank(); ++d) inner *= x.shape()[d];
  Tensor out = Tensor::empty(x.shape(), x.dtype(), Device::cpu());
  std::memcpy(out.raw_data(), x.raw_data(), static_cast<size_t>(x.numel()) * itemsize(x.dtype()));
  switch (x.dtype()) {
    case DType::I32: add_rows(out.data<int32_t>(), updates.data<int32_t>(), idx, outer, n, inner); break;
    case DType::I64: add_rows(out.data<int64_t>(), updates.data<int64_t>(), idx, outer, n, inner); break;
    case DType::F32: add_rows(out.data<float>(), updates.data<float>(), idx, outer, n, inner); break;
    case DType::F64: add_rows(out.data<double>(), updates.data<double>(), idx, outer, n, inner); break;
    case DType::Bool: fail("index_add", "not defined for dtype bool (shape {})", x.shape());
  }
  return out;
}

}  // namespace

Tensor index_add(const Tensor& x, const Tensor& indices, const Tensor& updates, int64_t axis) {
  for (const Tensor* t : {&x, &indices, &updates})
    if (!t->defined()) fail("index_add", "an argument is an undefined tensor");
  if (x.rank() == 0) fail("index_add", "cannot add into a rank-0 tensor");
  const int ax = normalize_axis("index_add", axis, x.rank(), x.shape());
  if (!is_integer(indices.dtype()))
    fail("index_add", "indices must be i32 or i64, got {} (shape {})", indices.dtype(), indices.shape());
  if (x.dtype() == DType::Bool) fail("index_add", "not defined for dtype bool (shape {})", x.shape());
  std::vector<int64_t> dims(x.shape().begin(), x.shape().begin() + ax);
  dims.insert(dims.end(), indices.shape().begin(), indices.shape().end());
  dims.insert(dims.end(), x.shape().begin() + ax + 1, x.shape().end());
  if (updates.shape() != Shape(dims) || updates.dtype() != x.dtype())
    fail("index_add", "updates of shape {} and dtype {} do not fit x {} {} with indices {} along axis {} (expected {} {})",
         updates.shape(), updates.dtype(), x.shape(), x.dtype(), indices.shape(), ax, Shape(dims), x.dtype());
  HostFunction fn = [ax](const std::vector<Tensor>& in) {
    return std::vector<Tensor>{index_add_on_host(in[0], in[1], in[2], ax)};
  };
  HostGradient gradient = [ax](const std::vector<Tensor>& in, const std::vector<Tensor>&, const std::vector<Tensor>& g) {
    return std::vector<Tensor>{g[0], Tensor(), take(g[0], in[1], ax)};
  };
  return detail::host_callback_op("index_add", std::move(fn), {x, indices, updates}, {{x.shape(), x.dtype()}},
                                  std::move(gradient))[0];
}

}  // namespace ejit
