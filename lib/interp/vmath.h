// vmath.h: branch-free, table-free float math (exp, log, tanh, sin, erf, ...) that GCC vectorizes.
//
// Every function is a scalar `float f(float)` built only from +,-,*,/, fma (when the
// target has it), compares/selects and 32-bit integer bit tricks, so a plain loop
//   for (i) out[i] = ejit::vm::exp(in[i]);
// compiled with -O3 -fno-math-errno vectorizes for SSE2, AVX2(+FMA) and AVX-512.
// No libm calls, no float->int conversions (2^n is built from the bits of a
// "magic number" rounded value), no data-dependent branches, no lookup tables.
//
// Accuracy (measured by test/unit/vmath_check.cpp against double libm):
//   exp, expm1, log, log1p, tanh, sigmoid: < 2 ulp over the whole float domain,
//   with libm's special values (inf, NaN, -0, overflow, gradual underflow).
//   sin, cos: < 2 ulp for |x| <= kTrigMaxArg; larger |x| needs a scalar fallback.
//   erf: < 1e-7 absolute; gelu: < 3e-7 absolute (relative for |gelu| > 1).
//
// Do NOT compile users of this header with -ffast-math / -fassociative-math /
// -ffinite-math-only: the rounding trick (x + M) - M and the NaN/inf selects rely
// on strict IEEE semantics. -ffp-contract=fast is fine (products that must be
// exact are exact, so fusing them changes nothing).
#pragma once

#include <bit>
#include <cstdint>
#include <limits>

