// Ops that select or assemble elements: slice, concat, stack, take, gather, index_add, pad.
#include <algorithm>

#include "dispatch.h"

namespace ejit {

using namespace detail;

namespace {

char* bytes(Tensor& t) { return static_cast<char*>(t.raw_data()); }
const char* bytes(const Tensor& t) { return static_cast<const char*>(t.raw_data()); }

/// Reads integer indices as i64 after checking the dtype.
std::vector<int64_t> index_values(const char* op, const Tensor& indices) {
  if (!is_integer(indices.dtype()))
    fail(op, "indices must be i32 or i64, got {} (shape {})", indices.dtype(), indices.shape());
  PauseRecording pause;  // reading indices is the op's work, not host control flow
  return indices.to_vector<int64_t>();
}

int64_t checked_index(const char* op, int64_t i, int64_t n, int axis, const Shape& shape) {
  if (i < -n || i >= n) fail_index_out_of_range(op, i, axis, shape);
  return i < 0 ? i + n : i;
}

}  // namespace

void detail::fail_index_out_of_range(const char* op, int64_t index, int axis, const Shape& x) {
  fail(op, "index {} is out of range for dim {} of size {} (shape {})", index, axis, x[axis], x);
}

Tensor slice(const Tensor& x, int64_t axis, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step) {
  OpScope prof("slice", x);
  check_defined("slice", x);
  int ax = normalize_axis("slice", axis, x.rank(), x.shape());
  const int64_t n = x.shape()[ax];
  if (step == 0) fail("slice", "step must not be 0 (shape {}, axis {})", x.shape(), axis);
  // Python's rules (PySlice_AdjustIndices): negative bounds count from the end, then bounds
  // are clamped to the dim; a missing bound is the natural end for the step's direction.
  int64_t bounds = !stop || *stop < 0 ? int64_t{kSliceStopFromEnd} : 0;  // recorded for jit()'s dynamic dims
  auto clamp = [&](std::optional<int64_t> v, int64_t missing) {
    if (!v) return missing;
    int64_t i = *v < 0 ? *v + n : *v;
    if (i < 0) return bounds |= kSliceClamped, step < 0 ? int64_t{-1} : int64_t{0};
    if (i >= n) return bounds |= kSliceClamped, step < 0 ? n - 1 : n;
    return i;
  };
  int64_t b = clamp(start, step > 0 ? 0 : n - 1);
  const int64_t e = clamp(stop, step > 0 ? n : -1);
  const uint64_t stride = step > 0 ? static_cast<uint64_t>(step) : 0 - static_cast<uint64_t>(step);
  const uint64_t span = step > 0 ? static_cast<uint64_t>(e - b) : static_cast<uint64_t>(b - e);  // when positive
  const int64_t len = (step > 0 ? e > b : b > e) ? static_cast<int64_t>((span - 1) / stride + 1) : 0;
  if (len == 0) b = 0;      // nothing is read
  // The same elements; keeps later step arithmetic (vjp) in range. A single element keeps a
  // step up to the dim's size: x[::5] and x[:1] of 3 rows differ where the size varies.
  if (len == 0) step = 1;
  if (len == 1) step = step > 0 ? std::min(step, n) : std::max(step, -n);
  Shape out_shape = x.shape();
  out_shape[ax] = len;
  if (Device d = op_device("slice", {&x}); d.is_cuda())
    return run_on_device("slice", {NodeKind::Slice, 0, {x}, {ax, b, step}, false, 0, out_shape, x.dtype()}, d);
  Tensor out = Tensor::empty(out_shape, x.dtype());
  record_op(NodeKind::Slice, {x}, out, 0, {ax, b, step, bounds});
  if (out.numel() == 0) return out;
  auto src_strides = strides_of(x.shape());
  const char* src = bytes(x) + b * src_strides[ax] * static_cast<int64_t>(itemsize(x.dtype()));
  src_strides[ax] *= step;
  auto dst_strides = strides_of(out_shape);
  strided_copy(x.dtype(), out_shape, bytes(out), dst_strides.data(), src, src_strides.data());
  return out;
}

Tensor concat(const std::vector<Tensor>& xs, int64_t axis) {
  OpScope prof("concat", xs);
  if (xs.empty()) fail("concat", "needs at least one tensor");
  for (const Tensor& t : xs) check_defined("concat", t);
  const Shape& first = xs[0].shape();
  if (first.rank() == 0) fail("concat", "cannot concatenate rank-0 tensors");
  int ax = normalize_axis("concat", axis, first.rank(), first);
  DType dt = xs[0].dtype();
  Shape out_shape = first;
  out_shape[ax] = 0;
  for (const Tensor& t : xs) {
    bool ok = t.rank() == first.rank();
    for (int d = 0; ok && d < first.rank(); ++d) ok = d == ax || t.shape()[d] == first[d];
    if (!ok) fail("concat", "shapes {} and {} differ outside axis {}", first, t.shape(), ax);
    out_shape[ax] += t.shape()[ax];
    dt = promote_types(dt, t.dtype());
  }
  const Device device = op_device("concat", xs);
  std::vector<Tensor> converted;
  for (const Tensor& t : xs) converted.push_back(to_dtype(t, dt));
  if (device.is_cuda())
    return run_on_device("concat", {NodeKind::Concat, 0, converted, {ax}, false, 0, out_shape, dt}, device);
  Tensor out = Tensor::empty(out_shape, dt);
  auto dst_strides = strides_of(out_shape);
  int64_t offset = 0;
  if (observers()) report_op(PrimOp{NodeKind::Concat, 0, converted, out, {ax}});
  for (const Tensor& src : converted) {
    auto src_strides = strides_of(src.shape());
    strided_copy(dt, src.shape(), bytes(out) + offset * dst_strides[ax] * static_cast<int64_t>(itemsize(dt)),
                 dst_strides.data(), bytes(src), src_strides.data());
    offset += src.shape()[ax];
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t axis) {
  if (xs.empty()) fail("stack", "needs at least one tensor");
  for (const Tensor& t : xs) {
    check_defined("stack", t);
    if (!(t.shape() == xs[0].shape())) fail("stack", "shapes {} and {} differ", xs[0].shape(), t.shape());
  }
  if (xs[0].rank() == kMaxRank) fail("stack", "shape {} already has the maximum rank {}", xs[0].shape(), kMaxRank);
  int ax = normalize_axis("stack", axis, xs[0].rank() + 1, xs[0].shape());
  std::vector<Tensor> expanded;
  for (const Tensor& t : xs) expanded.push_back(unsqueeze(t, ax));
  return concat(expanded, ax);
}

Tensor take(const Tensor& x, const Tensor& indices, int64_t axis) {
  OpScope prof("take", x, indices);
  check_defined("take", x);
  check_defined("take", indices);
  if (x.rank() == 0) fail("take", "cannot take from a rank-0 tensor");
  int ax = normalize_axis("take", axis, x.rank(), x.shape());
  const Device device = op_device("take", {&x, &indices});
  std::vector<int64_t> idx = index_values("take", indices);
  const int64_t n = x.shape()[ax];
  for (int64_t& i : idx) i = checked_index("take", i, n, ax, x.shape());
  std::vector<int64_t> dims(x.shape().begin(), x.shape().begin() + ax);
  dims.insert(dims.end(), indices.shape().begin(), indices.shape().end());
  dims.insert(dims.end(), x.shape().begin() + ax + 1, x.shape().end());
  if (device.is_cuda())
    return run_on_device("take", {NodeKind::Take, 0, {x, indices}, {ax}, false, 0, Shape(dims), x.dtype()}, device);
  Tensor out = Tensor::empty(Shape(dims), x.dtype());
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < ax; ++d) outer *= x.shape()[d];
  for (int d = ax + 1; d < x.rank(); ++d) inner *= x.shape()[d];
  const size_t isz = itemsize(x.dtype()), row = inner * isz;
  const int64_t k = static_cast<int64_t>(idx.size());
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(inner, 1));
  // Elements (along the last axis): a typed load and store each; rows: a memcpy each.
  auto elements = [&](auto tag) {
    using U = decltype(tag);
    U* o = reinterpret_cast<U*>(bytes(out));
    const U* from = reinterpret_cast<const U*>(bytes(x));
    parallel_for(outer * k, grain, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) o[t] = from[t / k * n + idx[static_cast<size_t>(t % k)]];
    });
  };
  if (inner == 1 && isz == 4) elements(uint32_t{});
  else if (inner == 1 && isz == 8) elements(uint64_t{});
  else
    parallel_for(outer * k, grain, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        int64_t o = t / k, j = t % k;
        std::memcpy(bytes(out) + t * row, bytes(x) + (o * n + idx[j]) * row, row);
      }
    });
  record_op(NodeKind::Take, {x, indices}, out, 0, {ax});
  return out;
}

