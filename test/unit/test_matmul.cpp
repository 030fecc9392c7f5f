// matmul: 2-D, batched with broadcast batch dims, 1-D operands, dtypes and large sizes.
#include <chrono>
#include <cstring>
#include <thread>

#include "test_util.h"

using namespace ejit;
using ejit::test::check_values;

namespace {

std::vector<double> ref_matmul(const std::vector<double>& a, const std::vector<double>& b, int64_t m, int64_t k,
                               int64_t n) {
  std::vector<double> c(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < n; ++j) c[i * n + j] += a[i * k + p] * b[p * n + j];
  return c;
}

}  // namespace

TEST_CASE("2-D matmul matches hand-computed values", "[matmul]") {
  Tensor a = tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  Tensor b = tensor({7.f, 8.f, 9.f, 10.f, 11.f, 12.f}, {3, 2});
  check_values(matmul(a, b), {58, 64, 139, 154});
  check_values(matmul(tensor({1, 2, 3, 4}, {2, 2}), tensor({5, 6, 7, 8}, {2, 2})), {19, 22, 43, 50});
  REQUIRE(matmul(tensor({1, 2, 3, 4}, {2, 2}), tensor({5, 6, 7, 8}, {2, 2})).dtype() == DType::I32);
  REQUIRE(matmul(a, cast(b, DType::F64)).dtype() == DType::F64);
}

TEST_CASE("1-D operands follow NumPy's matmul", "[matmul]") {
  Tensor m = tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  Tensor v3 = tensor({1.f, 0.f, -1.f}), v2 = tensor({1.f, 1.f});
  REQUIRE(matmul(m, v3).shape() == Shape{2});
  check_values(matmul(m, v3), {-2, -2});
  REQUIRE(matmul(v2, m).shape() == Shape{3});
  check_values(matmul(v2, m), {5, 7, 9});
  REQUIRE(matmul(v3, v3).shape() == Shape{});
  REQUIRE(matmul(v3, v3).item<float>() == 2.f);
}

TEST_CASE("batched matmul broadcasts batch dims", "[matmul]") {
  Tensor a = randn({2, 1, 3, 4}, 1, DType::F64), b = randn({5, 4, 2}, 2, DType::F64);
  Tensor c = matmul(a, b);
  REQUIRE(c.shape() == Shape{2, 5, 3, 2});
  auto av = a.to_vector<double>(), bv = b.to_vector<double>(), cv = c.to_vector<double>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 5; ++j) {
      std::vector<double> am(av.begin() + i * 12, av.begin() + i * 12 + 12), bm(bv.begin() + j * 8, bv.begin() + j * 8 + 8);
      auto want = ref_matmul(am, bm, 3, 4, 2);
      for (int t = 0; t < 6; ++t) REQUIRE(cv[(i * 5 + j) * 6 + t] == Approx(want[t]).epsilon(1e-12));
    }
}

TEST_CASE("large f32 matmuls split across threads agree with a double reference", "[matmul]") {
  for (auto [m, k, n] : {std::tuple{257, 300, 129}, std::tuple{64, 1000, 700}, std::tuple{1, 512, 2000}}) {
    Tensor a = randn({m, k}, 3), b = randn({k, n}, 4);
    auto want = ref_matmul(a.to_vector<double>(), b.to_vector<double>(), m, k, n);
    auto got = matmul(a, b).to_vector<double>();
    for (size_t i = 0; i < got.size(); ++i) REQUIRE(std::fabs(got[i] - want[i]) < 1e-3 * std::sqrt(double(k)));
  }
  REQUIRE(!matmul_backend().empty());
}

TEST_CASE("large matmuls give the same result on every call (the BLAS runs on several pool threads)", "[matmul]") {
  // Debian's sequential OpenBLAS called from two threads at once got 1-3% of these wrong.
  Tensor x = randn({256, 784}, 1), w = randn({784, 512}, 2);
  const std::vector<float> first = matmul(x, w).to_vector<float>();
  int mismatches = 0;
  for (int i = 0; i < 150; ++i) mismatches += matmul(x, w).to_vector<float>() != first;
  INFO("backend: " << matmul_backend());
  REQUIRE(mismatches == 0);
}

TEST_CASE("a product's bits do not depend on whether the pool is awake", "[matmul]") {
  // Products between 1 and 8 MFLOP run on the pool only while a thread of it polls; the
  // pieces they are cut into (one BLAS call each) are the same either way.
  const Tensor big = rand({1 << 20}, 1);
  for (const auto& [sa, sb] : {std::pair<Shape, Shape>{{220, 127}, {127, 127}}, {{3, 90, 64}, {3, 64, 100}}}) {
    const Tensor a = randn(sa, 2), b = randn(sb, 3);
    (void)sum(big * 2.f).item<float>();  // pool work just before: a thread polls
    const Tensor hot = matmul(a, b);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the pool's threads sleep
    const Tensor cold = matmul(a, b);
    INFO(sa.str() << " x " << sb.str());
    REQUIRE(std::memcmp(hot.raw_data(), cold.raw_data(), hot.nbytes()) == 0);
  }
}
