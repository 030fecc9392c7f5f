// Reductions: every kind over several axis sets, keepdims, dtypes, accuracy and parallel paths.
#include <numeric>

#include "test_util.h"

using namespace ejit;
using ejit::test::check_values;

namespace {

/// Reference reduction of a (2,3,4) iota over a set of axes, computed by brute force.
std::vector<double> ref_reduce(const std::vector<bool>& red, const char* kind) {
  const int64_t dims[3] = {2, 3, 4};
  std::vector<int64_t> out_dims;
  for (int d = 0; d < 3; ++d)
    if (!red[d]) out_dims.push_back(dims[d]);
  int64_t n_out = 1;
  for (auto d : out_dims) n_out *= d;
  std::vector<double> acc(n_out, std::string(kind) == "prod" ? 1.0 : std::string(kind) == "max" ? -1e300 : 0.0);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < 4; ++k) {
        int64_t idx[3] = {i, j, k}, o = 0;
        for (int d = 0; d < 3; ++d)
          if (!red[d]) o = o * dims[d] + idx[d];
        double v = static_cast<double>(i * 12 + j * 4 + k) * 0.5 - 3;
        std::string s = kind;
        if (s == "sum") acc[o] += v;
        else if (s == "prod") acc[o] *= v;
        else acc[o] = std::max(acc[o], v);
      }
  return acc;
}

}  // namespace

TEST_CASE("sum, prod and max over every set of axes of a rank-3 tensor", "[reduce][kernels]") {
  Tensor x = arange(0, 24, 1, DType::F64).reshape({2, 3, 4}) * 0.5 - 3;
  for (int mask = 0; mask < 8; ++mask) {
    std::vector<int64_t> axes;
    std::vector<bool> red(3, false);
    for (int d = 0; d < 3; ++d)
      if (mask & (1 << d)) axes.push_back(d), red[d] = true;
    if (axes.empty()) red = {true, true, true};
    INFO("mask " << mask);
    check_values(sum(x, axes), ref_reduce(red, "sum"), 1e-12, 1e-12);
    check_values(prod(x, axes), ref_reduce(red, "prod"), 1e-12, 1e-12);
    check_values(max(x, axes), ref_reduce(red, "max"), 1e-12, 1e-12);
    Tensor kd = sum(x, axes, true);
    REQUIRE(kd.rank() == 3);
    for (int d = 0; d < 3; ++d) REQUIRE(kd.shape()[d] == (red[d] ? 1 : x.shape()[d]));
  }
  check_values(sum(x, {-1, 0}), ref_reduce({true, false, true}, "sum"), 1e-12, 1e-12);
}

TEST_CASE("reduction dtypes: integer sums are i64, mean of ints is f32", "[reduce][kernels]") {
  Tensor i = tensor({1, 2, 3, 4});
  REQUIRE(sum(i).dtype() == DType::I64);
  REQUIRE(sum(i).item<int64_t>() == 10);
  REQUIRE(prod(i).item<int64_t>() == 24);
  REQUIRE(sum(tensor({true, true, false})).item<int64_t>() == 2);
  REQUIRE(sum(tensor({true, true, false})).dtype() == DType::I64);
  REQUIRE(mean(i).dtype() == DType::F32);
  REQUIRE(mean(i).item<float>() == 2.5f);
  REQUIRE(max(i).dtype() == DType::I32);
  REQUIRE(min(tensor({3, -2, 5})).item<int>() == -2);
  REQUIRE(argmax(i).dtype() == DType::I64);
  REQUIRE(all(tensor({1, 2, 0})).item<bool>() == false);
  REQUIRE(any(tensor({0.f, 0.f, 0.5f})).item<bool>() == true);
  REQUIRE(all(tensor({true, true}).reshape({1, 2}), {1}).to_vector<bool>() == std::vector<bool>{true});
}

TEST_CASE("argmax and argmin return the first index among ties", "[reduce][kernels]") {
  Tensor x = tensor({1.f, 5.f, 5.f, 0.f, 0.f, 2.f}, {2, 3});
  REQUIRE(argmax(x).item<int64_t>() == 1);
  REQUIRE(argmin(x).item<int64_t>() == 3);
  REQUIRE(argmax(x, 1).to_vector<int64_t>() == std::vector<int64_t>{1, 2});
  REQUIRE(argmax(x, 0).to_vector<int64_t>() == std::vector<int64_t>{0, 0, 0});
  REQUIRE(argmin(x, 0).to_vector<int64_t>() == std::vector<int64_t>{1, 1, 1});
  REQUIRE(argmax(x, 1, true).shape() == Shape{2, 1});
  REQUIRE(argmax(x, std::nullopt, true).shape() == Shape{1, 1});
}

