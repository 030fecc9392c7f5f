// ejit run: a trace file run by the interpreter (eval_trace), by compiled code, or by both
// with a comparison of results and times.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.h"
#include "ejit/compiled_library.h"
#include "ejit/format.h"
#include "ejit/jit.h"
#include "ejit/npy.h"
#include "ejit/ops.h"

namespace ejit::tool {

const char* const kRunHelp = R"(usage: ejit run FILE.mlir [--mode=interp|compiled|compare] [--inputs a.npy,b.npy | --seed N]
                [--outputs DIR] [--repeat N] [--rtol X] [--atol Y] [--device=cpu|cuda]
       ejit run NAME.so [--signature=N] [same options]

Runs the trace in FILE.mlir (ejit dialect, as Trace::save writes it), or a library written
by ejit export (compiled: its own code, loaded as load_compiled() loads it; interp: the
trace inside it).
  --mode=interp    the interpreter: each op with the eager kernels (eval_trace)
  --mode=compiled  the CPU-compiled code (as jit() would run it)
  --mode=compare   both (the default): prints, per output, the max abs and max rel error of
                   compiled vs interpreted and whether it is within tolerance, then per mode
                   the median time per run and the speedup; exits 1 when an output is out
                   of tolerance
  --inputs LIST    comma-separated .npy files, one per trace input, in order; their shapes
                   and dtypes must match the trace's
  --seed N         random inputs (default seed 0): floats ~ N(0, 1); integers in [-5, 5],
                   or in [0, n) when they index a dim of size n (take, gather); bools 50/50
  --signature=N    a library's signature to run (default 0; see ejit export)
  --device=cuda    compiled mode runs the trace's GPU program on cuda:0 (inputs copied
                   there, outputs back; times include waiting for the GPU)
  --outputs DIR    writes out0.npy, out1.npy, ... (compiled results in compiled and compare
                   modes, the interpreter's in interp mode); DIR is created if missing
  --repeat N       timed runs per mode after one warm-up run (default 10); times are medians
  --rtol X --atol Y  tolerance |compiled - interp| <= atol + rtol * |interp|, per element;
                   defaults by dtype: f32 rtol 1e-4 atol 1e-5; f64 rtol 1e-9 atol 1e-12;
                   integers and bools exact. NaN matches NaN. max rel err is over elements
                   whose interpreted value is not 0.

interp and compiled modes print each output (NumPy-like, long dims elided) and the time.
matmul is compiled as loops here (jit() keeps traces with a matmul eager, on the BLAS).
)";

namespace {

using Clock = std::chrono::steady_clock;

struct Timed {
  std::vector<Tensor> outputs;  // of the warm-up run
  double median_ms = 0;
};

/// One warm-up run (its outputs are returned), then `repeat` timed runs.
Timed time_runs(const std::function<std::vector<Tensor>()>& fn, int64_t repeat) {
  Timed t;
  t.outputs = fn();
  std::vector<double> ms;
  for (int64_t i = 0; i < repeat; ++i) {
    auto t0 = Clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  if (!ms.empty()) {
    std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
    t.median_ms = ms[ms.size() / 2];
  }
  return t;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, sep);)
    if (!item.empty()) out.push_back(item);
  return out;
}

