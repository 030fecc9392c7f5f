// Tensors: creation, reading back, reference counting, rank 0, empty and high-rank shapes.
#include "test_util.h"

using namespace ejit;
using ejit::test::check_values;

TEST_CASE("creation ops fill the expected values and dtypes", "[tensor]") {
  check_values(zeros({2, 3}), {0, 0, 0, 0, 0, 0});
  REQUIRE(zeros({2}, DType::I32).dtype() == DType::I32);
  check_values(ones({3}, DType::F64), {1, 1, 1});
  check_values(full({2, 2}, 2.5f), {2.5, 2.5, 2.5, 2.5});
  REQUIRE(full({1}, 3).dtype() == DType::I64);
  REQUIRE(full({1}, true).dtype() == DType::Bool);
  REQUIRE(full({1}, 2.0).dtype() == DType::F32);
  REQUIRE(full({1}, 2.0, DType::F64).dtype() == DType::F64);
  check_values(arange(5), {0, 1, 2, 3, 4});
  REQUIRE(arange(5).dtype() == DType::I64);
  check_values(arange(1, 10, 3), {1, 4, 7});
  check_values(arange(5, 0, -2), {5, 3, 1});
  check_values(arange(0.0, 1.0, 0.25), {0, 0.25, 0.5, 0.75});
  REQUIRE(arange(0.0, 1.0, 0.25).dtype() == DType::F32);
  REQUIRE(arange(3, 3).numel() == 0);
  check_values(linspace(0, 1, 5), {0, 0.25, 0.5, 0.75, 1});
  check_values(linspace(2, 2, 1), {2});
  check_values(eye(2, 3), {1, 0, 0, 0, 1, 0});
  check_values(eye(3), {1, 0, 0, 0, 1, 0, 0, 0, 1});
  Tensor t = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  REQUIRE(t.dtype() == DType::I32);
  REQUIRE(t.shape() == Shape{2, 3});
  REQUIRE(from_vector(std::vector<bool>{true, false}, {2}).to_vector<bool>() == std::vector<bool>{true, false});
  REQUIRE(scalar(2.5).dtype() == DType::F64);
  REQUIRE(zeros_like(t).dtype() == DType::I32);
  check_values(full_like(t, 7), {7, 7, 7, 7, 7, 7});
  check_values(ones_like(tensor({1.f, 2.f})), {1, 1});
}

TEST_CASE("reading values back converts between dtypes", "[tensor]") {
  Tensor t = tensor({1.5f, -2.5f, 3.f, 0.f}, {2, 2});
  REQUIRE(t.at<float>({0, 1}) == -2.5f);
  REQUIRE(t.at<float>({-1, -1}) == 0.f);
  REQUIRE(t.at<int>({0, 1}) == -2);  // truncates toward zero
  REQUIRE(t.at<bool>({1, 1}) == false);
  REQUIRE(t.to_vector<int64_t>() == std::vector<int64_t>{1, -2, 3, 0});
  REQUIRE(scalar(3.75f).item<double>() == 3.75);
  REQUIRE(tensor({42}).item<int>() == 42);  // one element of any rank is an item
  REQUIRE(t.data<float>()[2] == 3.f);
  REQUIRE(t.dim(-1) == 2);
  REQUIRE(t.nbytes() == 16);
}

TEST_CASE("float to integer conversion saturates and maps NaN to 0", "[tensor][kernels]") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  Tensor x = tensor({nan, inf, -inf, 3e10, -3e10, -1.9, 1.9});
  REQUIRE(cast(x, DType::I32).to_vector<int32_t>() ==
          std::vector<int32_t>{0, INT32_MAX, INT32_MIN, INT32_MAX, INT32_MIN, -1, 1});
  REQUIRE(cast(x, DType::Bool).to_vector<bool>() == std::vector<bool>{true, true, true, true, true, true, true});
  REQUIRE(cast(tensor({0.0, -0.0}), DType::Bool).to_vector<bool>() == std::vector<bool>{false, false});
  REQUIRE(cast(tensor({-1, 0, 2}), DType::Bool).to_vector<bool>() == std::vector<bool>{true, false, true});
  Tensor same = tensor({1.f});
  REQUIRE(cast(same, DType::F32).shares_storage(same));
}

