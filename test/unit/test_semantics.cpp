// Hand-checked semantics users of NumPy/PyTorch expect: promotion, broadcasting, mod, round, NaN.
#include <cmath>

#include "test_util.h"

using namespace ejit;
using ejit::test::check_values;

TEST_CASE("type promotion between tensors follows the bool < int < float lattice", "[semantics]") {
  const DType all[] = {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64};
  // Expected add(a, b) dtypes, written out by hand.
  const DType want[5][5] = {
      {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64},
      {DType::I32, DType::I32, DType::I64, DType::F32, DType::F64},
      {DType::I64, DType::I64, DType::I64, DType::F32, DType::F64},
      {DType::F32, DType::F32, DType::F32, DType::F32, DType::F64},
      {DType::F64, DType::F64, DType::F64, DType::F64, DType::F64},
  };
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) {
      Tensor a = ones({2}, all[i]), b = ones({2}, all[j]);
      INFO(name(all[i]) << " + " << name(all[j]));
      REQUIRE((a + b).dtype() == want[i][j]);
      REQUIRE((a == b).dtype() == DType::Bool);
      REQUIRE((a / b).dtype() == (is_floating(want[i][j]) ? want[i][j] : DType::F32));
    }
}

TEST_CASE("C++ scalars promote weakly", "[semantics]") {
  REQUIRE((ones({2}) * 2.0).dtype() == DType::F32);
  REQUIRE((ones({2}, DType::F64) + 1).dtype() == DType::F64);
  REQUIRE((ones({2}, DType::I32) * 2).dtype() == DType::I32);
  REQUIRE((ones({2}, DType::I32) * 2.5).dtype() == DType::F32);
  REQUIRE((ones({2}, DType::I64) * 0.5).dtype() == DType::F32);
  REQUIRE((ones({2}, DType::Bool) + 1).dtype() == DType::I64);
  REQUIRE((ones({2}, DType::Bool) + true).dtype() == DType::Bool);
  REQUIRE((2 - ones({2}, DType::I32)).to_vector<int>() == std::vector<int>{1, 1});
  check_values(1.0 / tensor({2.f, 4.f}), {0.5, 0.25});
  check_values(tensor({7, 8}) / 2, {3.5, 4.0});  // int / int is true division
  REQUIRE((tensor({7, 8}) / 2).dtype() == DType::F32);
}

TEST_CASE("C++ numbers reused across ops keep their own values and dtypes", "[semantics]") {
  // Recent numbers are shared per thread: each must still come out as its own value in its
  // own dtype, whatever came before it (0 and -0, NaN, one number in f32 and f64, 1 and true).
  Tensor f = tensor({1.f, -2.f}), d = tensor({1.0, -2.0}), i = tensor({int64_t{3}, int64_t{-4}});
  for (int round = 0; round < 3; ++round) {
    check_values(f * 0.1f, {0.1f, -0.2f});
    check_values(d * 0.1, {0.1, -0.2});
    REQUIRE((d * 0.1).to_vector<double>()[0] == 0.1);  // not 0.1f widened
    REQUIRE(std::signbit((f * 0.f).to_vector<float>()[1]));
    REQUIRE(std::signbit((f * -0.f).to_vector<float>()[0]));
    REQUIRE(std::isnan((f + std::nanf("")).to_vector<float>()[0]));
    REQUIRE((i * 2).to_vector<int64_t>() == std::vector<int64_t>{6, -8});
    REQUIRE((i + true).to_vector<int64_t>() == std::vector<int64_t>{4, -3});
    REQUIRE((tensor({true, false}) && true).to_vector<bool>() == std::vector<bool>{true, false});
    check_values(f + 1, {2.f, -1.f});
    for (int k = 0; k < 40; ++k) REQUIRE((f * static_cast<float>(k)).to_vector<float>()[1] == -2.f * k);
  }
}

TEST_CASE("broadcasting follows NumPy", "[semantics][kernels]") {
  Tensor col = arange(0, 3, 1, DType::F32).reshape({3, 1});
  Tensor row = arange(0, 4, 1, DType::F32).reshape({1, 4});
  Tensor g = col * 10 + row;
  REQUIRE(g.shape() == Shape{3, 4});
  check_values(g, {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23});
  Tensor c3 = arange(0, 24, 1, DType::F32).reshape({2, 3, 4});
  check_values(c3 - arange(0, 4, 1, DType::F32), {0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12, 16, 16, 16, 16, 20, 20, 20, 20});
  Tensor mid = ones({2, 1, 4}) + ones({3, 1});
  REQUIRE(mid.shape() == Shape{2, 3, 4});
  REQUIRE((zeros({0, 3}) + ones({1, 3})).shape() == Shape{0, 3});
  // Large shapes: parallel row loops with broadcast strides.
  Tensor big = rand({513, 1031}, 3);
  Tensor bias = rand({1031}, 4), scale = rand({513, 1}, 5);
  Tensor out = big * scale + bias;
  auto bv = big.to_vector<float>(), biv = bias.to_vector<float>(), sv = scale.to_vector<float>(), ov = out.to_vector<float>();
  for (int64_t i = 0; i < 513; i += 17)
    for (int64_t j = 0; j < 1031; ++j) REQUIRE(ov[i * 1031 + j] == bv[i * 1031 + j] * sv[i] + biv[j]);
  // where broadcasts all three operands.
  check_values(where(tensor({true, false}).reshape({2, 1}), tensor({1.f, 2.f, 3.f}), 0.f), {1, 2, 3, 0, 0, 0});
  check_values(where(tensor({1.f, 0.f, -2.f}) , 5, tensor({7, 8, 9})), {5, 8, 5});
  REQUIRE(where(tensor({true, false}), 1.5, -1.0).dtype() == DType::F32);
  check_values(where(tensor({true, false}), 1.5, -1.0), {1.5, -1.0});
  REQUIRE(where(tensor({true}), 1, 2).dtype() == DType::I64);
}

