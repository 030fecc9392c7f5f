// fork(): a child of a process that has compiled (and run the thread pool) compiles, runs
// parallel eager ops and loads kernels, and does not hang (each child runs under alarm()).
#include <ejit/jit.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "child_process.h"
#include "test_util.h"

using namespace ejit;
using namespace ejit::test;


TEST_CASE("a fork()ed child compiles new functions and shapes, runs the pool, and does not hang", "[jit][fork]") {
  auto f = jit([](const Tensor& x) { return exp(x) * 2.f + tanh(x); });
  Tensor big = randn({512, 1024}, 1);
  f(big), f(big);  // the parent has compiled and run the pool
  REQUIRE(f.stats().hits == 1);
  (void)sum(big).item<float>();

  SECTION("a new function and a new shape of an old one") {
    std::string outcome = run_in_child([&] {
      auto g = jit([](const Tensor& x) { return softmax(x * 3.f, -1); });
      Tensor x = randn({300, 200}, 2);
      bool ok = same(g(x), softmax(x * 3.f, -1)) && same(g(x), softmax(x * 3.f, -1)) && g.stats().hits == 1;
      Tensor y = randn({7, 9}, 3);
      ok = ok && same(f(y), exp(y) * 2.f + tanh(y)) && same(f(y), exp(y) * 2.f + tanh(y)) && f.stats().hits == 2;
      ok = ok && same(f(big), exp(big) * 2.f + tanh(big));  // the parent's kernel
      return ok;
    });
    REQUIRE(outcome == "");
  }
  SECTION("parallel eager ops use a working pool in the child") {
    std::string outcome = run_in_child([&] {
      Tensor x = randn({2048, 2048}, 4);
      float s1 = sum(x * x).item<float>();
      float s2 = sum(x * x).item<float>();
      return s1 == s2 && num_threads() >= 1;
    });
    REQUIRE(outcome == "");
  }
  SECTION("a child of a child") {
    std::string outcome = run_in_child([&] {
      return run_in_child([&] {
        auto g = jit([](const Tensor& x) { return x * x + 1.f; });
        Tensor x = randn({64, 64}, 5);
        g(x);
        return same(g(x), x * x + 1.f);
      }) == "";
    });
    REQUIRE(outcome == "");
  }
  // The parent still compiles afterwards.
  Tensor z = randn({5, 5}, 6);
  f(z);
  test::require_close(f(z), exp(z) * 2.f + tanh(z), 1e-5);
}