namespace {

/// gather's result shape: dim `ax` from indices, on the other dims x's and indices'
/// broadcast (both of x's rank).
Shape gather_shape(const char* op, const Tensor& x, const Tensor& indices, int ax) {
  Shape out = x.shape();
  for (int d = 0; d < x.rank(); ++d) {
    if (d == ax) { out[d] = indices.shape()[d]; continue; }
    const int64_t a = x.shape()[d], b = indices.shape()[d];
    if (a != b && a != 1 && b != 1) fail(op, "x {} and indices {} cannot broadcast on dim {}", x.shape(), indices.shape(), d);
    out[d] = a == 1 ? b : a;
  }
  return out;
}

/// Calls f(t, xo) for each position t in [lo, hi) of gather's result (row-major) with the
/// offset xo in x of the element gather reads there (`idx`: the indices, checked and wrapped).
template <class F>
void for_each_gathered(const Shape& x, const Shape& indices, const Shape& out, int ax, const std::vector<int64_t>& idx,
                       int64_t lo, int64_t hi, F&& f) {
  if (lo >= hi) return;
  const auto xs = strides_of(x), is = strides_of(indices);
  const int r = x.rank();
  std::vector<int64_t> counter(r, 0);
  for (int64_t rest = lo, d = r - 1; d >= 0; --d) counter[d] = rest % out[d], rest /= out[d];  // lo's position
  for (int64_t t = lo; t < hi; ++t) {
    int64_t xo = 0, io = 0;
    for (int d = 0; d < r; ++d) {
      io += (indices[d] == 1 ? 0 : counter[d]) * is[d];
      if (d != ax) xo += (x[d] == 1 ? 0 : counter[d]) * xs[d];
    }
    f(t, xo + idx[io] * xs[ax]);
    for (int d = r - 1; d >= 0 && ++counter[d] == out[d]; --d) counter[d] = 0;
  }
}

}  // namespace