TEST_CASE("mod takes the sign of the divisor, integer mod by zero is 0", "[semantics][kernels]") {
  check_values(tensor({-7, 7, -7, 7}) % tensor({3, 3, -3, -3}), {2, 1, -1, -2});
  check_values(tensor({-7.5f, 7.5f}) % 2.f, {0.5, 1.5});
  check_values(tensor({5, -5}) % 0, {0, 0});
  REQUIRE(std::isnan((tensor({5.f}) % 0.f).item<float>()));
  check_values(tensor({INT32_MIN}) % -1, {0});  // would trap in C++
}

TEST_CASE("round is half to even, floor, ceil and sign", "[semantics][kernels]") {
  check_values(round(tensor({0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f, 2.6f})), {0, 2, 2, -0.0, -2, 2, 3});
  check_values(round(tensor({0.5, 1.5, 2.5, -2.5})), {0, 2, 2, -2});
  check_values(floor(tensor({-1.5f, 1.5f})), {-2, 1});
  check_values(ceil(tensor({-1.5f, 1.5f})), {-1, 2});
  check_values(sign(tensor({-3, 0, 4})), {-1, 0, 1});
  REQUIRE(round(tensor({3, -4})).dtype() == DType::I32);
}

TEST_CASE("NaN and infinity behave as in NumPy", "[semantics][kernels]") {
  const float nan = std::nanf("");
  REQUIRE(std::isnan(maximum(tensor({nan}), tensor({1.f})).item<float>()));
  REQUIRE(std::isnan(minimum(tensor({1.f}), tensor({nan})).item<float>()));
  REQUIRE(std::isnan(relu(tensor({nan})).item<float>()));
  REQUIRE(isnan(tensor({nan, 1.f})).to_vector<bool>() == std::vector<bool>{true, false});
  REQUIRE(isfinite(tensor({INFINITY, -INFINITY, nan, 0.f})).to_vector<bool>() ==
          std::vector<bool>{false, false, false, true});
  REQUIRE((tensor({nan}) == tensor({nan})).item<bool>() == false);
  REQUIRE((tensor({nan}) != tensor({nan})).item<bool>() == true);
  REQUIRE(std::isnan(max(tensor({1.f, nan, 3.f})).item<float>()));
  REQUIRE(argmax(tensor({1.f, nan, 3.f, nan})).item<int64_t>() == 1);
  REQUIRE(argmin(tensor({1.f, nan, -3.f})).item<int64_t>() == 1);
  REQUIRE(exp(tensor({INFINITY, -INFINITY})).to_vector<float>() == std::vector<float>{INFINITY, 0.f});
  REQUIRE(log(tensor({0.f})).item<float>() == -INFINITY);
  REQUIRE(std::isnan(log(tensor({-1.f})).item<float>()));
  REQUIRE(tanh(tensor({INFINITY, -INFINITY})).to_vector<float>() == std::vector<float>{1.f, -1.f});
  REQUIRE((tensor({1.f}) / 0.f).item<float>() == INFINITY);
}

TEST_CASE("integer ops wrap and never trap", "[semantics][kernels]") {
  check_values(pow(tensor({2, -2, 1, -1, 3}), tensor({10, 3, -5, -3, -1})), {1024, -8, 1, -1, 0});
  REQUIRE((tensor({INT32_MAX}) + 1).item<int>() == INT32_MIN);
  REQUIRE((-tensor({INT32_MIN})).item<int>() == INT32_MIN);
  REQUIRE(abs(tensor({-5, 5})).to_vector<int>() == std::vector<int>{5, 5});
}

TEST_CASE("logical ops read truth values and give bool", "[semantics][kernels]") {
  Tensor a = tensor({0.f, 2.f, 0.f, -1.f}), b = tensor({0, 0, 3, 4});
  REQUIRE(logical_and(a, b).to_vector<bool>() == std::vector<bool>{false, false, false, true});
  REQUIRE((a || b).to_vector<bool>() == std::vector<bool>{false, true, true, true});
  REQUIRE((!a).to_vector<bool>() == std::vector<bool>{true, false, true, false});
  REQUIRE((tensor({true, false}) + tensor({true, true})).to_vector<bool>() == std::vector<bool>{true, true});
  REQUIRE((tensor({true, false}) * tensor({true, true})).to_vector<bool>() == std::vector<bool>{true, false});
}
