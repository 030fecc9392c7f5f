// load_and_compare: loads libraries written by `ejit export` in a program that links only the
// eager library (ejit::ejit), runs every signature on random inputs and compares it with the
// interpreter running the trace inside the library. Exit 0 when all agree and neither LLVM
// nor MLIR is mapped into the process.
//
//   load_and_compare A.so [B.so ...]
#include <ejit/compiled_library.h>
#include <ejit/ejit.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <string>

using namespace ejit;

namespace {

bool mapped(const std::string& name) {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);)
    if (line.find(name) != std::string::npos) return true;
  return false;
}

Tensor random_input(const ValueType& v, uint64_t seed) {
  const Tensor x = randn(v.shape, seed, DType::F64) * 3.0;
  if (v.dtype == DType::Bool) return x > 0.0;
  return cast(is_floating(v.dtype) ? x : round(x), v.dtype);
}

/// Largest |a - b| / (atol + rtol |b|) over the elements (<= 1: within tolerance).
double worst(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return INFINITY;
  const auto x = a.to_vector<double>(), y = b.to_vector<double>();
  double w = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) || std::isnan(y[i])) {
      if (std::isnan(x[i]) != std::isnan(y[i])) return INFINITY;
      continue;
    }
    w = std::max(w, std::fabs(x[i] - y[i]) / (1e-5 + 1e-4 * std::fabs(y[i])));
  }
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  int bad = 0;
  for (int f = 1; f < argc; ++f) {
    try {
      const auto t0 = std::chrono::steady_clock::now();
      const CompiledLibrary lib = load_compiled(argv[f]);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      for (size_t s = 0; s < lib.signatures(); ++s) {
        const Trace& t = lib.trace(s);
        std::vector<Tensor> in;
        for (size_t i = 0; i < t.inputs.size(); ++i) in.push_back(random_input(t.values[t.inputs[i]], 11 + i));
        const std::vector<Tensor> got = lib(in), want = eval_trace(t, in);
        double w = got.size() == want.size() ? 0 : INFINITY;
        for (size_t i = 0; i < got.size() && i < want.size(); ++i) w = std::max(w, worst(got[i], want[i]));
        bad += !(w <= 1);
        fmt::print("{} {}: {}, loaded in {:.2f} ms; worst error {:.3g} of tolerance: {}\n", argv[f], lib.signature(s),
                   lib.plan(s), ms, w, w <= 1 ? "ok" : "WRONG");
      }
    } catch (const Error& e) {
      fmt::print("{}: {}\n", argv[f], e.what());
      ++bad;
    }
  }
  const bool clean = !mapped("libLLVM") && !mapped("libMLIR");
  fmt::print("{}: {} of {} libraries wrong; LLVM or MLIR in this process: {}\n", bad || !clean ? "FAILED" : "OK", bad,
             argc - 1, clean ? "no" : "YES");
  return bad || !clean ? 1 : 0;
}
