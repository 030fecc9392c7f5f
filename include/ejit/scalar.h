// Scalar: a C++ number used as an operand (a + 2.0f), promoted like a "weak" value.
#pragma once

#include <concepts>
#include <cstdint>

#include "ejit/dtype.h"

namespace ejit {

/// A C++ number operand. It does not widen a tensor's dtype within its category:
/// f32 tensor * 2.0 stays f32, i32 tensor * 2 stays i32, i32 tensor * 0.5 becomes f32.
class Scalar {
 public:
  template <class T>
    requires std::integral<T> || std::floating_point<T>
  Scalar(T v) {  // NOLINT(implicit)
    if constexpr (std::same_as<T, bool>) {
      dtype_ = DType::Bool, i_ = v, d_ = v;
    } else if constexpr (std::integral<T>) {
      dtype_ = DType::I64, i_ = static_cast<int64_t>(v), d_ = static_cast<double>(v);
    } else {
      dtype_ = DType::F64, d_ = static_cast<double>(v), i_ = static_cast<int64_t>(0);
    }
  }
  /// Bool, I64 or F64: the category of the C++ value.
  DType dtype() const { return dtype_; }
  double to_double() const { return d_; }
  int64_t to_int() const { return dtype_ == DType::F64 ? static_cast<int64_t>(d_) : i_; }

 private:
  DType dtype_;
  int64_t i_;
  double d_;
};

}  // namespace ejit
