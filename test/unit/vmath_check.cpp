// vmath_check.cpp: accuracy sweep of ejit::vm (lib/interp/vmath.h) against double-precision libm.
//
// Build: g++ -std=c++20 -O2 -I lib test/unit/vmath_check.cpp -o vmath_check
// (any -O3 / -mavx2 -mfma / -march flags may be added; do not add -ffast-math).
// Usage: vmath_check [stride [func]]  stride of the whole-range bit-pattern sweep (default 97,
//        ~20 s; 1 = exhaustive over all 2^32 floats, ~30 min); func limits it to one function.
//        Exit status 1 if a bound or an exact special-value identity fails.
//
// Error metric: |y - ref| / ulp(ref), where ref is the double libm result and ulp is
// that of the float binade of ref (2^-149 at and below the subnormal range), so a
// correctly rounded float scores <= 0.5. erf reports absolute error; gelu reports
// |y - ref| / max(1, |ref|). NaN must map to NaN, infinities and the sign of zero
// must match exactly.
#include "interp/vmath.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

namespace {

using u32 = std::uint32_t;

float from_u(u32 u) { return std::bit_cast<float>(u); }
u32 to_u(float f) { return std::bit_cast<u32>(f); }

// Vectorizable drivers: the loops below are what GCC turns into SIMD code, so the
// check covers the same code path a vectorizing caller gets.
#define EJIT_VM_DRIVER(name)                                                      \
  [[gnu::noinline]] void run_##name(const float* in, float* out, std::size_t n) { \
    for (std::size_t i = 0; i < n; ++i) out[i] = ejit::vm::name(in[i]);          \
  }
EJIT_VM_DRIVER(exp)
EJIT_VM_DRIVER(expm1)
EJIT_VM_DRIVER(log)
EJIT_VM_DRIVER(log1p)
EJIT_VM_DRIVER(tanh)
EJIT_VM_DRIVER(sigmoid)
EJIT_VM_DRIVER(sin)
EJIT_VM_DRIVER(cos)
EJIT_VM_DRIVER(erf)
EJIT_VM_DRIVER(gelu)
#undef EJIT_VM_DRIVER

enum class Metric { kUlp, kAbs, kRelMax1 };

struct Range {
  float lo, hi;  // inclusive, same sign or straddling 0
  u32 step;      // step in ordered bit space
};

struct Func {
  const char* name;
  void (*run)(const float*, float*, std::size_t);
  double (*ref)(double);
  Metric metric;
  double bound;
  float max_abs_arg;  // sweep only |x| <= this (trig)
  std::vector<Range> dense;
};

// Ordered integer key of a float (monotone in value; -0 and +0 adjacent).
std::int64_t key(float f) {
  u32 u = to_u(f);
  return (u & 0x80000000u) ? -std::int64_t(u & 0x7fffffffu) - 1 : std::int64_t(u);
}
float unkey(std::int64_t k) { return k < 0 ? from_u(u32(-(k + 1)) | 0x80000000u) : from_u(u32(k)); }

double ulp_of(double r) {
  r = std::fabs(r);
  if (r == 0) return std::ldexp(1.0, -149);
  int e;
  std::frexp(r, &e);  // r = m * 2^e, m in [0.5, 1)
  return std::ldexp(1.0, std::max(e - 1, -126) - 23);
}

struct Stat {
  double max_err = 0, max_ulp = 0;
  float worst_x = 0, worst_y = 0;
  double worst_ref = 0;
  long n = 0, bad_special = 0;
  float bad_x = 0, bad_y = 0;
  double bad_ref = 0;
};

