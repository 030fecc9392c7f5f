// GPU benchmark: the fused chain y = exp(a*b) + tanh(c)*0.5 - a/(1+b*b) on 64M f32,
// compiled for the GPU, against a device-to-device copy measured in the same run (the
// bandwidth bar), the same chain as eager GPU ops, PyTorch eager and torch.compile (when
// python3 has torch), the launch overhead of a cached compiled trace, and row softmax and layer norm.
// Prints ratios; asserts nothing. Without a CUDA device it says so and exits 0.
#include <ejit/ejit.h>
#include <ejit/jit.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <utility>
#include <string>
#include <vector>

#include <fmt/format.h>


using namespace ejit;

namespace {

using Clock = std::chrono::steady_clock;

/// Median over `repeat` runs of the time of `iters` calls of f followed by a synchronize, per call.
template <class F>
double time_ms(F&& f, int iters, int repeat = 5) {
  std::vector<double> t;
  for (int r = 0; r < repeat; ++r) {
    synchronize(Device::cuda(0));
    auto t0 = Clock::now();
    for (int i = 0; i < iters; ++i) f();
    synchronize(Device::cuda(0));
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / iters);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

Tensor chain(const Tensor& a, const Tensor& b, const Tensor& c) { return exp(a * b) + tanh(c) * 0.5f - a / (1.f + b * b); }

/// PyTorch's times for the same chain (eager, torch.compile), from bench/torch_chain.py.
bool torch_times(int64_t n, double& eager_ms, double& compiled_ms) {
  const char* dir = std::getenv("EJIT_BENCH_DIR");
  const std::string script = std::string(dir && *dir ? dir : "bench") + "/torch_chain.py";
  // Under the GPU bundle, python3 gets the machine's own library path back (the bundle's
  // libstdc++ could break PyTorch's import).
  const char* child_path = std::getenv("EJIT_CHILD_LD_LIBRARY_PATH");
  const std::string env = child_path ? fmt::format("env LD_LIBRARY_PATH='{}' ", child_path) : "";
  FILE* p = popen(fmt::format("{}python3 {} {} 2>/dev/null", env, script, n).c_str(), "r");
  if (!p) return false;
  char line[256];
  bool ok = false;
  while (fgets(line, sizeof line, p))
    if (std::sscanf(line, "torch eager_ms=%lf compiled_ms=%lf", &eager_ms, &compiled_ms) == 2) ok = true;
  pclose(p);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  if (!cuda_available()) {
    fmt::print("gpu_bench: skipped: no CUDA device ({})\n", cuda_unavailable_reason());
    return 0;
  }
  const Device gpu = Device::cuda(0);
  fmt::print("device: {}\n", device_description(Device::cuda(0)));
  const int64_t n = quick ? (1 << 20) : (int64_t{64} << 20);
  const int iters = quick ? 3 : 20;
  Tensor a = randn({n}, 1).to(gpu), b = randn({n}, 2).to(gpu), c = randn({n}, 3).to(gpu);

  // The bandwidth bar: a device-to-device copy of 4n bytes (reads and writes 8n bytes).
  Tensor dst = Tensor::empty({n}, DType::F32, gpu);
  const double copy_ms = time_ms([&] { copy_into(dst, a); }, iters);
  const double copy_gbs = 8.0 * n / copy_ms / 1e6;

  auto f = jit(chain);
  f(a, b, c);  // record (the compile thread builds the program)
  wait_for_compiles();
  const double jit_ms = time_ms([&] { f(a, b, c); }, iters);
  const double jit_gbs = 16.0 * n / jit_ms / 1e6;  // three reads and one write of 4 bytes
  const double eager_ms = time_ms([&] { chain(a, b, c); }, quick ? 1 : 5);
  fmt::print("chain on {}M f32:\n", n >> 20);
  fmt::print("  device copy      {:8.3f} ms  {:7.1f} GB/s (the bar)\n", copy_ms, copy_gbs);
  fmt::print("  ejit compiled    {:8.3f} ms  {:7.1f} GB/s  = {:.0f}% of the copy's bandwidth (target >= 80%)\n", jit_ms,
             jit_gbs, 100 * jit_gbs / copy_gbs);
  fmt::print("  ejit eager GPU   {:8.3f} ms  ({:.1f}x the compiled time)\n", eager_ms, eager_ms / jit_ms);
  double torch_eager = 0, torch_compiled = 0;
  if (!quick && torch_times(n, torch_eager, torch_compiled)) {
    fmt::print("  torch eager      {:8.3f} ms  (ejit compiled is {:.2f}x faster; target > 1)\n", torch_eager,
               torch_eager / jit_ms);
    fmt::print("  torch.compile    {:8.3f} ms  (ejit compiled / torch.compile = {:.2f}; target <= 1.10)\n",
               torch_compiled, jit_ms / torch_compiled);
  } else {
    fmt::print("  torch: not measured (python3 with torch and a GPU not found, or --quick)\n");
  }

  // Launch overhead: host time of one call of a cached compiled trace on a small input.
  Tensor s1 = randn({1024}, 4).to(gpu), s2 = randn({1024}, 5).to(gpu), s3 = randn({1024}, 6).to(gpu);
  f(s1, s2, s3);
  wait_for_compiles();
  std::vector<double> host_us;
  for (int r = 0; r < (quick ? 100 : 2000); ++r) {
    auto t0 = Clock::now();
    Tensor y = f(s1, s2, s3);
    host_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (r % 100 == 99) synchronize(gpu);  // keep the queue short
  }
  std::sort(host_us.begin(), host_us.end());
  fmt::print("launch overhead of a cached compiled trace (1024 elements): {:.2f} us host time per call (median; "
             "target < 10 us)\n", host_us[host_us.size() / 2]);

  // Row softmax and layer norm: one kernel each, a block per row (one read and one write of
  // the rows); the old plan (two block reductions and two fused kernels) is what the
  // eager ops still run.
  const int64_t rows = quick ? 256 : 8192, cols = quick ? 1024 : 4096;
  Tensor x = randn({rows, cols}, 7).to(gpu);
  auto sm = jit([](const Tensor& t) { return softmax(t, -1); });
  auto ln = jit([](const Tensor& t) { return layer_norm(t); });
  for (auto [what, fn] : {std::pair<const char*, std::function<Tensor(const Tensor&)>>{"softmax", [&](const Tensor& t) { return sm(t); }},
                          {"layer_norm", [&](const Tensor& t) { return ln(t); }}}) {
    fn(x);
    wait_for_compiles();
    const double ms = time_ms([&] { fn(x); }, iters);
    const double eager_ms = time_ms([&] { what[0] == 's' ? softmax(x, -1) : layer_norm(x); }, iters);
    const double gbs = 8.0 * rows * cols / ms / 1e6;  // at least one read and one write
    fmt::print("{} ({}, {}) f32: compiled {:.3f} ms, {:.1f} GB/s of compulsory traffic = {:.0f}% of the copy's bandwidth; "
               "eager {:.3f} ms ({:.1f}x)\n", what, rows, cols, ms, gbs, 100 * gbs / copy_gbs, eager_ms, eager_ms / ms);
  }

  // Matmul through cuBLAS (or the generated kernel where cuBLAS is missing).
  const int64_t m = quick ? 256 : 4096;
  Tensor p = randn({m, m}, 8).to(gpu), q = randn({m, m}, 9).to(gpu);
  matmul(p, q);
  const double mm_ms = time_ms([&] { matmul(p, q); }, iters);
  fmt::print("matmul {}x{}x{} f32: {:.3f} ms, {:.1f} TFLOP/s\n", m, m, m, mm_ms, 2.0 * m * m * m / mm_ms / 1e9);
  return 0;
}