namespace ejit::vm {

/// sin/cos are accurate (< 2 ulp) only for |x| <= kTrigMaxArg; beyond it the
/// 5-part Cody-Waite reduction by pi/2 loses exactness. Callers must route larger
/// (finite) arguments to std::sin/std::cos. inf/NaN give NaN as usual.
inline constexpr float kTrigMaxArg = 8192.0f;

namespace detail {

using i32 = std::int32_t;
using u32 = std::uint32_t;

inline constexpr float kInf = std::numeric_limits<float>::infinity();
inline constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
/// 1.5 * 2^23: (x + kMagic) - kMagic rounds |x| < 2^22 to the nearest integer,
/// and the low mantissa bits of (x + kMagic) hold that integer (two's complement).
inline constexpr float kMagic = 12582912.0f;
inline constexpr i32 kMagicBits = 0x4B400000;

[[gnu::always_inline]] inline i32 bits(float x) { return std::bit_cast<i32>(x); }
[[gnu::always_inline]] inline float from_bits(i32 i) { return std::bit_cast<float>(i); }

/// a*b + c, fused when the target has FMA (GCC vectorizes __builtin_fmaf then).
[[gnu::always_inline]] inline float fma(float a, float b, float c) {
#if defined(__FMA__) || defined(__AVX512F__)
  return __builtin_fmaf(a, b, c);
#else
  return a * b + c;
#endif
}

/// c ? a : b without control flow. A plain ?: is lowered to a branch that GCC may
/// jump-thread (e.g. constant-fold a clamped path) or leave with a possibly
/// trapping arm, which blocks if-conversion and thus vectorization (except with
/// AVX-512 masking). Both arms are always evaluated.
[[gnu::always_inline]] inline float sel(bool c, float a, float b) {
  i32 m = -i32(c);
  return from_bits((bits(a) & m) | (bits(b) & ~m));
}

/// |x| by clearing the sign bit.
[[gnu::always_inline]] inline float abs(float x) { return from_bits(bits(x) & 0x7fffffff); }

/// Sign bit of s applied to non-negative magnitude m.
[[gnu::always_inline]] inline float with_sign_of(float m, float s) {
  return from_bits(bits(m) | (bits(s) & i32(0x80000000)));
}

/// 2^n for integer n in [-126, 127].
[[gnu::always_inline]] inline float pow2i(i32 n) {
  return from_bits(i32(u32(n + 127) << 23));
}

/// y * 2^n for integer n in [-252, 254], as two exact power-of-two factors so that
/// overflow gives inf and results in the subnormal range are rounded only once.
[[gnu::always_inline]] inline float scale(float y, i32 n) {
  i32 n1 = n >> 1;
  return y * pow2i(n1) * pow2i(n - n1);
}

// Cody-Waite split of ln2: kLn2Hi has 9 significant bits, so n*kLn2Hi is exact
// for |n| < 2^15 and x - n*kLn2Hi is exact (Cephes expf constants).
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;

/// Reduction shared by exp and expm1: x = n*ln2 + r, r = rhi + rlo (rlo tiny),
/// and returns t with expm1(r) ~= r + t to ~1e-9 relative (Cephes expf polynomial,
/// minimax on |r| <= ln2/2). x must already be clamped to [-104, 89].
struct ExpReduced {
  i32 n;
  float r, rlo, t;
};
[[gnu::always_inline]] inline ExpReduced exp_reduce(float x) {
  float k = fma(x, kLog2e, kMagic);
  float n = k - kMagic;
  float hi = fma(-n, kLn2Hi, x);  // exact
  float lo = n * kLn2Lo;
  float r = hi - lo;
  float rlo = (hi - r) - lo;  // hi - r is exact (Sterbenz)
  float p = 1.9875691500e-4f;
  p = fma(p, r, 1.3981999507e-3f);
  p = fma(p, r, 8.3334519073e-3f);
  p = fma(p, r, 4.1665795894e-2f);
  p = fma(p, r, 1.6666665459e-1f);
  p = fma(p, r, 5.0000001201e-1f);
  return {bits(k) - kMagicBits, r, rlo, r * r * p};
}

/// e^x as hi + lo (|lo| <~ ulp(hi)), for callers that need better than the final
/// rounding of exp. lo loses precision when hi is subnormal.
[[gnu::always_inline]] inline float exp_hl(float x, float& lo) {
  float xc = sel(x < -104.0f, -104.0f, x);  // NaN passes through both clamps
  xc = sel(xc > 89.0f, 89.0f, xc);
  ExpReduced e = exp_reduce(xc);
  float s = 1.0f + e.r;  // Fast2Sum: |1| >= |r|
  float err = (1.0f - s) + e.r;
  float l = e.t + (err + e.rlo);
  float y = s + l;
  lo = scale((s - y) + l, e.n);
  return scale(y, e.n);
}

/// Remainder a - q*b of a division q = a/b: exact with FMA, dropped (0) without.
[[gnu::always_inline]] inline float div_rem(float a, float b, float q) {
#if defined(__FMA__) || defined(__AVX512F__)
  return __builtin_fmaf(-q, b, a);
#else
  (void)a, (void)b, (void)q;
  return 0.0f;
#endif
}

/// Low part of z = r*r (exact with FMA, 0 without).
[[gnu::always_inline]] inline float sqr_lo(float r, float z) {
#if defined(__FMA__) || defined(__AVX512F__)
  return __builtin_fmaf(r, r, -z);
#else
  (void)r, (void)z;
  return 0.0f;
#endif
}

/// a * (hi + lo) for |lo| << |hi|: with FMA a*hi is never rounded on its own;
/// without FMA hi + lo is rounded first (rounding a*hi alone could cost more).
[[gnu::always_inline]] inline float mul_split(float a, float hi, float lo) {
#if defined(__FMA__) || defined(__AVX512F__)
  return __builtin_fmaf(a, hi, a * lo);
#else
  return a * (hi + lo);
#endif
}

/// log(1 + f) - f for f in [sqrt(.5)-1, sqrt(2)-1] (Cephes logf polynomial).
[[gnu::always_inline]] inline float log1p_tail(float f) {
  float p = 7.0376836292e-2f;
  p = fma(p, f, -1.1514610310e-1f);
  p = fma(p, f, 1.1676998740e-1f);
  p = fma(p, f, -1.2420140846e-1f);
  p = fma(p, f, 1.4249322787e-1f);
  p = fma(p, f, -1.6668057665e-1f);
  p = fma(p, f, 2.0000714765e-1f);
  p = fma(p, f, -2.4999993993e-1f);
  p = fma(p, f, 3.3333331174e-1f);
  float z = f * f;
  return fma(f * z, p, -0.5f * z);
}

/// Splits positive normal u into u = 2^k * (1 + f), 1 + f in [sqrt(.5), sqrt(2)).
/// k is returned as float; f is exact.
[[gnu::always_inline]] inline float split_log(float u, float& f) {
  i32 iu = bits(u) - 0x3f3504f3;
  f = from_bits((iu & 0x007fffff) + 0x3f3504f3) - 1.0f;
  return float(iu >> 23);  // arithmetic shift
}

/// erf(x) = x * (kErfC0Hi + erf_small_tail(x^2)) for |x| < 0.9: float-aware
/// near-minimax fit of erf(x)/x (relative error 3e-10), constant 2/sqrt(pi) split hi+lo.
inline constexpr float kErfC0Hi = 1.12837923f;
[[gnu::always_inline]] inline float erf_small_tail(float z) {
  float p = 8.50305514e-05f;
  p = fma(p, z, -0.000817326771f);
  p = fma(p, z, 0.0052036508f);
  p = fma(p, z, -0.0268604252f);
  p = fma(p, z, 0.112837136f);
  p = fma(p, z, -0.376126349f);
  return fma(p, z, -5.89665525e-08f);
}

/// erfc(a) for a >= 0.9: exp(-a^2) * H(a), H = erfc(x)*exp(x^2) fitted on [0.9, 4]
/// in powers of (a - 2.45) (float-aware fit, relative error 5e-8). Beyond a = 4, H
/// is held at H(4): exp(-a^2) makes that error negligible (< 1e-14 absolute), and
/// erfc reaches 0 for a > ~10.1.
[[gnu::always_inline]] inline float erfc_tail(float a);

/// sin and cos of r + rlo, |r| <= pi/4 (Cephes sinf/cosf minimax polynomials).
[[gnu::always_inline]] inline float sin_poly(float r, float rlo, float z) {
  float p = -1.9515295891e-4f;
  p = fma(p, z, 8.3321608736e-3f);
  p = fma(p, z, -1.6666654611e-1f);
  return r + fma(r * z, p, rlo);
}
/// cos(r + rlo) with z = r*r = exactly z + zlo: 1 - z/2 is summed compensated.
[[gnu::always_inline]] inline float cos_poly(float r, float rlo, float z, float zlo) {
  float p = 2.443315711809948e-5f;
  p = fma(p, z, -1.388731625493765e-3f);
  p = fma(p, z, 4.166664568298827e-2f);
  float t = fma(-0.5f, z, 1.0f);
  float terr = (1.0f - t) - 0.5f * z;  // exact rounding error of t
  return t + (fma(z * z, p, terr) - fma(0.5f, zlo, r * rlo));
}

/// Quadrant q (as the low bits of the returned int) and r = |x| - q*pi/2 as r + rlo.
/// pi/2 = C1 + C2 + C3 + C4 + C5 where C1 has 8 significant bits and C2..C4 have 11,
/// so q*Ci (q < 2^13) and the first subtractions are exact; only the tiny last
/// terms round. Exact reduction for |x| <= kTrigMaxArg (q <= 5215).
[[gnu::always_inline]] inline i32 trig_reduce(float a, float& r, float& rlo);

}  // namespace detail

/// e^x. Overflow -> inf, gradual underflow is rounded once, exp(-inf) = 0.
[[gnu::always_inline]] inline float exp(float x) {
  float lo;
  return detail::exp_hl(x, lo);
}

/// e^x - 1, accurate for tiny x (expm1(1e-10) == 1e-10); keeps -0.
[[gnu::always_inline]] inline float expm1(float x) {
  using namespace detail;
  float xc = sel(x < -30.0f, -30.0f, x);
  xc = sel(xc > 89.0f, 89.0f, xc);
  ExpReduced e = exp_reduce(xc);
  // expm1(x) = 2^n * ((1 - 2^-n) + expm1(r)); c = 1 - 2^-n as chi + clo exactly
  // (chi = 1, clo = -2^-n once 2^-n drops below half an ulp of 1).
  i32 nm = e.n - ((e.n - 60) & -i32(e.n > 60));  // min(n, 60)
  float m = pow2i(-nm);
  float chi = 1.0f - m;
  float clo = (1.0f - chi) - m;
  float s = chi + e.r;  // Fast2Sum: chi == 0 or |chi| >= 0.5 > |r|
  float err = (chi - s) + e.r;
  float y = scale(s + (e.t + ((err + e.rlo) + clo)), e.n);
  return sel(x == 0.0f, x, y);
}

/// Natural log. log(0) = -inf, log(x<0) = NaN, log(inf) = inf; subnormals exact.
[[gnu::always_inline]] inline float log(float x) {
  using namespace detail;
  bool sub = x < 0x1p-126f;
  float xs = sel(sub, x * 0x1p23f, x);
  float f;
  float k = split_log(xs, f) - sel(sub, 23.0f, 0.0f);
  float y = f + fma(k, kLn2Lo, log1p_tail(f));
  y = fma(k, kLn2Hi, y);
  y = sel(x == kInf, kInf, y);
  y = sel(x == 0.0f, -kInf, y);
  return sel(x >= 0.0f, y, kNaN);  // negative or NaN
}

/// log(1 + x), accurate for tiny x; log1p(-1) = -inf, log1p(x < -1) = NaN, keeps -0.
[[gnu::always_inline]] inline float log1p(float x) {
  using namespace detail;
  float u = 1.0f + x;
  // TwoSum: c = (1 + x) - u exactly; log1p(x) = log(u) + c/u.
  float bb = u - 1.0f;
  float c = (1.0f - (u - bb)) + (x - bb);
  float f;
  float k = split_log(u, f);
  float y = f + fma(k, kLn2Lo, log1p_tail(f) + c / u);
  y = fma(k, kLn2Hi, y);
  y = sel(x == kInf, kInf, y);
  y = sel(x == -1.0f, -kInf, y);
  y = sel(x == 0.0f, x, y);
  return sel(x >= -1.0f, y, kNaN);  // x < -1 or NaN
}

/// Hyperbolic tangent; exactly +-1 for |x| >= ~9.01, keeps -0.
[[gnu::always_inline]] inline float tanh(float x) {
  using namespace detail;
  float a = abs(x);
  // |x| < 0.625: odd minimax polynomial (Cephes tanhf).
  float z = x * x;
  float p = -5.70498872745e-3f;
  p = fma(p, z, 2.06390887954e-2f);
  p = fma(p, z, -5.37397155531e-2f);
  p = fma(p, z, 1.33314422036e-1f);
  p = fma(p, z, -3.33332819422e-1f);
  float small = fma(a * z, p, a);  // on |x|: keeps tanh(-0) = -0 via the final sign
  // Otherwise 1 - 2/(e^{2|x|} + 1), with e^{2|x|} = eh + el and the division and
  // subtractions compensated. tanh rounds to 1 for |x| > 9.01, so clamp at 10.
  float el, eh = exp_hl(2.0f * sel(a > 10.0f, 10.0f, a), el);
  float d = eh + 1.0f;  // Fast2Sum: eh >= 1
  float dl = ((eh - d) + 1.0f) + el;
  float q = 2.0f / d;
  float qc = (div_rem(2.0f, d, q) - q * dl) * (0.5f * q);  // (2/(d+dl)) - q
  float b = 1.0f - q;
  float big = b + (((1.0f - b) - q) - qc);
  return with_sign_of(sel(a < 0.625f, small, big), x);  // NaN -> big -> NaN
}

/// Logistic 1/(1 + e^-x); sigmoid(-inf) = 0, sigmoid(inf) = 1, subnormal tail kept.
[[gnu::always_inline]] inline float sigmoid(float x) {
  using namespace detail;
  // x >= 0: 1/(1+e), x < 0: e/(1+e) with e = e^-|x| = eh + el (never overflows);
  // the rounding of 1+e, of e and of the division are compensated.
  float el, eh = exp_hl(-abs(x), el);
  float d = 1.0f + eh;  // Fast2Sum: 1 >= eh
  float dl = ((1.0f - d) + eh) + el;
  bool pos = x >= 0.0f;
  float num = sel(pos, 1.0f, eh);
  float q = num / d;
  float inv_d = sel(pos, q, 1.0f - q);  // ~= 1/d
  float corr = (div_rem(num, d, q) + sel(pos, 0.0f, el)) - q * dl;
  return fma(corr, inv_d, q);
}

/// Sine; < 2 ulp for |x| <= kTrigMaxArg, NaN for inf/NaN.
[[gnu::always_inline]] inline float sin(float x) {
  using namespace detail;
  float r, rlo;
  i32 q = trig_reduce(abs(x), r, rlo);
  float z = r * r;
  float v = sel(q & 1, cos_poly(r, rlo, z, sqr_lo(r, z)), sin_poly(r, rlo, z));
  return from_bits(bits(v) ^ ((q & 2) << 30) ^ (bits(x) & i32(0x80000000)));
}

/// Cosine; < 2 ulp for |x| <= kTrigMaxArg, NaN for inf/NaN.
[[gnu::always_inline]] inline float cos(float x) {
  using namespace detail;
  float r, rlo;
  i32 q = trig_reduce(abs(x), r, rlo);
  float z = r * r;
  float v = sel(q & 1, sin_poly(r, rlo, z), cos_poly(r, rlo, z, sqr_lo(r, z)));
  return from_bits(bits(v) ^ (((q + 1) & 2) << 30));
}

/// Error function; < 1e-7 absolute, relative accuracy kept near 0; erf(+-inf) = +-1.
[[gnu::always_inline]] inline float erf(float x) {
  using namespace detail;
  float a = abs(x);
  // |x| < 0.9: x * P(x^2); otherwise 1 - erfc(|x|).
  float small = mul_split(a, kErfC0Hi, erf_small_tail(a * a));
  float big = 1.0f - erfc_tail(a);
  return with_sign_of(sel(a < 0.9f, small, big), x);  // on |x|: keeps erf(-0) = -0
}

/// GELU, exact erf form 0.5*x*(1 + erf(x/sqrt(2))); < 3e-7 absolute error
/// (relative for |x| > 1). The negative tail uses erfc directly (no cancellation).
/// gelu(-inf) is NaN, like the formula (-inf * 0).
[[gnu::always_inline]] inline float gelu(float x) {
  using namespace detail;
  float u = x * 0.707106781186547524f;
  float a = abs(u);
  float ec = erfc_tail(a);
  float small = 1.0f + mul_split(u, kErfC0Hi, erf_small_tail(u * u));
  float one_plus_erf = sel(a < 0.9f, small, sel(x >= 0.0f, 2.0f - ec, ec));
  return 0.5f * x * one_plus_erf;
}

namespace detail {

[[gnu::always_inline]] inline float erfc_tail(float a) {
  float t = sel(a < 4.0f, a, 4.0f) - 2.45f;
  float h = -4.75831115e-07f;
  h = fma(h, t, 1.98662678e-06f);
  h = fma(h, t, -4.40262875e-06f);
  h = fma(h, t, 1.58394014e-05f);
  h = fma(h, t, -6.60198712e-05f);
  h = fma(h, t, 0.000235528205f);
  h = fma(h, t, -0.000800027628f);
  h = fma(h, t, 0.0026570647f);
  h = fma(h, t, -0.00851380918f);
  h = fma(h, t, 0.0261764899f);
  h = fma(h, t, -0.0769024268f);
  h = fma(h, t, 0.214587082f);
  return vm::exp(-(a * a)) * h;
}

[[gnu::always_inline]] inline i32 trig_reduce(float a, float& r, float& rlo) {
  // pi/2 split: C1 = 201/128, C2..C4: 11-bit chunks, C5: float remainder.
  constexpr float C1 = 1.5703125f;
  constexpr float C2 = 4.83751296997070312e-4f;
  constexpr float C3 = 7.54953362047672271729e-8f;
  constexpr float C4 = 2.56328291925456142053e-12f;
  constexpr float C5 = 6.12323426292583927223e-17f;
  float k = fma(a, 0.636619772367581343f, kMagic);
  float q = k - kMagic;
  float r2 = fma(-q, C2, fma(-q, C1, a));  // exact
  float r3 = fma(-q, C3, r2);
  float e3 = fma(-q, C3, r2 - r3);  // r2 - r3 exact; e3 = rounding error of r3
  float tail = fma(-q, C5, fma(-q, C4, e3));
  r = r3 + tail;
  rlo = (r3 - r) + tail;
  return bits(k);  // low bits == q (kMagicBits has zero low bits)
}

}  // namespace detail
}  // namespace ejit::vm
