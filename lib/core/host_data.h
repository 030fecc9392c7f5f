// Library-internal typed access to a CPU tensor's elements, without telling recorders.
// Tensor::data<T>() reports a host access to recorders (a jitted function that reads raw
// values stays eager); the interpreter's own kernels read and write through these instead.
#pragma once

// Its inline code reads tensor sizes: only library code (EJIT_LIBRARY_CODE, quiet size
// reads) may include it, or a test's copy of these functions would report to recorders.
#ifndef EJIT_LIBRARY_CODE
#error "a library-internal header: include it from library code only"
#endif

#include <cstring>
#include <string>

#include "ejit/tensor.h"

namespace ejit::detail {

/// The elements of a CPU tensor whose dtype is T's (the caller has checked both).
template <class T> const T* host_data(const Tensor& t) { return static_cast<const T*>(t.raw_data()); }
template <class T> T* host_data(Tensor& t) { return static_cast<T*>(t.raw_data()); }

/// The bytes of a tensor's elements, copied to the host (from a device if it is on one).
inline std::string host_bytes(const Tensor& t) {
  const Tensor host = t.to(Device::cpu());
  return std::string(static_cast<const char*>(host.raw_data()), host.nbytes());
}

/// A CPU tensor of its own with t's values (t on the CPU or a device): a buffer that may be
/// overwritten without touching t.
inline Tensor host_copy(const Tensor& t) {
  if (!t.device().is_cpu()) return t.to(Device::cpu());  // already a buffer of its own
  const Tensor& host = t;
  Tensor copy = Tensor::empty(host.shape(), host.dtype());
  if (host.nbytes() > 0) std::memcpy(copy.raw_data(), host.raw_data(), host.nbytes());
  return copy;
}

}  // namespace ejit::detail
