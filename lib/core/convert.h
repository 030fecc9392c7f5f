// convert<To>(from): the one definition of element conversion between dtypes.
//
// Floats to integers truncate toward zero and saturate at the integer's range; NaN becomes
// 0 (C++ leaves these cases undefined, so they are spelled out). Non-zero is true.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "ejit/dtype.h"

namespace ejit::detail {

/// Always inlined: kernels built for several ISAs must not share an out-of-line copy.
template <class To, class From> [[gnu::always_inline]] inline To convert(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
    constexpr From lo = static_cast<From>(std::numeric_limits<To>::min());
    constexpr From hi = static_cast<From>(std::numeric_limits<To>::max());
    return v != v ? To(0) : v <= lo ? std::numeric_limits<To>::min()
                          : v >= hi ? std::numeric_limits<To>::max()
                                    : static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

/// Calls f(T{}) with T the C++ type of dtype.
template <class F> decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::Bool: return f(bool{});
    case DType::I32: return f(int32_t{});
    case DType::I64: return f(int64_t{});
    case DType::F32: return f(float{});
    case DType::F64: break;
  }
  return f(double{});
}

/// Scalar-loop conversion of n elements (kernels have vectorized ones).
inline void convert_elements(DType from, const void* src, DType to, void* dst, int64_t n) {
  visit_dtype(from, [&](auto f) {
    using F = decltype(f);
    visit_dtype(to, [&](auto t) {
      using T = decltype(t);
      const F* s = static_cast<const F*>(src);
      T* d = static_cast<T*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = convert<T>(s[i]);
    });
  });
}

}  // namespace ejit::detail
