// digits_classify: the deployment half of the digits demo. It links only the eager library
// (ejit::ejit: no LLVM, no MLIR), loads the inference function that `digits --export DIR`
// exported, and classifies the test set with it.
//
//   digits_classify build/digits-export
#include <ejit/compiled_library.h>
#include <ejit/ejit.h>
#include <ejit/npy.h>
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <string>

using namespace ejit;

namespace {

/// Whether a library whose file name contains `name` is mapped into this process.
bool mapped(const std::string& name) {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);)
    if (line.find(name) != std::string::npos) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: digits_classify DIR (written by digits --export DIR)\n");
    return 2;
  }
  const std::string dir = argv[1];
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const CompiledLibrary predict = load_compiled(dir + "/digits_predict.so");
    const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    fmt::print("loaded {} in {:.2f} ms: {} signatures, {} bytes of code, for {}\n", predict.name(), load_ms,
               predict.signatures(), predict.code_bytes(), predict.target());
    for (size_t i = 0; i < predict.signatures(); ++i) fmt::print("  {}: {}\n", predict.signature(i), predict.plan(i));

    const Tensor x = load_npy(dir + "/x_test.npy"), y = load_npy(dir + "/y_test.npy");
    const Tensor labels = predict({x})[0];
    const double acc = mean(cast(eq(labels, y), DType::F32)).item<double>();
    // One image at a time through the second signature: the same labels.
    int64_t same = 0;
    for (int64_t i = 0; i < x.dim(0); ++i)
      same += predict({x.slice(0, i, i + 1)})[0].item<int64_t>() == labels.slice(0, i, i + 1).item<int64_t>();
    const bool no_compiler = !mapped("libLLVM") && !mapped("libMLIR");
    fmt::print("test accuracy {:.2f}% on {} images; one image at a time: {} of {} labels the same\n", 100 * acc, x.dim(0),
               same, x.dim(0));
    fmt::print("{}: LLVM or MLIR loaded in this process: {}\n", no_compiler && same == x.dim(0) ? "OK" : "FAILED",
               no_compiler ? "no" : "YES");
    return no_compiler && same == x.dim(0) ? 0 : 1;
  } catch (const Error& e) {
    fmt::print(stderr, "digits_classify: {}\n", e.what());
    return 2;
  }
}