TEST_CASE("copies share data and memory is reused after the last handle dies", "[tensor]") {
  Tensor a = ones({1000});
  Tensor b = a;
  REQUIRE(b.shares_storage(a));
  Tensor r = reshape(a, {10, 100});
  REQUIRE(r.shares_storage(a));
  a = Tensor();
  b = Tensor();
  REQUIRE(r.to_vector<float>()[999] == 1.f);  // the view keeps the storage alive
  const void* p = r.raw_data();
  r = Tensor();
  Tensor again = Tensor::empty({1000}, DType::F32);
  REQUIRE(again.raw_data() == p);  // freed block came back from the cache
  AllocatorStats s = allocator_stats();
  REQUIRE(s.cache_hits > 0);
  REQUIRE(s.bytes_in_use >= 4000);
}

TEST_CASE("rank 0, empty and rank 8 tensors work through ops", "[tensor]") {
  Tensor s = scalar(3.f);
  REQUIRE(s.rank() == 0);
  REQUIRE(s.numel() == 1);
  REQUIRE((s * 2).item<float>() == 6.f);
  REQUIRE((s + ones({2, 2})).shape() == Shape{2, 2});
  REQUIRE(sum(s).item<float>() == 3.f);

  Tensor e = zeros({0, 3});
  REQUIRE(e.numel() == 0);
  REQUIRE((e + 1).shape() == Shape{0, 3});
  REQUIRE(exp(e).shape() == Shape{0, 3});
  REQUIRE(sum(e, {0}).to_vector<float>() == std::vector<float>{0, 0, 0});
  REQUIRE(sum(e, {1}).shape() == Shape{0});
  REQUIRE(prod(e).item<float>() == 1.f);
  REQUIRE(std::isnan(mean(e).item<float>()));
  REQUIRE(all(e).item<bool>());
  REQUIRE_FALSE(any(e).item<bool>());
  REQUIRE(matmul(zeros({2, 0}), zeros({0, 3})).to_vector<float>() == std::vector<float>(6, 0.f));
  REQUIRE(e.str().find("shape=(0,3)") != std::string::npos);

  Shape s8{2, 1, 2, 1, 2, 1, 2, 3};
  Tensor h = arange(0, 48, 1, DType::F32).reshape(s8);
  REQUIRE(h.rank() == 8);
  Tensor g = h + ones({3});
  REQUIRE(g.at<float>({1, 0, 1, 0, 1, 0, 1, 2}) == 48.f);
  REQUIRE(sum(h, {0, 2, 4}).shape() == Shape{1, 1, 1, 2, 3});
  REQUIRE(sum(h).item<double>() == 47.0 * 48 / 2);
}

TEST_CASE("executing_eagerly is true outside tracing", "[tensor]") { REQUIRE(executing_eagerly()); }

TEST_CASE("tensors print like NumPy and elide long dims", "[tensor][format]") {
  REQUIRE(tensor({1.f, 2.f, 3.f, 4.f}, {2, 2}).str() == "tensor([[1., 2.],\n        [3., 4.]], dtype=f32)");
  REQUIRE(tensor({1.5f, -0.25f}).str() == "tensor([ 1.5000, -0.2500], dtype=f32)");
  REQUIRE(tensor({1, 2, 3}).str() == "tensor([1, 2, 3], dtype=i32)");
  REQUIRE(scalar(true).str() == "tensor(True, dtype=bool)");
  REQUIRE(fmt::format("{}", scalar(2.0)) == "tensor(2., dtype=f64)");
  std::string nan_inf = tensor({std::nanf(""), INFINITY, 1.5f}).str();
  REQUIRE(nan_inf == "tensor([   nan,    inf, 1.5000], dtype=f32)");
  std::string big = arange(2000).str();
  REQUIRE(big == "tensor([   0,    1,    2, ..., 1997, 1998, 1999], dtype=i64)");
  std::string big2 = arange(0, 2000, 1, DType::F32).reshape({40, 50}).str();
  REQUIRE(big2.find("...,\n") != std::string::npos);
  REQUIRE(tensor({1e-5f, 1.f}).str() == "tensor([1.0000e-05, 1.0000e+00], dtype=f32)");
}
