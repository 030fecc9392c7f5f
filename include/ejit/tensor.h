// Tensor: a reference-counted handle to an n-dimensional array that ops execute on at once.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <optional>
#include <type_traits>
#include <string>
#include <utility>
#include <vector>

#include "ejit/device.h"
#include "ejit/dtype.h"
#include "ejit/error.h"
#include "ejit/scalar.h"
#include "ejit/shape.h"
#include "ejit/tensor_impl.h"

namespace ejit {

class Tensor;
namespace detail {
/// Tells this thread's recorders that C++ code is about to access t's values through `how`.
void report_host_access(const Tensor& t, const char* how, bool may_write = false);
/// Tells this thread's recorders that the user's C++ code read t's dim `axis` (-1: every
/// dim) while recording: its control flow may depend on the size (see jit()'s dynamic dims).
void report_size_read(const Tensor& t, int64_t axis);
}  // namespace detail

// The size accessors come in two builds. In user code they report each read to the
// recorders of the thread (a jitted function whose C++ code reads a size that varies is not
// made dynamic by default). The library's own reads are not decisions of the user's code:
// compiled with EJIT_LIBRARY_CODE, they are quiet, and ABI-tagged so that both builds of
// an accessor can live in one program under different names.
#ifdef EJIT_LIBRARY_CODE
#define EJIT_SIZE_ACCESSOR [[gnu::abi_tag("ejit_quiet")]]
#define EJIT_REPORT_SIZE_READ(axis) static_cast<void>(0)
#else
#define EJIT_SIZE_ACCESSOR
#define EJIT_REPORT_SIZE_READ(axis) detail::report_size_read(*this, axis)
#endif

/// A handle to a contiguous row-major array. Copies share the data; memory returns to
/// the allocator when the last handle (and the last view of its storage) goes away.
class Tensor {
 public:
  /// An undefined handle; most operations on it throw ejit::Error.
  Tensor() = default;
  /// Adopts a TensorImpl that already holds one reference (internal).
  explicit Tensor(detail::TensorImpl* impl) : impl_(impl) {}
  Tensor(const Tensor& o) : impl_(o.impl_) { if (impl_) impl_->retain(); }
  Tensor(Tensor&& o) noexcept : impl_(std::exchange(o.impl_, nullptr)) {}
  Tensor& operator=(const Tensor& o) { Tensor(o).swap(*this); return *this; }
  Tensor& operator=(Tensor&& o) noexcept { Tensor(std::move(o)).swap(*this); return *this; }
  ~Tensor() { if (impl_) impl_->release(); }
  void swap(Tensor& o) noexcept { std::swap(impl_, o.impl_); }

  /// Fresh uninitialized tensor (internal building block of the ops).
  static Tensor empty(const Shape& shape, DType dtype, Device device = Device::cpu());

  bool defined() const { return impl_ != nullptr; }
  EJIT_SIZE_ACCESSOR const Shape& shape() const { EJIT_REPORT_SIZE_READ(-1); return impl()->shape; }
  int rank() const { return impl()->shape.rank(); }
  /// Size of one dim; negative axes count from the end.
  EJIT_SIZE_ACCESSOR int64_t dim(int64_t axis) const {
    const int a = normalize_axis("dim", axis, rank(), impl()->shape);
    EJIT_REPORT_SIZE_READ(a);
    return impl()->shape[a];
  }
  EJIT_SIZE_ACCESSOR int64_t numel() const { EJIT_REPORT_SIZE_READ(-1); return impl()->numel; }
  DType dtype() const { return impl()->dtype; }
  Device device() const { return impl()->storage->device; }
  EJIT_SIZE_ACCESSOR size_t nbytes() const { return numel() * itemsize(dtype()); }

  /// The single value of a one-element tensor, converted to T.
  template <class T> T item() const;
  /// All values in row-major order, converted to T.
  template <class T> std::vector<T> to_vector() const;
  /// One element, converted to T; negative indices count from the end.
  template <class T> T at(std::initializer_list<int64_t> index) const;
  /// Typed pointer to the data; throws unless T matches dtype() and the tensor is on the CPU.
  /// Inside a jitted function this is a host access: the const form is a guard (the code
  /// after it compiles per distinct contents read; values read now are never baked into code
  /// for others); the mutable form may write, so that function call runs eagerly.
  template <class T> const T* data() const;
  template <class T> T* data();
  /// The storage's address, unchecked and unobserved (for kernels and I/O code).
  const void* raw_data() const { return impl()->storage->data; }
  void* raw_data() { return impl()->storage->data; }