/// Per trace value, the exclusive upper bound of valid indices when it indexes a dim (take,
/// gather), directly or through reshapes, permutes, broadcasts, slices and casts; or 0.
std::vector<int64_t> index_limits(const Trace& t) {
  std::vector<int64_t> limit(t.values.size(), 0);
  auto bound = [&](int value, int64_t n) { limit[value] = limit[value] ? std::min(limit[value], n) : n; };
  for (auto it = t.nodes.rbegin(); it != t.nodes.rend(); ++it) {  // consumers before producers
    const TraceNode& n = *it;
    if ((n.kind == NodeKind::Take || n.kind == NodeKind::Gather || n.kind == NodeKind::IndexAdd ||
         n.kind == NodeKind::ScatterAdd) && n.inputs.size() >= 2 &&
        !n.ints.empty()) {
      const Shape& x = t.values[n.inputs[0]].shape;
      int64_t axis = n.ints[0] < 0 ? n.ints[0] + x.rank() : n.ints[0];
      if (axis >= 0 && axis < x.rank()) bound(n.inputs[1], x[static_cast<int>(axis)]);
    } else if ((n.kind == NodeKind::Reshape || n.kind == NodeKind::Permute || n.kind == NodeKind::BroadcastTo ||
                n.kind == NodeKind::Slice || n.kind == NodeKind::Cast) &&
               n.inputs.size() == 1 && limit[n.output]) {
      bound(n.inputs[0], limit[n.output]);
    }
  }
  return limit;
}

/// A dynamic dim (-1 - k: symbol k, in an exported library's signature) as a size random
/// inputs can have: 8 + k (each symbol its own size, every dim of a symbol the same).
Shape concrete_shape(const Shape& s) {
  std::vector<int64_t> dims;
  for (int64_t d : s) dims.push_back(d < 0 ? 8 + (-1 - d) : d);
  return Shape(dims);
}

std::vector<Tensor> random_inputs(const Trace& t, uint64_t seed) {
  std::vector<int64_t> limit = index_limits(t);
  std::vector<Tensor> inputs;
  for (size_t k = 0; k < t.inputs.size(); ++k) {
    const ValueType v{concrete_shape(t.values[t.inputs[k]].shape), t.values[t.inputs[k]].dtype};
    const uint64_t s = seed * 1000003 + k;
    switch (v.dtype) {
      case DType::F32: case DType::F64: inputs.push_back(randn(v.shape, s, v.dtype)); break;
      case DType::I32: case DType::I64: {
        const int64_t lim = limit[t.inputs[k]];
        Tensor u = lim > 0 ? rand(v.shape, s, DType::F64, 0, static_cast<double>(lim)) : rand(v.shape, s, DType::F64, -5, 6);
        inputs.push_back(cast(floor(u), v.dtype));
        break;
      }
      case DType::Bool: inputs.push_back(rand(v.shape, s) < 0.5f); break;
    }
  }
  return inputs;
}

std::vector<Tensor> file_inputs(const Trace& t, const std::string& list) {
  std::vector<std::string> paths = split(list, ',');
  if (paths.size() != t.inputs.size())
    throw Error(fmt::format("[run] the trace takes {} inputs, --inputs gives {}", t.inputs.size(), paths.size()));
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < paths.size(); ++i) {
    Tensor x = load_npy(paths[i]);
    const ValueType& want = t.values[t.inputs[i]];
    bool fits = x.dtype() == want.dtype && x.rank() == want.shape.rank();
    for (int d = 0; fits && d < x.rank(); ++d) fits = want.shape[d] < 0 || x.shape()[d] == want.shape[d];  // < 0: dynamic
    if (!fits)
      throw Error(fmt::format("[run] input {} ('{}') is {} {}, the trace takes {} {}", i, paths[i], x.shape(), x.dtype(),
                              want.shape, want.dtype));
    inputs.push_back(x);
  }
  return inputs;
}