void check(const Func& f, const std::vector<float>& in, Stat& st) {
  std::vector<float> out(in.size());
  f.run(in.data(), out.data(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    float x = in[i], y = out[i];
    double r = f.ref(double(x));
    float rf = float(r);
    ++st.n;
    bool special_ok = true;
    double err = 0, ulp = 0;
    if (std::isnan(r) || std::isnan(y)) {
      special_ok = std::isnan(r) && std::isnan(y);
    } else if (std::isinf(rf) || std::isinf(y)) {
      special_ok = (y == rf);
    } else if (r == 0 || y == 0) {
      if (r == 0 && y == 0) special_ok = std::signbit(r) == std::signbit(y);
    }
    if (!special_ok) {
      if (st.bad_special++ == 0) st.bad_x = x, st.bad_y = y, st.bad_ref = r;
      continue;
    }
    if (std::isnan(r) || std::isinf(rf)) continue;
    double d = std::fabs(double(y) - r);
    ulp = d / ulp_of(r);
    switch (f.metric) {
      case Metric::kUlp: err = ulp; break;
      case Metric::kAbs: err = d; break;
      case Metric::kRelMax1: err = d / std::max(1.0, std::fabs(r)); break;
    }
    st.max_ulp = std::max(st.max_ulp, ulp);
    if (err > st.max_err) st.max_err = err, st.worst_x = x, st.worst_y = y, st.worst_ref = r;
  }
}

// Exact identities the header promises (documented special values).
int exact_checks() {
  namespace vm = ejit::vm;
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto same = [](float a, float b) {
    return (std::isnan(a) && std::isnan(b)) || (a == b && std::signbit(a) == std::signbit(b));
  };
  struct Case {
    const char* what;
    float got, want;
  } cases[] = {
      {"exp(inf)", vm::exp(inf), inf},          {"exp(-inf)", vm::exp(-inf), 0.0f},
      {"exp(89)", vm::exp(89.0f), inf},         {"exp(-0)", vm::exp(-0.0f), 1.0f},
      {"exp(nan)", vm::exp(nan), nan},          {"exp(-104)", vm::exp(-104.0f), 0.0f},
      {"expm1(1e-10)", vm::expm1(1e-10f), 1e-10f}, {"expm1(-0)", vm::expm1(-0.0f), -0.0f},
      {"expm1(-inf)", vm::expm1(-inf), -1.0f},  {"expm1(inf)", vm::expm1(inf), inf},
      {"expm1(nan)", vm::expm1(nan), nan},      {"log(0)", vm::log(0.0f), -inf},
      {"log(-0)", vm::log(-0.0f), -inf},        {"log(-1)", vm::log(-1.0f), nan},
      {"log(inf)", vm::log(inf), inf},          {"log(1)", vm::log(1.0f), 0.0f},
      {"log(nan)", vm::log(nan), nan},          {"log(-inf)", vm::log(-inf), nan},
      {"log1p(-1)", vm::log1p(-1.0f), -inf},    {"log1p(-2)", vm::log1p(-2.0f), nan},
      {"log1p(1e-10)", vm::log1p(1e-10f), 1e-10f}, {"log1p(-0)", vm::log1p(-0.0f), -0.0f},
      {"log1p(inf)", vm::log1p(inf), inf},      {"log1p(nan)", vm::log1p(nan), nan},
      {"tanh(-0)", vm::tanh(-0.0f), -0.0f},     {"tanh(inf)", vm::tanh(inf), 1.0f},
      {"tanh(-inf)", vm::tanh(-inf), -1.0f},    {"tanh(20)", vm::tanh(20.0f), 1.0f},
      {"tanh(-9.1)", vm::tanh(-9.1f), -1.0f},   {"tanh(nan)", vm::tanh(nan), nan},
      {"sigmoid(-inf)", vm::sigmoid(-inf), 0.0f}, {"sigmoid(inf)", vm::sigmoid(inf), 1.0f},
      {"sigmoid(0)", vm::sigmoid(0.0f), 0.5f},  {"sigmoid(nan)", vm::sigmoid(nan), nan},
      {"sin(inf)", vm::sin(inf), nan},          {"sin(-inf)", vm::sin(-inf), nan},
      {"cos(inf)", vm::cos(inf), nan},          {"cos(-inf)", vm::cos(-inf), nan},
      {"sin(-0)", vm::sin(-0.0f), -0.0f},       {"cos(-0)", vm::cos(-0.0f), 1.0f},
      {"sin(nan)", vm::sin(nan), nan},          {"erf(inf)", vm::erf(inf), 1.0f},
      {"erf(-inf)", vm::erf(-inf), -1.0f},      {"erf(-0)", vm::erf(-0.0f), -0.0f},
      {"erf(nan)", vm::erf(nan), nan},          {"gelu(inf)", vm::gelu(inf), inf},
      {"gelu(-0)", vm::gelu(-0.0f), -0.0f},     {"gelu(nan)", vm::gelu(nan), nan},
      {"gelu(-inf) (formula: -inf*0)", vm::gelu(-inf), nan},
  };
  int bad = 0;
  for (const Case& c : cases)
    if (!same(c.got, c.want)) ++bad, std::printf("exact check FAILED: %s = %.9g, want %.9g\n", c.what, c.got, c.want);
  float s100 = vm::sigmoid(-100.0f);  // 3.72e-44: subnormal, must not flush to 0
  if (!(std::fabs(s100 - 1.0 / (1.0 + std::exp(100.0))) <= 0x1p-149))
    ++bad, std::printf("exact check FAILED: sigmoid(-100) = %g\n", s100);
  std::printf("exact special-value checks: %zu, failed: %d\n", sizeof cases / sizeof cases[0] + 1, bad);
  return bad;
}

double ref_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double ref_gelu(double x) { return 0.5 * x * (1.0 + std::erf(x * 0.70710678118654752440)); }

}  // namespace

