// Walks the op table: every unary and binary row, on every dtype it accepts, against an
// independent double-precision reference kept here. A new row without a reference fails.
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>

#include "test_util.h"

using namespace ejit;
using ejit::test::close;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

double ref_round_half_even(double x) { return std::nearbyint(x); }  // default rounding mode is to-nearest-even

const std::map<std::string, std::function<double(double)>>& unary_refs() {
  static const std::map<std::string, std::function<double(double)>> m = {
      {"neg", [](double x) { return -x; }},
      {"abs", [](double x) { return std::fabs(x); }},
      {"sign", [](double x) { return std::isnan(x) ? x : x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0; }},
      {"square", [](double x) { return x * x; }},
      {"relu", [](double x) { return std::isnan(x) ? x : x < 0 ? 0.0 : x; }},
      {"floor", [](double x) { return std::floor(x); }},
      {"ceil", [](double x) { return std::ceil(x); }},
      {"round", ref_round_half_even},
      {"exp", [](double x) { return std::exp(x); }},
      {"expm1", [](double x) { return std::expm1(x); }},
      {"log", [](double x) { return std::log(x); }},
      {"log1p", [](double x) { return std::log1p(x); }},
      {"sqrt", [](double x) { return std::sqrt(x); }},
      {"rsqrt", [](double x) { return 1.0 / std::sqrt(x); }},
      {"sin", [](double x) { return std::sin(x); }},
      {"cos", [](double x) { return std::cos(x); }},
      {"tanh", [](double x) { return std::tanh(x); }},
      {"sigmoid", [](double x) { return 1.0 / (1.0 + std::exp(-x)); }},
      {"gelu", [](double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }},
      {"erf", [](double x) { return std::erf(x); }},
      {"logical_not", [](double x) { return x == 0 ? 1.0 : 0.0; }},
      {"isnan", [](double x) { return std::isnan(x) ? 1.0 : 0.0; }},
      {"isfinite", [](double x) { return std::isfinite(x) ? 1.0 : 0.0; }},
  };
  return m;
}

double py_mod(double a, double b) {
  double r = std::fmod(a, b);
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

const std::map<std::string, std::function<double(double, double)>>& binary_refs() {
  static const std::map<std::string, std::function<double(double, double)>> m = {
      {"add", [](double a, double b) { return a + b; }},
      {"sub", [](double a, double b) { return a - b; }},
      {"mul", [](double a, double b) { return a * b; }},
      {"div", [](double a, double b) { return a / b; }},
      {"pow", [](double a, double b) { return std::pow(a, b); }},
      {"mod", py_mod},
      {"maximum", [](double a, double b) { return std::isnan(a) || std::isnan(b) ? kNaN : std::max(a, b); }},
      {"minimum", [](double a, double b) { return std::isnan(a) || std::isnan(b) ? kNaN : std::min(a, b); }},
      {"eq", [](double a, double b) { return double(a == b); }},
      {"ne", [](double a, double b) { return double(a != b); }},
      {"lt", [](double a, double b) { return double(a < b); }},
      {"le", [](double a, double b) { return double(a <= b); }},
      {"gt", [](double a, double b) { return double(a > b); }},
      {"ge", [](double a, double b) { return double(a >= b); }},
      {"logical_and", [](double a, double b) { return double(a != 0 && b != 0); }},
      {"logical_or", [](double a, double b) { return double(a != 0 || b != 0); }},
  };
  return m;
}

/// Float inputs covering ordinary values, specials and (for long tensors) parallel chunks.
std::vector<double> float_inputs(bool with_specials) {
  std::vector<double> v = {-3.7, -2.5, -1.5, -1.0, -0.5, -1e-3, 0.0, 1e-3, 0.25, 0.5, 0.7, 1.0, 1.5, 2.5, 3.3, 10.0};
  if (with_specials) v.insert(v.end(), {kNaN, kInf, -kInf, 80.0, -80.0, 1e-30});
  return v;
}
std::vector<double> int_inputs() { return {-7, -3, -2, -1, 0, 1, 2, 3, 5, 9}; }

Tensor make(const std::vector<double>& v, DType dt) { return cast(from_vector(v, Shape{int64_t(v.size())}), dt); }

double tolerance(DType dt) { return dt == DType::F32 ? 3e-6 : 1e-12; }

bool unary_accepts(UnaryOp op, DType dt) { return !(kind(op) == UnaryKind::Numeric && dt == DType::Bool); }
bool binary_accepts(BinaryOp op, DType dt) { return !(kind(op) == BinaryKind::ArithNoBool && dt == DType::Bool); }

const DType kAllDTypes[] = {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64};

}  // namespace

