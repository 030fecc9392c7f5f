// Scalar semantics for constant folding: namespace `k`, the helpers the op table's `expr`
// column calls, written again here in plain libm so the dialect never depends on the
// interpreter (lib/interp/scalar_math.h is the interpreter's copy; the semantics match:
// NaN-propagating maximum/minimum, mod with the divisor's sign, half-to-even rounding,
// integer pow/mod that never trap). A new helper used by a new op table row must be
// added here, or the dialect does not compile.
//
// Transcendentals are computed in double and rounded to the element type. Integer
// arithmetic wraps: EjitOps.cpp is compiled with -fwrapv, as the interpreter is.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

namespace mlir::ejit::fold_math::k {

template <class T> inline constexpr bool is_float_v = std::is_floating_point_v<T>;

template <class T> T abs(T x) {
  if constexpr (is_float_v<T>) return std::fabs(x);
  else return x < T(0) ? T(-x) : x;
}
template <class T> T sign(T x) {
  if constexpr (is_float_v<T>) return x > T(0) ? T(1) : x < T(0) ? T(-1) : x;
  else return T((x > T(0)) - (x < T(0)));
}
template <class T> T relu(T x) { return x < T(0) ? T(0) : x; }
template <class T> T floor(T x) {
  if constexpr (is_float_v<T>) return std::floor(x);
  else return x;
}
template <class T> T ceil(T x) {
  if constexpr (is_float_v<T>) return std::ceil(x);
  else return x;
}
template <class T> T round_half_even(T x) {
  if constexpr (is_float_v<T>) return T(__builtin_roundeven(double(x)));
  else return x;
}
template <class T> bool isfinite(T x) {
  if constexpr (is_float_v<T>) return std::isfinite(x);
  else return true;
}

template <class T> T sqrt(T x) { return T(std::sqrt(double(x))); }
template <class T> T exp(T x) { return T(std::exp(double(x))); }
template <class T> T expm1(T x) { return T(std::expm1(double(x))); }
template <class T> T log(T x) { return T(std::log(double(x))); }
template <class T> T log1p(T x) { return T(std::log1p(double(x))); }
template <class T> T sin(T x) { return T(std::sin(double(x))); }
template <class T> T cos(T x) { return T(std::cos(double(x))); }
template <class T> T tanh(T x) { return T(std::tanh(double(x))); }
template <class T> T sigmoid(T x) { return T(1.0 / (1.0 + std::exp(-double(x)))); }
template <class T> T erf(T x) { return T(std::erf(double(x))); }
template <class T> T gelu(T x) {
  double d = double(x);
  return T(0.5 * d * (1.0 + std::erf(d * 0.70710678118654752440)));
}

template <class T> T maximum(T a, T b) {
  if constexpr (is_float_v<T>) return (a > b || a != a) ? a : b;
  else return a > b ? a : b;
}
template <class T> T minimum(T a, T b) {
  if constexpr (is_float_v<T>) return (a < b || a != a) ? a : b;
  else return a < b ? a : b;
}

template <class T> T mod(T a, T b) {
  if constexpr (is_float_v<T>) {
    T r = std::fmod(a, b);
    return (r != T(0) && ((r < T(0)) != (b < T(0)))) ? r + b : r;
  } else {
    if (b == T(0) || b == T(-1)) return T(0);
    T r = a % b;
    return (r != T(0) && ((r < T(0)) != (b < T(0)))) ? T(r + b) : r;
  }
}

template <class T> T pow(T a, T b) {
  if constexpr (is_float_v<T>) {
    return T(std::pow(double(a), double(b)));
  } else {
    if (b < T(0))
      return a == T(1) ? T(1) : a == T(-1) ? ((b & T(1)) ? T(-1) : T(1)) : T(0);
    using U = std::make_unsigned_t<T>;
    U result = 1, base = static_cast<U>(a);
    for (U e = static_cast<U>(b); e; e >>= 1) {
      if (e & 1)
        result *= base;
      base *= base;
    }
    return static_cast<T>(result);
  }
}

} // namespace mlir::ejit::fold_math::k
