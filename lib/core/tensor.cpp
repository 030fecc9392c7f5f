// Storage and Tensor basics: allocation, element reads, printing.
#include "ejit/tensor.h"

#include <ostream>
#include <vector>

#include "../cuda/runtime.h"
#include "allocator.h"
#include "../support/check.h"
#include "convert.h"
#include "observer.h"
#include "op_profile.h"

namespace ejit {
namespace detail {

uint64_t next_tensor_id() noexcept {
  // Each thread takes ids in blocks: an atomic add per tensor cost 7 ns of a 63 ns op.
  constexpr uint64_t kBlock = uint64_t{1} << 16;
  static std::atomic<uint64_t> blocks{1};
  thread_local uint64_t next = 0, end = 0;
  if (next == end) {
    next = blocks.fetch_add(1, std::memory_order_relaxed) * kBlock;
    end = next + kBlock;
  }
  return next++;
}

Storage* Storage::allocate(size_t nbytes, Device device) {
  auto* s = new Storage;
  if (device.is_cuda()) {
    try {
      s->data = cuda::allocate(device.index, nbytes, &s->nbytes, "tensor");
    } catch (...) {
      delete s;
      throw;
    }
    s->device = device;
    return s;
  }
  try {
    s->data = cpu_allocate(nbytes, &s->nbytes);
  } catch (const std::bad_alloc&) {
    delete s;
    fail("tensor", "out of memory allocating {} bytes", nbytes);
  }
  s->device = device;
  return s;
}

void Storage::release() {
  if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    if (device.is_cuda()) cuda::deallocate(device.index, data, nbytes);
    else cpu_deallocate(data, nbytes);
    delete this;
  }
}

}  // namespace detail

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  int64_t n = 1, span = 1;  // span: the product of the non-zero dims, which the strides reach
  for (int64_t d : shape) {
    if (d < 0) fail("tensor", "negative dimension in shape {}", shape);
    if (d == 0) n = 0;
    else if (__builtin_mul_overflow(span, d, &span) || span > kMaxElements) fail("tensor", "shape {} is too large", shape);
  }
  if (n != 0) n = span;
  auto* storage = detail::Storage::allocate(static_cast<size_t>(n) * itemsize(dtype), device);
  return Tensor(new detail::TensorImpl(storage, shape, dtype));
}

const void* Tensor::element_ptr(std::initializer_list<int64_t> index) const {
  const Shape& s = shape();
  if (static_cast<int>(index.size()) != s.rank())
    fail("at", "{} indices given for a tensor of shape {}", index.size(), s);
  int64_t offset = 0, i = 0;
  for (int64_t idx : index) {
    int64_t d = s[i];
    if (idx < -d || idx >= d) fail("at", "index {} is out of range for dim {} of shape {}", idx, i, s);
    offset = offset * d + (idx < 0 ? idx + d : idx);
    ++i;
  }
  return static_cast<const char*>(raw_data()) + offset * itemsize(dtype());
}

void detail::report_host_access(const Tensor& t, const char* how, bool may_write) {
  if (profiling()) [[unlikely]] profile_host_read(t, how);
  if (const auto* list = observers())
    for (OpObserver* o : *list) o->on_host_read(t, how, may_write);
}

void detail::report_size_read(const Tensor& t, int64_t axis) {
  if (const auto* list = observers())
    for (OpObserver* o : *list) o->on_size_read(t, axis);
}

void Tensor::read_converted(DType to, void* dst, int64_t offset, int64_t count) const {
  detail::report_host_access(*this, "item/to_vector/at");
  const char* src = static_cast<const char*>(raw_data()) + offset * itemsize(dtype());
  if (device().is_cuda()) {  // through a host copy of the elements asked for
    std::vector<char> host(count * itemsize(dtype()));
    cuda::copy_to_host(device().index, host.data(), src, host.size());
    detail::convert_elements(dtype(), host.data(), to, dst, count);
    return;
  }
  detail::convert_elements(dtype(), src, to, dst, count);
}

Tensor Tensor::to(Device device) const {
  if (this->device() == device) return *this;
  if (device.is_cuda() && !cuda_available())
    fail("to", "cannot move a tensor of shape {} to {}: no CUDA device: {}", shape(), device.str(),
         cuda_unavailable_reason());
  Tensor out = empty(shape(), dtype(), device);
  out.impl()->weak = impl()->weak;
  const Device from = this->device();
  if (from.is_cpu()) {
    cuda::copy_to_device(device.index, out.raw_data(), raw_data(), nbytes());
  } else if (device.is_cpu()) {
    cuda::copy_to_host(from.index, out.raw_data(), raw_data(), nbytes());
  } else {  // between two GPUs, through the host
    return to(Device::cpu()).to(device);
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace ejit
