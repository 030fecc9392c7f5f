// eager_tour: ejit's eager ops as an application sees them, with values and timings.
//
//   eager_tour [--size N]   N = elements of the big elementwise chain (default 16M)
#include <ejit/ejit.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

using namespace ejit;

namespace {

template <class F> double best_ms(int reps, F&& f) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n = 16 << 20;
  for (int i = 1; i + 1 < argc; ++i)
    if (!std::strcmp(argv[i], "--size")) n = std::atoll(argv[i + 1]);

  fmt::print("ejit eager tour — kernels: {}, threads: {}, matmul: {}\n\n", kernel_isa(), num_threads(), matmul_backend());

  // Ops run at once and give concrete values.
  Tensor a = tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  Tensor b = full({3}, 0.5f);
  fmt::print("a =\n{}\n", a);
  fmt::print("a * b + 1 (broadcast) =\n{}\n", a * b + 1);
  fmt::print("softmax(a) =\n{}\n", softmax(a));
  fmt::print("sum over axis 1 = {}, argmax = {}\n", sum(a, {1}), argmax(a, 1));
  fmt::print("a @ a^T =\n{}\n", matmul(a, transpose(a)));

  // Plain C++ control flow on values.
  Tensor x = randn({4}, /*seed=*/7);
  fmt::print("x = {}\n", x);
  if (max(x).item<float>() > 1.f) fmt::print("max(x) > 1: taking the C++ branch on a concrete value\n");

  // Errors name the op and the shapes, and the program goes on.
  try {
    matmul(a, a);
  } catch (const Error& e) {
    fmt::print("caught: {}\n\n", e.what());
  }

  // Timings.
  Tensor p = rand({n}, 1), q = rand({n}, 2), r = rand({n}, 3);
  Tensor y;
  double chain = best_ms(5, [&] { y = exp(p * q) + tanh(r) * 0.5f - p / (1 + q * q); });
  fmt::print("elementwise chain exp(a*b)+tanh(c)*0.5-a/(1+b*b) on {} f32: {:.2f} ms eager ({} ops, {:.2f} GB/s of op traffic)\n",
             n, chain, 9, (9.0 * 3 * 4 * n) / (chain * 1e6));
  Tensor logits = randn({4096, 1024}, 4);
  double sm = best_ms(5, [&] { y = softmax(logits); });
  fmt::print("softmax 4096x1024 f32: {:.2f} ms\n", sm);
  Tensor m1 = randn({1024, 1024}, 5), m2 = randn({1024, 1024}, 6);
  double mm = best_ms(5, [&] { y = matmul(m1, m2); });
  fmt::print("matmul 1024^3 f32: {:.2f} ms, {:.1f} GFLOP/s\n", mm, 2.0 * 1024 * 1024 * 1024 / (mm * 1e6));
  Tensor s8 = ones({8}), t8 = ones({8});
  const int ops = 100000;
  double small = best_ms(3, [&] {
    for (int i = 0; i < ops; ++i) s8 = s8 + t8;
  });
  fmt::print("small-op dispatch (8-element add): {:.3f} us per op\n", small * 1e3 / ops);
  fmt::print("\nexamples/jit_demo runs such functions compiled, through jit().\n");
  return 0;
}