TEST_CASE("every unary op of the table matches its reference on every dtype", "[ops][kernels]") {
  for (int i = 0; i < kNumUnaryOps; ++i) {
    auto op = static_cast<UnaryOp>(i);
    std::string nm(name(op));
    INFO("op " << nm);
    REQUIRE(unary_refs().count(nm) == 1);  // a new row needs a reference here
    for (DType dt : kAllDTypes) {
      INFO("dtype " << name(dt));
      std::vector<double> in = dt == DType::Bool ? std::vector<double>{0, 1, 1, 0}
                               : is_integer(dt)  ? int_inputs()
                                                 : float_inputs(true);
      Tensor x = make(in, dt);
      if (!unary_accepts(op, dt)) {
        REQUIRE_THROWS_AS(unary(op, x), Error);
        continue;
      }
      Tensor y = unary(op, x);
      DType want_dt = kind(op) == UnaryKind::Predicate ? DType::Bool
                      : kind(op) == UnaryKind::Float   ? (is_floating(dt) ? dt : DType::F32)
                                                       : dt;
      REQUIRE(y.dtype() == want_dt);
      REQUIRE(y.shape() == x.shape());
      auto got = y.to_vector<double>();
      auto xin = x.to_vector<double>();
      for (size_t k = 0; k < in.size(); ++k) {
        double want = unary_refs().at(nm)(xin[k]);
        if (want_dt == DType::F32) want = static_cast<float>(want);
        INFO("x = " << xin[k] << " got " << got[k] << " want " << want);
        REQUIRE(close(got[k], want, tolerance(want_dt), tolerance(want_dt)));
      }
    }
  }
}

TEST_CASE("every binary op of the table matches its reference on every dtype", "[ops][kernels]") {
  for (int i = 0; i < kNumBinaryOps; ++i) {
    auto op = static_cast<BinaryOp>(i);
    std::string nm(name(op));
    INFO("op " << nm);
    REQUIRE(binary_refs().count(nm) == 1);
    for (DType dt : kAllDTypes) {
      INFO("dtype " << name(dt));
      std::vector<double> base = dt == DType::Bool ? std::vector<double>{0, 1} : is_integer(dt) ? int_inputs()
                                                                                               : float_inputs(true);
      // All pairs, as (n,1) against (1,n): exercises the broadcast loops too.
      Tensor a = make(base, dt).reshape({int64_t(base.size()), 1});
      Tensor b = make(base, dt).reshape({1, int64_t(base.size())});
      if (nm == "pow" && is_integer(dt)) b = abs(b);  // negative integer powers: see the hand-checked test
      if (!binary_accepts(op, dt)) {
        REQUIRE_THROWS_AS(binary(op, a, b), Error);
        continue;
      }
      Tensor y = binary(op, a, b);
      BinaryKind k = kind(op);
      DType want_dt = (k == BinaryKind::Compare || k == BinaryKind::Logical) ? DType::Bool
                      : k == BinaryKind::Div ? (is_floating(dt) ? dt : DType::F32)
                                             : dt;
      REQUIRE(y.dtype() == want_dt);
      REQUIRE(y.shape() == Shape{int64_t(base.size()), int64_t(base.size())});
      auto av = a.to_vector<double>(), bv = b.to_vector<double>(), got = y.to_vector<double>();
      for (size_t r = 0; r < av.size(); ++r) {
        for (size_t c = 0; c < bv.size(); ++c) {
          double want = binary_refs().at(nm)(av[r], bv[c]);
          if (is_integer(want_dt) && (nm == "mod") && bv[c] == 0) want = 0;  // integer x % 0 is 0
          if (want_dt == DType::Bool) want = want != 0;
          if (want_dt == DType::F32) want = static_cast<float>(want);
          double got_v = got[r * bv.size() + c];
          INFO("a = " << av[r] << " b = " << bv[c] << " got " << got_v << " want " << want);
          REQUIRE(close(got_v, want, tolerance(want_dt) * 4, tolerance(want_dt)));
        }
      }
    }
  }
}

TEST_CASE("long inputs take the vectorized and parallel paths with the same results", "[ops][kernels]") {
  const int64_t n = 300007;  // odd length: vector tails and uneven chunks
  Tensor x = rand({n}, 7, DType::F32, -20.0, 20.0);
  Tensor y = rand({n}, 8, DType::F32, 0.01, 5.0);
  auto xv = x.to_vector<double>(), yv = y.to_vector<double>();
  for (UnaryOp op : {UnaryOp::Exp, UnaryOp::Tanh, UnaryOp::Sigmoid, UnaryOp::Sin, UnaryOp::Gelu, UnaryOp::Erf, UnaryOp::Expm1}) {
    INFO("op " << name(op));
    auto got = unary(op, x).to_vector<double>();
    for (int64_t i = 0; i < n; i += 1) {
      double want = static_cast<float>(unary_refs().at(std::string(name(op)))(xv[i]));
      if (!close(got[i], want, 4e-6, 1e-6)) {
        INFO("x = " << xv[i] << " got " << got[i] << " want " << want);
        REQUIRE(false);
      }
    }
  }
  auto lg = log(y).to_vector<double>();
  for (int64_t i = 0; i < n; ++i) REQUIRE(close(lg[i], static_cast<float>(std::log(yv[i])), 4e-6, 1e-7));
  auto sum = (x * y + x).to_vector<double>();
  for (int64_t i = 0; i < n; ++i) REQUIRE(close(sum[i], static_cast<float>(static_cast<float>(xv[i] * yv[i]) + xv[i]), 1e-6, 1e-6));
}

TEST_CASE("sin and cos of huge arguments fall back to exact range reduction", "[ops][kernels]") {
  Tensor x = tensor({1e5f, -3e6f, 1e30f, 12345.678f, 0.5f});
  auto xv = x.to_vector<double>();
  auto s = sin(x).to_vector<double>(), c = cos(x).to_vector<double>();
  for (size_t i = 0; i < xv.size(); ++i) {
    REQUIRE(close(s[i], static_cast<float>(std::sin(xv[i])), 1e-6, 1e-7));
    REQUIRE(close(c[i], static_cast<float>(std::cos(xv[i])), 1e-6, 1e-7));
  }
}
