// The runtime: thread pool sizing, use from many application threads, kernel ISA selection.
#include <thread>

#include "test_util.h"

using namespace ejit;

TEST_CASE("ops from several application threads at once give correct results", "[runtime]") {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t, &failures] {
      for (int it = 0; it < 20; ++it) {
        Tensor x = full({100000}, float(t + 1));
        float s = sum(x * 2.f + 1.f).item<float>();
        if (s != 100000.f * (2.f * (t + 1) + 1.f)) ++failures;
        Tensor m = matmul(ones({64, 64}), ones({64, 64}));
        if (m.at<float>({3, 5}) != 64.f) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  REQUIRE(failures == 0);
}

TEST_CASE("the pool can be resized and results stay equal", "[runtime]") {
  int saved = num_threads();
  Tensor x = rand({1 << 20}, 1);
  set_num_threads(1);
  auto a = exp(x).to_vector<float>();
  set_num_threads(3);
  REQUIRE(num_threads() == 3);
  auto b = exp(x).to_vector<float>();
  set_num_threads(saved);
  REQUIRE(a == b);
}

TEST_CASE("a kernel ISA was selected", "[runtime]") {
  std::string isa = kernel_isa();
  REQUIRE((isa == "generic" || isa == "avx2" || isa == "avx512"));
}

TEST_CASE("resizing the pool repeatedly never hangs", "[runtime]") {
  int saved = num_threads();
  Tensor x = ones({1 << 18});
  for (int i = 0; i < 200; ++i) {
    set_num_threads(1 + i % 3);
    REQUIRE(sum(x).item<float>() == float(1 << 18));
  }
  set_num_threads(saved);
}
