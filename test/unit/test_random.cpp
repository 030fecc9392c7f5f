// The Philox generator: known-answer vector, determinism, and the distributions' moments.
#include "test_util.h"

using namespace ejit;

TEST_CASE("philox4x32-10 matches the Random123 known-answer vectors", "[random]") {
  auto r = random::philox4x32_10({0, 0, 0, 0}, {0, 0});
  REQUIRE(r == std::array<uint32_t, 4>{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  auto f = random::philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff});
  REQUIRE(f == std::array<uint32_t, 4>{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
}

TEST_CASE("same seed gives the same numbers, values follow the documented formula", "[random]") {
  Tensor a = randn({1000}, 42), b = randn({1000}, 42), c = randn({1000}, 43);
  REQUIRE(a.to_vector<float>() == b.to_vector<float>());
  REQUIRE(a.to_vector<float>() != c.to_vector<float>());
  REQUIRE(a.at<float>({7}) == static_cast<float>(random::normal(42, 7)));
  // Element i does not depend on the shape or the thread count.
  Tensor big = randn({50, 40}, 42);
  REQUIRE(big.reshape({2000}).slice(0, 0, 1000).to_vector<float>() == a.to_vector<float>());
  Tensor u = rand({10}, 9, DType::F64);
  REQUIRE(u.at<double>({3}) == random::uniform(9, 3));
}

TEST_CASE("normal and uniform samples have the right moments and range", "[random]") {
  Tensor n = randn({200000}, 1);
  REQUIRE(std::fabs(mean(n).item<double>()) < 0.01);
  REQUIRE(std::fabs(var(n).item<double>() - 1) < 0.02);
  Tensor u = rand({200000}, 2, DType::F32, -2.0, 3.0);
  REQUIRE(min(u).item<float>() >= -2.f);
  REQUIRE(max(u).item<float>() < 3.f);
  REQUIRE(std::fabs(mean(u).item<double>() - 0.5) < 0.02);
  REQUIRE(randn({4}, 1, DType::F64).dtype() == DType::F64);
}