int main(int argc, char** argv) {
  u32 stride = argc > 1 ? u32(std::strtoul(argv[1], nullptr, 10)) : 97;
  if (stride == 0) stride = 97;
  const char* only = argc > 2 ? argv[2] : nullptr;
  const float inf = std::numeric_limits<float>::infinity();
  const float big = ejit::vm::kTrigMaxArg;

  std::vector<Func> funcs = {
      {"exp", run_exp, [](double x) { return std::exp(x); }, Metric::kUlp, 2.0, inf,
       {{-104.5f, -86.0f, 3}, {86.0f, 89.0f, 1}, {-0.5f, -1e-3f, 31}, {1e-3f, 0.5f, 31}}},
      {"expm1", run_expm1, [](double x) { return std::expm1(x); }, Metric::kUlp, 2.0, inf,
       {{-1.1f, -1e-4f, 31}, {1e-4f, 1.1f, 31}, {0.3f, 1.1f, 7}, {-1.1f, -0.3f, 7}, {-20.0f, -15.0f, 17}, {86.0f, 89.0f, 3}}},
      {"log", run_log, [](double x) { return std::log(x); }, Metric::kUlp, 2.0, inf,
       {{0.5f, 2.0f, 7}, {0.0f, 0x1p-120f, 13}, {1e30f, inf, 101}}},
      {"log1p", run_log1p, [](double x) { return std::log1p(x); }, Metric::kUlp, 2.0, inf,
       {{-1.0f, -0.99f, 5}, {-1e-3f, -1e-8f, 31}, {1e-8f, 1e-3f, 31}, {-0.3f, -1e-3f, 7}, {1e-3f, 1.1f, 13}}},
      {"tanh", run_tanh, [](double x) { return std::tanh(x); }, Metric::kUlp, 2.0, inf,
       {{1e-3f, 10.0f, 13}, {0.5f, 0.8f, 3}, {-0.8f, -0.5f, 7}}},
      {"sigmoid", run_sigmoid, ref_sigmoid, Metric::kUlp, 2.0, inf,
       {{-104.5f, -80.0f, 3}, {-20.0f, -1e-3f, 17}, {1e-3f, 20.0f, 31}}},
      {"sin", run_sin, [](double x) { return std::sin(x); }, Metric::kUlp, 2.0, big,
       {{1e-3f, 4.0f, 13}, {4000.0f, big, 3}}},
      {"cos", run_cos, [](double x) { return std::cos(x); }, Metric::kUlp, 2.0, big,
       {{1e-3f, 4.0f, 13}, {4000.0f, big, 3}}},
      {"erf", run_erf, [](double x) { return std::erf(x); }, Metric::kAbs, 1e-7, inf,
       {{1e-3f, 6.0f, 13}}},
      {"gelu", run_gelu, ref_gelu, Metric::kRelMax1, 3e-7, inf,
       {{-12.0f, -1e-3f, 13}, {1e-3f, 12.0f, 13}}},
  };

  const float specials[] = {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(),
                            -std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::denorm_min(),
                            std::numeric_limits<float>::min(), -std::numeric_limits<float>::min(),
                            std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                            1.0f, -1.0f, 0.5f, -0.5f, 2.0f, 1e-10f, -1e-10f, 1e-30f, -1e-30f,
                            88.72283f, 88.72284f, -87.33654f, -103.2789f, -103.9721f, -103.9720f,
                            -100.0f, 100.0f, 0.625f, -0.625f, 0.9f, 1.2732395f, 9.0f, 44.0f, 3.1415927f,
                            1.5707964f, 8192.0f, -8192.0f, 0x1p-126f, 0x1p-149f * 3};

  int failures = exact_checks() ? 1 : 0;
  auto t0 = std::chrono::steady_clock::now();
  std::printf("%-8s %12s %12s %14s  worst input (got / ref)\n", "func", "max err", "max ulp", "samples");
  for (const Func& f : funcs) {
    if (only && std::strcmp(only, f.name) != 0) continue;
    Stat st;
    std::vector<float> in;
    in.reserve(1 << 20);
    auto flush = [&] {
      check(f, in, st);
      in.clear();
    };
    auto add = [&](float x) {
      in.push_back(x);
      if (in.size() == (1u << 20)) flush();
    };
    for (float s : specials)
      if (!(std::fabs(s) > f.max_abs_arg)) add(s);
    // Whole float range, every stride-th bit pattern (offset varies per function).
    for (std::uint64_t u = 1 + (&f - funcs.data()); u < (1ull << 32); u += stride) {
      float x = from_u(u32(u));
      if (!(std::fabs(x) > f.max_abs_arg)) add(x);
    }
    // Dense windows around the delicate regions.
    for (const Range& r : f.dense)
      for (std::int64_t k = key(r.lo), e = key(r.hi); k <= e; k += r.step) add(unkey(k));
    // Trig: floats closest to multiples of pi/2 (worst cancellation in the reduction).
    if (f.max_abs_arg < inf) {
      for (int q = 1; q * 1.5707963267948966 <= f.max_abs_arg; ++q) {
        std::int64_t c = key(float(q * 1.5707963267948966));
        for (std::int64_t k = c - 64; k <= c + 64; ++k) add(unkey(k)), add(-unkey(k));
      }
    }
    flush();
    bool ok = st.max_err <= f.bound && st.bad_special == 0;
    if (!ok) ++failures;
    char ulp[32] = "n/a";  // ulp is meaningless for gelu's tiny negative tail
    if (f.metric != Metric::kRelMax1) std::snprintf(ulp, sizeof ulp, "%.4g", st.max_ulp);
    std::printf("%-8s %12.4g %12s %14ld  x=%.9g (%.9g / %.9g)%s\n", f.name, st.max_err, ulp, st.n, st.worst_x,
                st.worst_y, st.worst_ref, ok ? "" : "  FAIL");
    if (st.bad_special)
      std::printf("         %ld special-value mismatches, first: x=%.9g got %.9g ref %.9g\n", st.bad_special,
                  st.bad_x, st.bad_y, st.bad_ref);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("bounds: ulp 2 (exp..cos, trig for |x| <= %g), erf abs 1e-7, gelu 3e-7 rel-to-max(1,|ref|); %.1f s\n",
              double(big), secs);
  std::printf("%s\n", failures ? "FAILED" : "OK");
  return failures ? 1 : 0;
}