std::string count(size_t n, const char* what) { return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s"); }

struct Tolerance {
  double rtol, atol;
};

Tolerance default_tolerance(DType d) {
  if (d == DType::F32) return {1e-4, 1e-5};
  if (d == DType::F64) return {1e-9, 1e-12};
  return {0, 0};
}

struct Diff {
  double max_abs = 0, max_rel = 0;
  bool within = true;
};

Diff compare(const Tensor& ref, const Tensor& got, Tolerance tol) {
  Diff d;
  if (ref.shape() != got.shape() || ref.dtype() != got.dtype()) {
    d.within = false;
    d.max_abs = d.max_rel = std::numeric_limits<double>::infinity();
    return d;
  }
  std::vector<double> r = ref.to_vector<double>(), g = got.to_vector<double>();
  for (size_t i = 0; i < r.size(); ++i) {
    if (std::isnan(r[i]) && std::isnan(g[i])) continue;
    if (r[i] == g[i]) continue;  // also equal infinities
    double err = std::fabs(g[i] - r[i]);
    if (std::isnan(err)) err = std::numeric_limits<double>::infinity();
    d.max_abs = std::max(d.max_abs, err);
    if (r[i] != 0) d.max_rel = std::max(d.max_rel, err / std::fabs(r[i]));
    if (!(err <= tol.atol + tol.rtol * std::fabs(r[i]))) d.within = false;
  }
  return d;
}

void write_outputs(const std::string& dir, const std::vector<Tensor>& outputs) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("[run] cannot create the output directory '{}': {}", dir, ec.message()));
  for (size_t i = 0; i < outputs.size(); ++i) save_npy(fmt::format("{}/out{}.npy", dir, i), outputs[i]);
}

std::string type_str(const ValueType& v) { return fmt::format("{} {}", v.shape, v.dtype); }

}  // namespace

