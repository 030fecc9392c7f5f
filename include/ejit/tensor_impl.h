// The reference-counted storage and tensor bodies behind the Tensor handle (detail).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "ejit/device.h"
#include "ejit/dtype.h"
#include "ejit/shape.h"

namespace ejit::detail {

void* small_object_allocate(size_t bytes);             // lib/core/small_objects.h
void small_object_free(void* p, size_t bytes) noexcept;
uint64_t next_tensor_id() noexcept;                    // lib/core/tensor.cpp

/// A block of device memory shared by the tensors that view it (reshape shares it).
struct Storage {
  std::atomic<int32_t> refs{1};
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;

  /// Fresh storage from the caching allocator; contents uninitialized.
  static Storage* allocate(size_t nbytes, Device device);
  static void* operator new(size_t n) { return small_object_allocate(n); }
  static void operator delete(void* p, size_t n) noexcept { small_object_free(p, n); }
  void retain() { refs.fetch_add(1, std::memory_order_relaxed); }
  void release();
};

/// A contiguous row-major view of a Storage with a shape and a dtype.
struct TensorImpl {
  std::atomic<int32_t> refs{1};
  bool weak = false;  // made from a C++ scalar: does not widen dtypes in promotion
  DType dtype = DType::F32;
  // Unique in the process, never reused (unlike the address): recorders key values on it
  // without keeping them alive.
  uint64_t id;
  Storage* storage = nullptr;
  Shape shape;
  int64_t numel = 0;

  TensorImpl(Storage* s, const Shape& sh, DType dt)
      : dtype(dt), id(next_tensor_id()), storage(s), shape(sh), numel(sh.numel()) {}
  static void* operator new(size_t n) { return small_object_allocate(n); }
  static void operator delete(void* p, size_t n) noexcept { small_object_free(p, n); }
  ~TensorImpl() { storage->release(); }
  void retain() { refs.fetch_add(1, std::memory_order_relaxed); }
  void release() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

}  // namespace ejit::detail
