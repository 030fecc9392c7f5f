// Namespace k: one spelling per math function for every dtype, used by the op table's
// expressions. Float versions are branch-free and vectorize (vmath.h); double versions
// call libm; integer versions are exact and never trap.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "vmath.h"

/// Kernel helpers are always inlined: the kernel table is compiled once per ISA, and an
/// out-of-line copy would be shared between those builds by the linker (wrong ISA).
#define EJIT_KERNEL_INLINE [[gnu::always_inline]] inline

namespace ejit::k {

template <class T> inline constexpr bool is_float_v = std::is_floating_point_v<T>;

template <class T> EJIT_KERNEL_INLINE T abs(T x) {
  if constexpr (is_float_v<T>) return std::fabs(x);
  else return x < T(0) ? T(-x) : x;
}
template <class T> EJIT_KERNEL_INLINE T sign(T x) {
  if constexpr (is_float_v<T>) return x > T(0) ? T(1) : x < T(0) ? T(-1) : x;  // keeps ±0 and NaN
  else return T((x > T(0)) - (x < T(0)));
}
template <class T> EJIT_KERNEL_INLINE T relu(T x) { return x < T(0) ? T(0) : x; }  // keeps NaN
template <class T> EJIT_KERNEL_INLINE T floor(T x) {
  if constexpr (is_float_v<T>) return std::floor(x);
  else return x;
}
template <class T> EJIT_KERNEL_INLINE T ceil(T x) {
  if constexpr (is_float_v<T>) return std::ceil(x);
  else return x;
}
template <class T> EJIT_KERNEL_INLINE T round_half_even(T x) {
  if constexpr (std::is_same_v<T, float>) return __builtin_roundevenf(x);
  else if constexpr (std::is_same_v<T, double>) return __builtin_roundeven(x);
  else return x;
}
template <class T> EJIT_KERNEL_INLINE bool isfinite(T x) {
  if constexpr (is_float_v<T>) return (x - x) == (x - x);  // inf - inf and NaN are NaN
  else return true;
}
EJIT_KERNEL_INLINE float sqrt(float x) { return std::sqrt(x); }
EJIT_KERNEL_INLINE double sqrt(double x) { return std::sqrt(x); }

EJIT_KERNEL_INLINE float exp(float x) { return vm::exp(x); }
EJIT_KERNEL_INLINE double exp(double x) { return std::exp(x); }
EJIT_KERNEL_INLINE float expm1(float x) { return vm::expm1(x); }
EJIT_KERNEL_INLINE double expm1(double x) { return std::expm1(x); }
EJIT_KERNEL_INLINE float log(float x) { return vm::log(x); }
EJIT_KERNEL_INLINE double log(double x) { return std::log(x); }
EJIT_KERNEL_INLINE float log1p(float x) { return vm::log1p(x); }
EJIT_KERNEL_INLINE double log1p(double x) { return std::log1p(x); }
EJIT_KERNEL_INLINE float sin(float x) { return vm::sin(x); }  // kernels redo |x| > vm::kTrigMaxArg with libm
EJIT_KERNEL_INLINE double sin(double x) { return std::sin(x); }
EJIT_KERNEL_INLINE float cos(float x) { return vm::cos(x); }
EJIT_KERNEL_INLINE double cos(double x) { return std::cos(x); }
EJIT_KERNEL_INLINE float tanh(float x) { return vm::tanh(x); }
EJIT_KERNEL_INLINE double tanh(double x) { return std::tanh(x); }
EJIT_KERNEL_INLINE float sigmoid(float x) { return vm::sigmoid(x); }
EJIT_KERNEL_INLINE double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
EJIT_KERNEL_INLINE float erf(float x) { return vm::erf(x); }
EJIT_KERNEL_INLINE double erf(double x) { return std::erf(x); }
EJIT_KERNEL_INLINE float gelu(float x) { return vm::gelu(x); }
EJIT_KERNEL_INLINE double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x * 0.70710678118654752440)); }

/// NaN-propagating maximum / minimum (as NumPy's maximum / minimum).
template <class T> EJIT_KERNEL_INLINE T maximum(T a, T b) {
  if constexpr (is_float_v<T>) return (a > b || a != a) ? a : b;
  else return a > b ? a : b;
}
template <class T> EJIT_KERNEL_INLINE T minimum(T a, T b) {
  if constexpr (is_float_v<T>) return (a < b || a != a) ? a : b;
  else return a < b ? a : b;
}

/// Remainder with the sign of the divisor (Python's %); integer x % 0 is 0, as in NumPy.
template <class T> EJIT_KERNEL_INLINE T mod(T a, T b) {
  if constexpr (is_float_v<T>) {
    T r = std::fmod(a, b);
    return (r != T(0) && ((r < T(0)) != (b < T(0)))) ? r + b : r;
  } else {
    if (b == T(0) || b == T(-1)) return T(0);  // also avoids the INT_MIN % -1 trap
    T r = a % b;
    return (r != T(0) && ((r < T(0)) != (b < T(0)))) ? T(r + b) : r;
  }
}

/// a**b; integer powers by squaring (negative exponents give 0 unless |a| is 1).
template <class T> EJIT_KERNEL_INLINE T pow(T a, T b) {
  if constexpr (is_float_v<T>) {
    return std::pow(a, b);
  } else {
    if (b < T(0)) return a == T(1) ? T(1) : a == T(-1) ? ((b & T(1)) ? T(-1) : T(1)) : T(0);
    using U = std::make_unsigned_t<T>;
    U result = 1, base = static_cast<U>(a);
    for (U e = static_cast<U>(b); e; e >>= 1) {
      if (e & 1) result *= base;
      base *= base;
    }
    return static_cast<T>(result);
  }
}

}  // namespace ejit::k