int cmd_run(const Args& a) {
  const std::string& file = a.file();
  const std::string mode = a.get("mode", "compare");
  if (mode != "interp" && mode != "compiled" && mode != "compare")
    throw UsageError(fmt::format("unknown mode '{}' (expected interp, compiled or compare)", mode));
  const std::string device = a.get("device", "cpu");
  if (device != "cpu" && device != "cuda") throw UsageError(fmt::format("unknown device '{}' (expected cpu or cuda)", device));
  const bool gpu = device == "cuda";
  if (gpu && !cuda_available()) throw Error("--device=cuda: no CUDA device: " + cuda_unavailable_reason());
  if (a.has("inputs") && a.has("seed")) throw UsageError("give --inputs or --seed, not both");
  const int64_t repeat = a.get_int("repeat", 10, 0);
  const uint64_t seed = static_cast<uint64_t>(a.get_int("seed", 0, 0));
  const bool user_tol = a.has("rtol") || a.has("atol");
  const double rtol = a.get_double("rtol", 1e-4), atol = a.get_double("atol", 1e-5);

  // A library written by ejit export: its compiled code, and its trace for the interpreter.
  const bool library = file.size() > 3 && file.compare(file.size() - 3, 3, ".so") == 0;
  std::optional<CompiledLibrary> lib;
  if (library) {
    lib = load_compiled(file);
    if (a.has("device") && gpu != lib->on_gpu())
      throw UsageError(fmt::format("--device={}: {} is a {} library", device, file, lib->on_gpu() ? "GPU" : "CPU"));
  } else if (a.has("signature")) {
    throw UsageError("--signature: only for libraries written by ejit export");
  }
  const int64_t sig = a.get_int("signature", 0, 0);
  if (lib && static_cast<size_t>(sig) >= lib->signatures())
    throw UsageError(fmt::format("--signature={}: {} has {} signature(s)", sig, file, lib->signatures()));
  Trace trace = lib ? lib->trace(static_cast<size_t>(sig)) : load_trace(file);
  std::vector<Tensor> inputs = a.has("inputs") ? file_inputs(trace, a.get("inputs", "")) : random_inputs(trace, seed);
  fmt::print("{}: {} ({}), {}, {}\n", file, count(inputs.size(), "input"),
             a.has("inputs") ? "from .npy files" : fmt::format("random, seed {}", seed),
             count(trace.outputs.size(), "output"), count(trace.nodes.size(), "op"));

  Timed interp, compiled;
  if (mode != "compiled") interp = time_runs([&] { return eval_trace(trace, inputs); }, repeat);
  if (mode != "interp" && lib) {
    fmt::print("loaded {} ({}) for {}\n", lib->name(), lib->plan(static_cast<size_t>(sig)), lib->target());
    if (lib->on_gpu()) {
      if (!cuda_available()) throw Error(fmt::format("{} is a GPU library: no CUDA device: {}", file, cuda_unavailable_reason()));
      std::vector<Tensor> on_gpu;
      for (const Tensor& t : inputs) on_gpu.push_back(t.to(Device::cuda(0)));
      compiled = time_runs([&] {
        std::vector<Tensor> out = lib->run_signature(static_cast<size_t>(sig), on_gpu);
        synchronize(Device::cuda(0));
        return out;
      }, repeat);
      for (Tensor& t : compiled.outputs) t = t.to(Device::cpu());
    } else {
      compiled = time_runs([&] { return lib->run_signature(static_cast<size_t>(sig), inputs); }, repeat);
    }
  } else if (mode != "interp") {
    const Compiled exe = compile(trace, {.target = gpu ? Target::CUDA : Target::CPU});
    if (!exe.ok()) throw Error(fmt::format("{}: cannot compile: {}", file, exe.error()));
    fmt::print("{} in {:.1f} ms{}\n", exe.from_disk_cache() ? "loaded from the disk cache" : "compiled",
               exe.milliseconds(), gpu ? " for the GPU" : "");
    if (gpu) {
      std::vector<Tensor> on_gpu;
      for (const Tensor& t : inputs) on_gpu.push_back(t.to(Device::cuda(0)));
      compiled = time_runs([&] {
        std::vector<Tensor> out = exe.run(on_gpu);
        synchronize(Device::cuda(0));
        return out;
      }, repeat);
      for (Tensor& t : compiled.outputs) t = t.to(Device::cpu());
    } else {
      compiled = time_runs([&] { return exe.run(inputs); }, repeat);
    }
  }
  const std::vector<Tensor>& results = mode == "interp" ? interp.outputs : compiled.outputs;
  if (a.has("outputs")) write_outputs(a.get("outputs", "."), results);

  if (mode != "compare") {
    for (size_t i = 0; i < results.size(); ++i)
      fmt::print("out{}: {}\n{}\n", i, type_str({results[i].shape(), results[i].dtype()}), results[i]);
    fmt::print("{}: {:.3f} ms per run (median of {})\n", mode, mode == "interp" ? interp.median_ms : compiled.median_ms,
               repeat);
    return 0;
  }

  int bad = 0;
  fmt::print("\n{:<7} {:<20} {:<6} {:>12} {:>12} {:>8} {:>8}  {}\n", "output", "shape", "dtype", "max abs err",
             "max rel err", "rtol", "atol", "within tolerance");
  for (size_t i = 0; i < results.size(); ++i) {
    const ValueType& v = trace.values[trace.outputs[i]];
    Tolerance tol = user_tol ? Tolerance{rtol, atol} : default_tolerance(v.dtype);
    Diff d = compare(interp.outputs[i], compiled.outputs[i], tol);
    bad += !d.within;
    fmt::print("{:<7} {:<20} {:<6} {:>12.3g} {:>12.3g} {:>8.0e} {:>8.0e}  {}\n", fmt::format("out{}", i),
               results[i].shape().str(), name(v.dtype), d.max_abs, d.max_rel, tol.rtol, tol.atol, d.within ? "yes" : "NO");
  }
  fmt::print("\n{:<9} {:>14} {:>8}\n", "mode", "median ms/run", "speedup");
  const double base = interp.median_ms;
  auto speedup = [&](double ms) { return ms > 0 ? fmt::format("{:.2f}x", base / ms) : std::string("-"); };
  fmt::print("{:<9} {:>14.3f} {:>8}\n", "interp", interp.median_ms, speedup(interp.median_ms));
  fmt::print("{:<9} {:>14.3f} {:>8}\n", "compiled", compiled.median_ms, speedup(compiled.median_ms));
  fmt::print("({} per mode after a warm-up)\n", count(static_cast<size_t>(repeat), "timed run"));
  if (bad) {
    std::fflush(stdout);
    fmt::print(stderr, "ejit: {} of {} out of tolerance\n", bad, count(results.size(), "output"));
    return 1;
  }
  return 0;
}

}  // namespace ejit::tool