Tensor gather(const Tensor& x, const Tensor& indices, int64_t axis) {
  OpScope prof("gather", x, indices);
  check_defined("gather", x);
  check_defined("gather", indices);
  if (indices.rank() != x.rank())
    fail("gather", "indices of shape {} must have the rank of x {}", indices.shape(), x.shape());
  if (x.rank() == 0) fail("gather", "cannot gather from a rank-0 tensor");
  int ax = normalize_axis("gather", axis, x.rank(), x.shape());
  const Shape out_shape = gather_shape("gather", x, indices, ax);
  const Device device = op_device("gather", {&x, &indices});
  std::vector<int64_t> idx = index_values("gather", indices);
  const int64_t n = x.shape()[ax];
  for (int64_t& i : idx) i = checked_index("gather", i, n, ax, x.shape());
  if (device.is_cuda())
    return run_on_device("gather", {NodeKind::Gather, 0, {x, indices}, {ax}, false, 0, out_shape, x.dtype()}, device);
  Tensor out = Tensor::empty(out_shape, x.dtype());
  auto copy = [&](auto tag) {  // by element size: a load and a store, not a memcpy call, per element
    using U = decltype(tag);
    U* o = reinterpret_cast<U*>(bytes(out));
    const U* from = reinterpret_cast<const U*>(bytes(x));
    parallel_for(out.numel(), kElementwiseGrain, [&](int64_t lo, int64_t hi) {
      for_each_gathered(x.shape(), indices.shape(), out_shape, ax, idx, lo, hi, [&](int64_t t, int64_t xo) { o[t] = from[xo]; });
    });
  };
  by_element_size("gather", x.dtype(), copy);
  record_op(NodeKind::Gather, {x, indices}, out, 0, {ax});
  return out;
}

namespace {

/// x's slices along the axis with the slices of `updates` added at `idx` (in range, wrapped),
/// on the CPU. Slices of one outer index run in order, so that repeated indices add up in
/// order (the result does not depend on the thread pool); outer indices run in parallel.
template <class T>
void add_slices(Tensor& into, const Tensor& from, const std::vector<int64_t>& idx, int64_t outer, int64_t n, int64_t inner) {
  T* out = static_cast<T*>(into.raw_data());  // raw_data: the op's own reads, no host reads for a recorder
  const T* updates = static_cast<const T*>(from.raw_data());
  const auto k = static_cast<int64_t>(idx.size());
  parallel_for(outer, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, k * inner)), [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o)
      for (int64_t j = 0; j < k; ++j) {
        T* dst = out + (o * n + idx[static_cast<size_t>(j)]) * inner;
        const T* src = updates + (o * k + j) * inner;
        for (int64_t e = 0; e < inner; ++e) dst[e] += src[e];
      }
  });
}

