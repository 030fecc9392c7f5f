// export_bench: exported libraries against the in-process JIT, in the same run.
//
//   export_bench [--quick]
//
// For each function (the digits model's inference on its test set and on one image, an MLP
// 784-512-10 inference at batch 256, the W1 elementwise chain on 16M floats): the export's
// time (compile and link) and file size, load_compiled's time (median; target <= 5 ms for the
// digits model), and ms per call of the loaded library against the jitted function it was
// exported from (target: equal, ratio 1.00).
#include <ejit/compiled_library.h>
#include <ejit/ejit.h>
#include <ejit/jit.h>
#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <unistd.h>

#include "machine_peaks.h"

using namespace ejit;
using bench::median_ms;

namespace {

struct Model {
  Tensor w1, b1, w2, b2, w3, b3;
};

void measure(const std::string& what, const std::function<std::vector<Tensor>(const Tensor&)>& fn,
             const std::vector<Tensor>& inputs, int reps, const std::filesystem::path& dir) {
  auto jitted = jit([fn](const Tensor& x) { return fn(x); }, what, {.compile = CompileMode::Sync});
  for (const Tensor& x : inputs) jitted(x);
  const std::string path = (dir / (what + ".so")).string();
  const auto t0 = std::chrono::steady_clock::now();
  jitted.export_library(path);
  const double export_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const double load_ms = median_ms(reps * 3, [&] { load_compiled(path); });
  const CompiledLibrary lib = load_compiled(path);
  fmt::print("{}: {} signature(s), {} KB file ({} KB code); export {:.0f} ms, load {:.2f} ms\n", what, lib.signatures(),
             std::filesystem::file_size(path) / 1024, lib.code_bytes() / 1024, export_ms, load_ms);
  for (const Tensor& x : inputs) {
    // Alternate the two so that drift of this machine hits both alike.
    double jit_ms = 0, lib_ms = 0;
    for (int round = 0; round < 3; ++round) {
      jit_ms += median_ms(reps, [&] { jitted(x); });
      lib_ms += median_ms(reps, [&] { lib({x}); });
    }
    fmt::print("  x {}: jitted {:.4f} ms, loaded {:.4f} ms per call: loaded/jitted {:.2f}\n", x.shape().str(), jit_ms / 3,
               lib_ms / 3, lib_ms / jit_ms);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int reps = quick ? 2 : 30;
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / fmt::format("ejit-export-bench-{}", getpid());
  std::filesystem::create_directories(dir);
  try {
    fmt::print("export_bench: exported libraries (load_compiled) vs the jitted functions they came from, {} threads\n\n",
               num_threads());
    const Model m{randn({64, 128}, 1) * 0.1f, zeros({128}), randn({128, 64}, 2) * 0.1f, zeros({64}),
                  randn({64, 10}, 3) * 0.1f, zeros({10})};
    measure("digits_predict", [m](const Tensor& x) {
      const Tensor h = relu(matmul(relu(matmul(x, m.w1) + m.b1), m.w2) + m.b2);
      return std::vector<Tensor>{argmax(matmul(h, m.w3) + m.b3, 1)};
    }, {randn({360, 64}, 4), randn({1, 64}, 5)}, reps, dir);
    const Tensor w1 = randn({784, 512}, 6) * 0.05f, b1 = zeros({512}), w2 = randn({512, 10}, 7) * 0.05f, b2 = zeros({10});
    measure("mlp_784_512_10", [=](const Tensor& x) {
      return std::vector<Tensor>{softmax(matmul(relu(matmul(x, w1) + b1), w2) + b2, -1)};
    }, {randn({quick ? 16 : 256, 784}, 8)}, reps, dir);
    measure("w1_chain", [](const Tensor& a) {
      return std::vector<Tensor>{exp(a * 1.5f) + tanh(a) * 0.5f - a / (1 + a * a)};
    }, {randn({quick ? 1 << 12 : 1 << 24}, 9)}, quick ? 2 : 7, dir);
  } catch (const Error& e) {
    fmt::print(stderr, "export_bench: {}\n", e.what());
    std::filesystem::remove_all(dir);
    return 1;
  }
  std::filesystem::remove_all(dir);
  return 0;
}
