// Creation ops: from data, zeros/ones/full, arange, linspace, eye, seeded randn/rand.
#include <cmath>
#include <cstring>
#include <limits>

#include "../core/host_data.h"
#include "dispatch.h"
#include "ejit/random.h"

namespace ejit {

using namespace detail;

namespace {

/// A tensor filled on the host, moved to the default device (see DeviceScope).
Tensor placed(const Tensor& t) {
  const Device d = default_device();
  return d.is_cpu() ? t : t.to(d);
}

/// Runs f with new tensors going to `device`.
template <class F> Tensor on_device(Device device, F&& f) {
  DeviceScope scope(device);
  return f();
}

}  // namespace

template <class T> Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
  OpScope prof("from_vector", shape);
  if (static_cast<int64_t>(values.size()) != shape.numel())
    fail("tensor", "{} values given for shape {} ({} elements)", values.size(), shape, shape.numel());
  Tensor t = Tensor::empty(shape, dtype_of<T>);
  if constexpr (std::is_same_v<T, bool>) {
    bool* p = detail::host_data<bool>(t);
    for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  } else if (!values.empty()) {
    std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  }
  t = placed(t);
  record_op(NodeKind::Constant, {}, t);
  return t;
}
template Tensor from_vector(const std::vector<bool>&, const Shape&);
template Tensor from_vector(const std::vector<int32_t>&, const Shape&);
template Tensor from_vector(const std::vector<int64_t>&, const Shape&);
template Tensor from_vector(const std::vector<float>&, const Shape&);
template Tensor from_vector(const std::vector<double>&, const Shape&);

Tensor full(const Shape& shape, Scalar value, std::optional<DType> dtype) {
  OpScope prof("full", shape);
  DType dt = dtype.value_or(value.dtype() == DType::F64 ? kDefaultFloat : value.dtype());
  Tensor t = Tensor::empty(shape, dt);
  visit_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    T v = value.dtype() == DType::F64 ? convert<T>(value.to_double()) : convert<T>(value.to_int());
    T* p = detail::host_data<T>(t);
    parallel_for(t.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) { std::fill(p + b, p + e, v); });
  });
  t = placed(t);
  record_op(NodeKind::Constant, {}, t);
  return t;
}

Tensor zeros(const Shape& shape, DType dtype) { return full(shape, 0, dtype); }
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1, dtype); }
Tensor zeros_like(const Tensor& x) { return on_device(x.device(), [&] { return zeros(x.shape(), x.dtype()); }); }
Tensor ones_like(const Tensor& x) { return on_device(x.device(), [&] { return ones(x.shape(), x.dtype()); }); }
Tensor full_like(const Tensor& x, Scalar value) {
  return on_device(x.device(), [&] { return full(x.shape(), value, x.dtype()); });
}

Tensor arange(Scalar start, Scalar stop, Scalar step, std::optional<DType> dtype) {
  bool all_int = start.dtype() != DType::F64 && stop.dtype() != DType::F64 && step.dtype() != DType::F64;
  DType dt = dtype.value_or(all_int ? DType::I64 : kDefaultFloat);
  double s = start.to_double(), e = stop.to_double(), st = step.to_double();
  if (st == 0 || !std::isfinite(s) || !std::isfinite(e) || !std::isfinite(st))
    fail("arange", "needs a finite non-zero step and finite bounds (start {}, stop {}, step {})", s, e, st);
  int64_t n = all_int ? std::max<int64_t>(0, (stop.to_int() - start.to_int() + step.to_int() - (step.to_int() > 0 ? 1 : -1)) / step.to_int())
                      : std::max<int64_t>(0, static_cast<int64_t>(std::ceil((e - s) / st)));
  Tensor t = Tensor::empty(Shape{n}, dt);
  visit_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    T* p = detail::host_data<T>(t);
    for (int64_t i = 0; i < n; ++i)
      p[i] = all_int ? convert<T>(start.to_int() + i * step.to_int()) : convert<T>(s + static_cast<double>(i) * st);
  });
  t = placed(t);
  record_op(NodeKind::Constant, {}, t);
  return t;
}

Tensor arange(int64_t stop) { return arange(0, stop, 1); }

Tensor linspace(double start, double stop, int64_t num, DType dtype) {
  if (num < 0) fail("linspace", "num must be >= 0, got {}", num);
  Tensor t = Tensor::empty(Shape{num}, dtype);
  double step = num > 1 ? (stop - start) / static_cast<double>(num - 1) : 0.0;
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = detail::host_data<T>(t);
    for (int64_t i = 0; i < num; ++i) p[i] = convert<T>(i == num - 1 && num > 1 ? stop : start + step * static_cast<double>(i));
  });
  t = placed(t);
  record_op(NodeKind::Constant, {}, t);
  return t;
}

Tensor eye(int64_t n, int64_t m, DType dtype) {
  if (m < 0) m = n;
  if (n < 0) fail("eye", "size must be >= 0, got {}", n);
  Tensor t;
  {
    PauseRecording pause;
    DeviceScope on_cpu(Device::cpu());
    t = zeros(Shape{n, m}, dtype);
  }
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = detail::host_data<T>(t);
    for (int64_t i = 0; i < std::min(n, m); ++i) p[i * m + i] = T(1);
  });
  t = placed(t);
  record_op(NodeKind::Constant, {}, t);
  return t;
}

namespace {

/// Fills with sample(i) rounded to dtype; values rounding up to `upper` move just below it.
template <class F>
Tensor random_tensor(const char* op, const Shape& shape, DType dtype, F&& sample, double upper = INFINITY) {
  OpScope prof(op, shape);
  if (!is_floating(dtype)) fail(op, "dtype must be f32 or f64, got {}", dtype);
  Tensor t = Tensor::empty(shape, dtype);
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = detail::host_data<T>(t);
    parallel_for(t.numel(), 4096, [&](int64_t b, int64_t e) {
      const T hi = static_cast<T>(upper), below = std::nextafter(hi, -std::numeric_limits<T>::infinity());
      for (int64_t i = b; i < e; ++i) {
        T v = static_cast<T>(sample(static_cast<uint64_t>(i)));
        p[i] = v < hi ? v : below;
      }
    });
  });
  t = placed(t);
  record_op(NodeKind::Constant, {}, t);
  return t;
}

}  // namespace

Tensor randn(const Shape& shape, uint64_t seed, DType dtype) {
  return random_tensor("randn", shape, dtype, [&](uint64_t i) { return random::normal(seed, i); });
}

Tensor rand(const Shape& shape, uint64_t seed, DType dtype, double low, double high) {
  if (!(low < high) || !std::isfinite(low) || !std::isfinite(high))
    fail("rand", "needs finite low < high, got [{}, {})", low, high);
  return random_tensor("rand", shape, dtype, [&](uint64_t i) { return low + (high - low) * random::uniform(seed, i); },
                       high);
}

bool executing_eagerly() { return true; }

}  // namespace ejit