/// scatter_add's sums on the CPU, in order of the updates' positions (row-major).
template <class T>
void add_gathered(Tensor& into, const Tensor& from, const Shape& x, const Shape& indices, int ax,
                  const std::vector<int64_t>& idx) {
  T* out = static_cast<T*>(into.raw_data());
  const T* updates = static_cast<const T*>(from.raw_data());
  for_each_gathered(x, indices, from.shape(), ax, idx, 0, from.numel(), [&](int64_t t, int64_t xo) { out[xo] += updates[t]; });
}

/// The result of an op that adds into x, on the CPU, before its additions: x's memory when
/// the caller gave x up (`given`) and nothing else shares it (take's gradient: the zeros it
/// starts from are not copied), else a copy of x.
Tensor start_from(const Tensor& x, bool given) {
  if (given && x.numel() > 0 && can_overwrite(x, x.numel(), x.dtype())) return on_storage_of(x, x.shape(), x.dtype());
  Tensor out = Tensor::empty(x.shape(), x.dtype(), Device::cpu());
  if (x.numel() > 0)  // an empty x has no storage to copy (null pointers)
    std::memcpy(bytes(out), bytes(x), static_cast<size_t>(x.numel()) * itemsize(x.dtype()));
  return out;
}

Tensor index_add_on_cpu(const Tensor& x, const std::vector<int64_t>& idx, const Tensor& updates, int ax, bool given) {
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < ax; ++d) outer *= x.shape()[d];
  for (int d = ax + 1; d < x.rank(); ++d) inner *= x.shape()[d];
  const int64_t n = x.shape()[ax];
  Tensor out = start_from(x, given);
  if (x.numel() == 0) return out;
  switch (x.dtype()) {
    case DType::I32: add_slices<int32_t>(out, updates, idx, outer, n, inner); break;
    case DType::I64: add_slices<int64_t>(out, updates, idx, outer, n, inner); break;
    case DType::F32: add_slices<float>(out, updates, idx, outer, n, inner); break;
    case DType::F64: add_slices<double>(out, updates, idx, outer, n, inner); break;
    case DType::Bool: break;  // refused by index_add
  }
  return out;
}

Tensor scatter_add_on_cpu(const Tensor& x, const Tensor& indices, const std::vector<int64_t>& idx, const Tensor& updates, int ax,
                          bool given) {
  Tensor out = start_from(x, given);
  if (updates.numel() == 0) return out;
  switch (x.dtype()) {
    case DType::I32: add_gathered<int32_t>(out, updates, x.shape(), indices.shape(), ax, idx); break;
    case DType::I64: add_gathered<int64_t>(out, updates, x.shape(), indices.shape(), ax, idx); break;
    case DType::F32: add_gathered<float>(out, updates, x.shape(), indices.shape(), ax, idx); break;
    case DType::F64: add_gathered<double>(out, updates, x.shape(), indices.shape(), ax, idx); break;
    case DType::Bool: break;  // refused by scatter_add
  }
  return out;
}

/// The checks index_add and scatter_add share, before their shape rules: defined operands,
/// a rank, a dtype that adds. Returns the axis.
int check_adding_into(const char* op, const Tensor& x, const Tensor& indices, const Tensor& updates, int64_t axis) {
  check_defined(op, x);
  check_defined(op, indices);
  check_defined(op, updates);
  if (x.rank() == 0) fail(op, "cannot add into a rank-0 tensor");
  const int ax = normalize_axis(op, axis, x.rank(), x.shape());
  if (x.dtype() == DType::Bool) fail(op, "not defined for dtype bool (shape {})", x.shape());
  return ax;
}

/// The checked indices of an op that adds into x (dtype, range).
std::vector<int64_t> checked_indices(const char* op, const Tensor& indices, const Tensor& x, int ax) {
  std::vector<int64_t> idx = index_values(op, indices);
  for (int64_t& i : idx) i = checked_index(op, i, x.shape()[ax], ax, x.shape());
  return idx;
}

}  // namespace