  /// True when both handles see the same memory (e.g. a reshape of the other).
  bool shares_storage(const Tensor& o) const { return impl()->storage == o.impl()->storage; }

  // Method forms of common ops (see ops.h).
  Tensor reshape(const Shape& shape) const;
  Tensor astype(DType dtype) const;
  /// This tensor on `device`: itself when it is already there, else a copy. Copies to the
  /// host wait for the device's queued work; copies to a device are queued.
  Tensor to(Device device) const;
  Tensor transpose() const;
  Tensor slice(int64_t axis, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step = 1) const;
  Tensor sum(std::vector<int64_t> axes = {}, bool keepdims = false) const;
  Tensor mean(std::vector<int64_t> axes = {}, bool keepdims = false) const;

  /// NumPy-like text, long tensors elided.
  std::string str() const;

  detail::TensorImpl* impl() const {
    if (!impl_) throw Error("[tensor] use of an undefined tensor");
    return impl_;
  }

 private:
  template <class T> const T* data_checked(const char* how, bool may_write) const;  // data()'s checks and report
  const void* element_ptr(std::initializer_list<int64_t> index) const;
  void read_converted(DType to, void* dst, int64_t offset, int64_t count) const;

  detail::TensorImpl* impl_ = nullptr;
};

#undef EJIT_SIZE_ACCESSOR
#undef EJIT_REPORT_SIZE_READ

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- template definitions (size reads through impl(): these are the library's) ----

template <class T> T Tensor::item() const {
  if (impl()->numel != 1)
    throw Error("[item] tensor of shape " + impl()->shape.str() + " has " + std::to_string(impl()->numel) +
                " elements, not 1");
  T v;
  if constexpr (std::is_same_v<T, bool>) {
    bool b; read_converted(DType::Bool, &b, 0, 1); v = b;
  } else {
    read_converted(dtype_of<T>, &v, 0, 1);
  }
  return v;
}

template <class T> std::vector<T> Tensor::to_vector() const {
  if constexpr (std::is_same_v<T, bool>) {
    std::vector<char> tmp(impl()->numel);
    read_converted(DType::Bool, tmp.data(), 0, impl()->numel);
    return std::vector<bool>(tmp.begin(), tmp.end());
  } else {
    std::vector<T> out(impl()->numel);
    read_converted(dtype_of<T>, out.data(), 0, impl()->numel);
    return out;
  }
}

template <class T> T Tensor::at(std::initializer_list<int64_t> index) const {
  const char* base = static_cast<const char*>(raw_data());
  int64_t offset = (static_cast<const char*>(element_ptr(index)) - base) / static_cast<int64_t>(itemsize(dtype()));
  if constexpr (std::is_same_v<T, bool>) {
    bool b; read_converted(DType::Bool, &b, offset, 1); return b;
  } else {
    T v; read_converted(dtype_of<T>, &v, offset, 1); return v;
  }
}

template <class T> const T* Tensor::data() const {
  return data_checked<T>("data<T>()", false);
}

template <class T> T* Tensor::data() {
  // Writes through it are invisible to a recorder: inside a jitted function the trace
  // does not compile (a const Tensor's data<T>() only reads, and is a guard).
  return const_cast<T*>(data_checked<T>("data<T>() of a non-const tensor", true));
}

template <class T> const T* Tensor::data_checked(const char* how, bool may_write) const {
  if (dtype() != dtype_of<T>)
    throw Error("[data] tensor has dtype " + std::string(name(dtype())) + ", asked for " +
                std::string(name(dtype_of<T>)));
  if (!device().is_cpu())
    throw Error("[data] tensor of shape " + impl()->shape.str() + " is on " + device().str() +
                "; host pointers need .to(Device::cpu())");
  detail::report_host_access(*this, how, may_write);
  return static_cast<const T*>(raw_data());
}

}  // namespace ejit
