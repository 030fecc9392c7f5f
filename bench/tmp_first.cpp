#include <ejit/ejit.h>
#include <ejit/jit.h>
#include <chrono>
#include <fmt/format.h>
using namespace ejit;
int main() {
  Tensor a = rand({1024}, 1), b = rand({1024}, 2), c = rand({1024}, 3);
  auto now = [] { return std::chrono::steady_clock::now(); };
  auto ms = [](auto t0, auto t1) { return std::chrono::duration<double, std::milli>(t1 - t0).count(); };
  auto t0 = now();
  Tensor e = exp(a * b) + tanh(c) * 0.5f - a / (1 + b * b);
  auto t1 = now();
  auto f = jit([](const Tensor& a, const Tensor& b, const Tensor& c) { return exp(a * b) + tanh(c) * 0.5f - a / (1 + b * b); });
  auto t2 = now();
  Tensor y = f(a, b, c);
  auto t3 = now();
  Tensor y2 = f(a, b, c);
  auto t4 = now();
  fmt::print("eager first {:.3f} ms, jit first call {:.3f} ms, second {:.3f} ms\n", ms(t0, t1), ms(t2, t3), ms(t3, t4));
}