namespace {

Tensor index_add_op(const Tensor& x, const Tensor& indices, const Tensor& updates, int64_t axis, bool given) {
  OpScope prof("index_add", x, indices);
  const int ax = check_adding_into("index_add", x, indices, updates, axis);
  const Device device = op_device("index_add", {&x, &indices, &updates});
  std::vector<int64_t> dims(x.shape().begin(), x.shape().begin() + ax);
  dims.insert(dims.end(), indices.shape().begin(), indices.shape().end());
  dims.insert(dims.end(), x.shape().begin() + ax + 1, x.shape().end());
  if (updates.shape() != Shape(dims) || updates.dtype() != x.dtype())
    fail("index_add", "updates of shape {} and dtype {} do not fit x {} {} with indices {} along axis {} (expected {} {})",
         updates.shape(), updates.dtype(), x.shape(), x.dtype(), indices.shape(), ax, Shape(dims), x.dtype());
  const std::vector<int64_t> idx = checked_indices("index_add", indices, x, ax);
  // No GPU kernel yet: a GPU tensor's scatter runs on the host, between copies.
  Tensor out = device.is_cuda() ? index_add_on_cpu(x.to(Device::cpu()), idx, updates.to(Device::cpu()), ax, false).to(device)
                                : index_add_on_cpu(x, idx, updates, ax, given);
  record_op(NodeKind::IndexAdd, {x, indices, updates}, out, 0, {ax});
  return out;
}

Tensor scatter_add_op(const Tensor& x, const Tensor& indices, const Tensor& updates, int64_t axis, bool given) {
  OpScope prof("scatter_add", x, indices);
  const int ax = check_adding_into("scatter_add", x, indices, updates, axis);
  if (indices.rank() != x.rank())
    fail("scatter_add", "indices of shape {} must have the rank of x {}", indices.shape(), x.shape());
  const Device device = op_device("scatter_add", {&x, &indices, &updates});
  const Shape gathered = gather_shape("scatter_add", x, indices, ax);
  if (updates.shape() != gathered || updates.dtype() != x.dtype())
    fail("scatter_add",
         "updates of shape {} and dtype {} do not fit x {} {} with indices {} along axis {} (expected gather's result {} {})",
         updates.shape(), updates.dtype(), x.shape(), x.dtype(), indices.shape(), ax, gathered, x.dtype());
  const std::vector<int64_t> idx = checked_indices("scatter_add", indices, x, ax);
  Tensor out = device.is_cuda()
                   ? scatter_add_on_cpu(x.to(Device::cpu()), indices, idx, updates.to(Device::cpu()), ax, false).to(device)
                   : scatter_add_on_cpu(x, indices, idx, updates, ax, given);
  record_op(NodeKind::ScatterAdd, {x, indices, updates}, out, 0, {ax});
  return out;
}

}  // namespace

Tensor index_add(const Tensor& x, const Tensor& indices, const Tensor& updates, int64_t axis) {
  return index_add_op(x, indices, updates, axis, false);
}

Tensor index_add(Tensor&& x, const Tensor& indices, const Tensor& updates, int64_t axis) {
  Tensor out = index_add_op(x, indices, updates, axis, true);
  x = Tensor();  // given up, whether or not its memory was used
  return out;
}

Tensor scatter_add(const Tensor& x, const Tensor& indices, const Tensor& updates, int64_t axis) {
  return scatter_add_op(x, indices, updates, axis, false);
}

Tensor scatter_add(Tensor&& x, const Tensor& indices, const Tensor& updates, int64_t axis) {
  Tensor out = scatter_add_op(x, indices, updates, axis, true);
  x = Tensor();
  return out;
}

Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& widths, Scalar value) {
  OpScope prof("pad", x);
  check_defined("pad", x);
  if (static_cast<int>(widths.size()) != x.rank())
    fail("pad", "{} (before, after) pairs given for shape {}", widths.size(), x.shape());
  Shape out_shape = x.shape();
  int64_t offset = 0;
  for (int d = 0; d < x.rank(); ++d) {
    auto [lo, hi] = widths[d];
    if (lo < 0 || hi < 0) fail("pad", "negative width ({}, {}) for dim {} of shape {}", lo, hi, d, x.shape());
    out_shape[d] += lo + hi;
  }
  std::vector<int64_t> low_high;
  for (auto [lo, hi] : widths) low_high.push_back(lo);
  for (auto [lo, hi] : widths) low_high.push_back(hi);
  const double fill = value.dtype() == DType::F64 ? value.to_double() : static_cast<double>(value.to_int());
  if (Device d = op_device("pad", {&x}); d.is_cuda())
    return run_on_device("pad", {NodeKind::Pad, 0, {x}, low_high, false, fill, out_shape, x.dtype()}, d);
  Tensor out;
  {
    PauseRecording pause;
    DeviceScope on_cpu(Device::cpu());
    out = full(out_shape, value, x.dtype());
  }
  auto dst_strides = strides_of(out_shape), src_strides = strides_of(x.shape());
  for (int d = 0; d < x.rank(); ++d) offset += widths[d].first * dst_strides[d];
  strided_copy(x.dtype(), x.shape(), bytes(out) + offset * static_cast<int64_t>(itemsize(x.dtype())),
               dst_strides.data(), bytes(x), src_strides.data());
  record_op(NodeKind::Pad, {x}, out, 0, std::move(low_high), false, fill);
  return out;
}

}  // namespace ejit