TEST_CASE("argmax and argmin down columns: ties, NaN, tiles of columns, every dtype", "[reduce][kernels]") {
  // (3, 37, 600): 600 columns are two full tiles and a part; rows repeat values (ties) and
  // a few hold NaN (the first NaN wins).
  const int64_t outer = 3, len = 37, inner = 600;
  std::vector<double> v(static_cast<size_t>(outer * len * inner));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>((i * 7919) % 13) - 6;
  for (size_t i = 5; i < v.size(); i += 1777) v[i] = std::nan("");
  const Tensor x64 = from_vector(v, {outer, len, inner});
  for (DType dt : {DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool}) {
    const Tensor x = is_floating(dt) ? cast(x64, dt) : cast(where(isnan(x64), 1.0, x64), dt);
    const std::vector<double> xs = x.to_vector<double>();
    for (bool is_max : {true, false}) {
      std::vector<int64_t> want;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < inner; ++j) {
          int64_t best = 0;
          auto at = [&](int64_t r) { return xs[static_cast<size_t>((o * len + r) * inner + j)]; };
          for (int64_t r = 1; r < len && !std::isnan(at(best)); ++r)
            if (std::isnan(at(r)) || (is_max ? at(r) > at(best) : at(r) < at(best))) best = r;
          want.push_back(best);
        }
      INFO(name(dt) << (is_max ? " argmax" : " argmin"));
      REQUIRE((is_max ? argmax(x, 1) : argmin(x, 1)).to_vector<int64_t>() == want);
    }
  }
}

TEST_CASE("a 1M-element f32 sum stays within 3e-6 relative", "[reduce][kernels]") {
  const int64_t n = 1 << 20;
  Tensor x = rand({n}, 11, DType::F32, 0.0, 1.0) + 1000.f;
  auto v = x.to_vector<double>();
  double want = std::accumulate(v.begin(), v.end(), 0.0);
  double got = sum(x).item<double>();
  REQUIRE(std::fabs(got - want) / want < 3e-6);
  double got_mean = mean(x).item<double>();
  REQUIRE(std::fabs(got_mean - want / n) / (want / n) < 3e-6);
  // Column sums over many rows (the axis-0 path) are blocked too.
  Tensor cols = x.reshape({4096, 256});
  auto cs = sum(cols, {0}).to_vector<double>();
  for (int64_t j = 0; j < 256; ++j) {
    double w = 0;
    for (int64_t i = 0; i < 4096; ++i) w += v[i * 256 + j];
    REQUIRE(std::fabs(cs[j] - w) / w < 3e-6);
  }
}

TEST_CASE("results do not depend on the thread count", "[reduce][kernels]") {
  Tensor x = randn({3, 300000}, 5);
  int saved = num_threads();
  set_num_threads(1);
  auto one = sum(x, {1}).to_vector<float>();
  auto one_all = sum(x).item<float>();
  set_num_threads(2);
  auto two = sum(x, {1}).to_vector<float>();
  auto two_all = sum(x).item<float>();
  set_num_threads(saved);
  REQUIRE(one == two);
  REQUIRE(one_all == two_all);
}

TEST_CASE("long and wide reductions take the parallel paths correctly", "[reduce][kernels]") {
  Tensor x = arange(0, 2 * 200000, 1, DType::I64).reshape({2, 200000});
  auto s = sum(x, {1}).to_vector<int64_t>();
  REQUIRE(s[0] == int64_t{199999} * 200000 / 2);
  REQUIRE(s[1] == int64_t{200000} * 200000 + int64_t{199999} * 200000 / 2);
  REQUIRE(max(x, {1}).to_vector<int64_t>() == std::vector<int64_t>{199999, 399999});
  REQUIRE(argmax(x, 1).to_vector<int64_t>() == std::vector<int64_t>{199999, 199999});
  Tensor wide = ones({5000, 300}, DType::F32);
  auto rs = sum(wide, {1}).to_vector<float>();
  REQUIRE(rs == std::vector<float>(5000, 300.f));
  auto mx = max(arange(0, 600000, 1, DType::F32).reshape({600000, 1}), {0}).to_vector<float>();
  REQUIRE(mx == std::vector<float>{599999.f});
}

TEST_CASE("variance is two-pass and stable", "[reduce]") {
  Tensor x = tensor({1.0, 2.0, 3.0, 4.0});
  REQUIRE(var(x).item<double>() == Approx(1.25));
  REQUIRE(var(x, {}, 1).item<double>() == Approx(5.0 / 3));
  REQUIRE(stddev(x).item<double>() == Approx(std::sqrt(1.25)));
  Tensor big = rand({100000}, 3, DType::F32, -1.0, 1.0) + 1e4f;
  double v = var(big).item<double>();
  REQUIRE(v == Approx(1.0 / 3).epsilon(0.05));
}
