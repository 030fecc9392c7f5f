// Exported libraries (ejit export, export_library, load_compiled) against the interpreter,
// and every way a library file can be wrong.
#include <catch2/catch.hpp>
#include <ejit/compile.h>
#include <ejit/compiled_library.h>
#include <ejit/ejit.h>
#include <ejit/jit.h>

#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "../../lib/runtime/exported_library.h"
#include "../../lib/runtime/gpu_executor.h"
#include "../../lib/runtime/gpu_plan.h"
#include "../../lib/trace/dynamic_dims.h"
#include "any_chain.h"
#include "op_chains.h"
#include "test_util.h"

using namespace ejit;
using namespace ejit::test;

namespace {

Trace record(const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& fn, const std::vector<Tensor>& args) {
  return record_trace(fn, args);
}

/// Each signature of `lib` on random inputs against the interpreter running its trace.
void require_matches_interpreter(const CompiledLibrary& lib, uint64_t seed) {
  for (size_t s = 0; s < lib.signatures(); ++s) {
    const Trace& t = lib.trace(s);
    std::vector<Tensor> in;
    for (size_t i = 0; i < t.inputs.size(); ++i) {
      const ValueType& v = t.values[t.inputs[i]];
      in.push_back(inputs_for(v.dtype, v.shape, seed + 31 * i));
    }
    const std::vector<Tensor> got = lib(in), want = eval_trace(t, in);
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i)
      require_agree(got[i], want[i], 2e-5, 2e-5, lib.signature(s) + " output " + std::to_string(i));
  }
}

}  // namespace

TEST_CASE("export: random op chains (several signatures in one library) equal the interpreter", "[export]") {
  TempDir dir("export-chains");
  for (int kind = 0; kind < 2; ++kind) {
    std::vector<Trace> traces;
    std::set<std::pair<int64_t, int64_t>> shapes;
    std::mt19937_64 rng(77 + kind);
    for (uint64_t seed = 0; seed < 60 && traces.size() < 24; ++seed) {
      const int64_t m = 2 + static_cast<int64_t>(rng() % 40), n = 2 + static_cast<int64_t>(rng() % 40);
      if (!shapes.insert({m, n}).second) continue;
      const Tensor a = randn({m, n}, seed), b = randn({n}, seed + 7);
      traces.push_back(record([&](const std::vector<Tensor>& x) {
        return kind == 0 ? std::vector<Tensor>{random_chain(seed, x[0], x[1])} : random_structured_chain(seed, x[0], x[1]);
      }, {a, b}));
    }
    const std::string path = dir / ("chains" + std::to_string(kind) + ".so");
    export_library(traces, path, {.name = "chains"});
    const CompiledLibrary lib = load_compiled(path);
    REQUIRE(lib.signatures() == traces.size());
    REQUIRE(lib.name() == "chains");
    require_matches_interpreter(lib, 5);
  }
}

TEST_CASE("export: random chains over every op kind, one signature each, equal the interpreter", "[export][any]") {
  TempDir dir("export-any");
  std::vector<Trace> traces;
  std::vector<uint64_t> seeds;
  std::vector<AnyChainCase> cases;
  std::set<std::string> signatures;
  for (uint64_t seed = 500; traces.size() < 30; ++seed) {
    AnyChainCase c = any_chain_case(seed, 13);
    if (!signatures.insert(c.a.shape().str() + std::string(name(c.a.dtype())) + c.b.shape().str() + std::string(name(c.b.dtype()))).second)
      continue;
    traces.push_back(record([&](const std::vector<Tensor>& x) { return random_any_chain(seed, x[0], x[1]); }, {c.a, c.b}));
    seeds.push_back(seed);
    cases.push_back(std::move(c));
  }
  export_library(traces, dir / "any.so", {.name = "any"});
  const CompiledLibrary lib = load_compiled(dir / "any.so");
  REQUIRE(lib.signatures() == traces.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    std::vector<ChainOutput> info;
    const std::vector<Tensor> want = random_any_chain(seeds[i], cases[i].a, cases[i].b, 4, &info);
    const std::vector<Tensor> got = lib({cases[i].a, cases[i].b});
    INFO(cases[i].what << "\n" << lib.plan(i));
    CHECK(lib.plan(i).rfind("0 kernels", 0) == std::string::npos);  // compiled, at least in part
    REQUIRE(got.size() == want.size());
    for (size_t k = 0; k < got.size(); ++k) require_chain_output(got[k], want[k], info[k], false, "output " + std::to_string(k));
  }
}

TEST_CASE("export: take and gather in kernels check their indices in the library too", "[export][indexing]") {
  TempDir dir("export-take");
  const Tensor table = randn({30, 4}, 1), ids = from_vector<int64_t>({29, -30, 5}, {3}), labels = from_vector<int64_t>({1, 3, 0}, {3});
  const Trace t = record([](const std::vector<Tensor>& a) {
    const Tensor rows = take(a[0] * 2.f, a[1], 0);
    return std::vector<Tensor>{rows + 1.f, cross_entropy(rows, a[2])};
  }, {table, ids, labels});
  export_library({t}, dir / "take.so");
  const CompiledLibrary lib = load_compiled(dir / "take.so");
  INFO(lib.plan(0));
  REQUIRE(lib.plan(0) == "1 kernel, 0 interpreter steps");
  const std::vector<Tensor> got = lib({table, ids, labels}), want = eval_trace(t, {table, ids, labels});
  REQUIRE(got[0].to_vector<float>() == want[0].to_vector<float>());
  require_agree(got[1], want[1], 1e-6, 1e-6, "cross entropy");
  REQUIRE_THAT(error_of([&] { lib({table, from_vector<int64_t>({29, 30, 5}, {3}), labels}); }),
               Catch::Contains("[take] index 30 is out of range for dim 0 of size 30"));
  REQUIRE_THAT(error_of([&] { lib({table, ids, from_vector<int64_t>({1, 4, 0}, {3})}); }),
               Catch::Contains("[gather] index 4 is out of range for dim 1 of size 4"));

  // Indices the kernel computes: an output of it, checked after it runs, in the library too.
  const Trace computed = record([](const std::vector<Tensor>& a) {
    return std::vector<Tensor>{take(a[0] * 2.f, cast(floor(a[1] * 30.f), DType::I64), 0) + 1.f};
  }, {table, from_vector<float>({0.5f, -0.2f, 0.99f}, {3})});
  export_library({computed}, dir / "computed.so");
  const CompiledLibrary clib = load_compiled(dir / "computed.so");
  INFO(clib.plan(0));
  REQUIRE(clib.plan(0) == "1 kernel, 0 interpreter steps");
  const Tensor ok = from_vector<float>({0.1f, -0.99f, 0.7f}, {3}), bad = from_vector<float>({0.1f, 1.2f, 0.7f}, {3});
  REQUIRE(clib({table, ok})[0].to_vector<float>() == eval_trace(computed, {table, ok})[0].to_vector<float>());
  const std::string e = error_of([&] { clib({table, bad}); });
  REQUIRE(e == error_of([&] { eval_trace(computed, {table, bad}); }));
  REQUIRE_THAT(e, Catch::Contains("[take] index 36 is out of range for dim 0 of size 30"));
}

TEST_CASE("export: matmuls on the BLAS with folded transposes, reductions, gradients", "[export]") {
  TempDir dir("export-grad");
  const Tensor x = randn({16, 8}, 1), w = randn({8, 4}, 2), y = randn({16, 4}, 3);
  const Trace t = record([](const std::vector<Tensor>& a) {
    auto loss = [](const Tensor& x, const Tensor& w, const Tensor& y) {
      const Tensor d = tanh(matmul(x, w)) - y;
      return mean(d * d);
    };
    auto [value, grads] = value_and_grad(loss, {1})(a[0], a[1], a[2]);
    return std::vector<Tensor>{value, grads[0], argmax(matmul(a[0], a[1]), 1)};
  }, {x, w, y});
  export_library({t}, dir / "grad.so");
  const CompiledLibrary lib = load_compiled(dir / "grad.so");
  require_matches_interpreter(lib, 9);
  REQUIRE_THAT(lib.plan(0), Catch::Contains("interpreter step"));
}

TEST_CASE("export: a jitted function bakes in what it captured, and its signatures pick by shape", "[export]") {
  TempDir dir("export-jitted");
  Variable w(randn({6, 3}, 4), "w");
  const Tensor bias = randn({3}, 5);
  auto f = jit([&](const Tensor& x) { return relu(matmul(x, w.value()) + bias) * 2.f; }, "layer",
               {.compile = CompileMode::Sync});
  const Tensor x8 = randn({8, 6}, 6), x2 = randn({2, 6}, 7);
  const Tensor want8 = f(x8), want2 = f(x2);
  f.export_library(dir / "layer.so");
  w.assign(zeros({6, 3}));  // the library keeps the values of the export
  const CompiledLibrary lib = load_compiled(dir / "layer.so");
  REQUIRE(lib.name() == "layer");
  f.export_library(dir / "fn.so", {.name = "fn"});  // a name given is kept, even the default one
  REQUIRE(load_compiled(dir / "fn.so").name() == "fn");
  REQUIRE(lib.signatures() == 2);
  require_close(lib({x8})[0], want8, 1e-5);
  require_close(lib.call(x2)[0], want2, 1e-5);
  const std::string e = error_of([&] { lib({randn({3, 5}, 1)}); });
  REQUIRE_THAT(e, Catch::Contains("[layer]") && Catch::Contains("f32(3,5)") && Catch::Contains("(f32(8,6))"));
  REQUIRE_THAT(error_of([&] { lib({x8, x8}); }), Catch::Contains("no exported signature"));
  REQUIRE_THAT(error_of([&] { lib({cast(x8, DType::F64)}); }), Catch::Contains("no exported signature"));
}

TEST_CASE("export: a dynamic-dim signature runs at sizes it was not recorded at", "[export]") {
  TempDir dir("export-dynamic");
  auto f = jit([](const Tensor& x) { return softmax(x * 2.f, -1) + sum(x, {1}, true); }, "dyn",
               {.compile = CompileMode::Sync, .dynamic = true});
  f(randn({10, 7}, 1));
  f(randn({13, 7}, 2));  // generalizes dim 0
  f.export_library(dir / "dyn.so");
  const CompiledLibrary lib = load_compiled(dir / "dyn.so");
  bool dynamic = false;
  for (size_t i = 0; i < lib.signatures(); ++i) dynamic |= lib.signature(i) == "(f32(?,7))";
  REQUIRE(dynamic);
  const Tensor x = randn({29, 7}, 3);
  require_close(lib({x})[0], softmax(x * 2.f, -1) + sum(x, {1}, true), 1e-5);
  // The interpreter runs the dynamic signature's trace at the same sizes.
  for (size_t i = 0; i < lib.signatures(); ++i)
    if (lib.signature(i) == "(f32(?,7))")
      require_close(lib.run_signature(i, {x})[0], eval_trace(lib.trace(i), {x})[0], 1e-5);
}

TEST_CASE("export: differences along the dim that varies (x[1:] - x[:-1]) at sizes not recorded", "[export]") {
  TempDir dir("export-dynamic-rows");
  auto diff = [](const Tensor& x) { return slice(x, 0, 2, std::nullopt) - slice(x, 0, 0, -2); };
  auto f = jit(diff, "diff", {.compile = CompileMode::Sync, .dynamic = true});
  f(randn({10, 7}, 1));
  f(randn({13, 7}, 2));  // generalizes dim 0: n - 2 rows, for n >= 3
  f.export_library(dir / "diff.so");
  const CompiledLibrary lib = load_compiled(dir / "diff.so");
  for (int64_t n : {3, 4, 50}) {
    const Tensor x = randn({n, 7}, static_cast<uint64_t>(n));
    require_close(lib({x})[0], diff(x), 1e-6);
  }
  // Below the least size of the dynamic signature, and no static one fits.
  REQUIRE_THAT(error_of([&] { lib({randn({2, 7}, 1)}); }),
               Catch::Contains("no exported signature") && Catch::Contains("(f32(?,7)) (input 0 dim 0 is 2, not s0 for a size s0 of at least 3)"));
}

TEST_CASE("load_compiled: a forged size constant (no such symbol, a factor or offset out of bounds) is refused",
          "[export][errors]") {
  TempDir dir("export-size-constants");
  auto centered = [](const Tensor& x) { return x - mean(x, {0}, true); };  // mean's divisor follows the rows
  auto f = jit(centered, "centered", {.compile = CompileMode::Sync, .dynamic = true});
  f(randn({10, 7}, 1));
  f(randn({13, 7}, 2));
  const std::string good = dir / "good.so", bad = dir / "bad.so";
  f.export_library(good);
  const Tensor x = randn({21, 7}, 3);
  require_close(load_compiled(good)({x})[0], centered(x), 1e-5);
  const std::string bytes = read_bytes(good);  // split_library_file's parts view it
  const auto [object, manifest] = detail::split_library_file(bytes, good);
  // Each forgery changes the dynamic signature's size constant (the checksum is recomputed:
  // only the loader's checks stop it).
  auto forge = [&](const std::function<void(std::vector<int64_t>&)>& change) {
    detail::ExportManifest m = detail::read_manifest(manifest);
    int changed = 0;
    for (detail::ExportedEntry& e : m.entries)
      for (TraceNode& n : e.trace.nodes)
        if (detail::is_size_constant(n)) change(n.ints), ++changed;
    REQUIRE(changed == 1);
    write_bytes(bad, detail::library_file(object, detail::write_manifest(m)));
    return error_of([&] { load_compiled(bad); });
  };
  REQUIRE_THAT(forge([](std::vector<int64_t>& ints) { ints[0] = 3; }),
               Catch::StartsWith("[load_compiled] " + bad) && Catch::Contains("a size constant of symbol 3 (it has 1)"));
  REQUIRE_THAT(forge([](std::vector<int64_t>& ints) { ints[1] = (int64_t{1} << 46) + 1; }),
               Catch::Contains("a size constant of factor 70368744177665"));
  REQUIRE_THAT(forge([](std::vector<int64_t>& ints) { ints[1] = 0; }), Catch::Contains("a size constant of factor 0"));
  REQUIRE_THAT(forge([](std::vector<int64_t>& ints) { ints.resize(3), ints[2] = -(int64_t{1} << 47); }),
               Catch::Contains("and offset -140737488355328"));
}

TEST_CASE("export: what cannot be exported says why", "[export][errors]") {
  TempDir dir("export-refused");
  const std::string so = dir / "x.so";
  auto never_called = jit([](const Tensor& x) { return x + 1.f; }, "never");
  REQUIRE_THAT(error_of([&] { never_called.export_library(so); }), Catch::Contains("[export] never: no compiled CPU signature"));

  auto host_read = jit([](const Tensor& x) { return sum(x).item<float>() > 0 ? x * 2.f : -x; }, "branchy",
                       {.compile = CompileMode::Sync});
  host_read(randn({4}, 1));
  REQUIRE_THAT(error_of([&] { host_read.export_library(so); }), Catch::Contains("reads values on the host"));

  Variable counter(zeros({3}), "counter");
  auto assigns = jit([&](const Tensor& x) { counter.assign_add(x); return x * 2.f; }, "assigns", {.compile = CompileMode::Sync});
  assigns(ones({3}));
  REQUIRE_THAT(error_of([&] { assigns.export_library(so); }), Catch::Contains("assigns variables"));

  const Tensor x = randn({4}, 2);
  const Trace calls_back = record([](const std::vector<Tensor>& a) {
    return host_callback("double_it", [](const std::vector<Tensor>& in) { return std::vector<Tensor>{in[0] * 2.f}; },
                         {a[0] + 1.f}, {{Shape{4}, DType::F32}});
  }, {x});
  REQUIRE_THAT(error_of([&] { export_library({calls_back}, so); }), Catch::Contains("host callback"));
  const Trace t = record([](const std::vector<Tensor>& a) { return std::vector<Tensor>{exp(a[0]) * 2.f}; }, {x});
  REQUIRE_THAT(error_of([&] { export_library({t, t}, so); }), Catch::Contains("same signature"));
  REQUIRE_THAT(error_of([&] { export_library({}, so); }), Catch::Contains("nothing to export"));
  REQUIRE_THAT(error_of([&] { export_library({t}, so, {.cpu = "no-such-cpu"}); }), Catch::Contains("no-such-cpu"));
  REQUIRE_THAT(error_of([&] { export_library({t}, dir / "missing/dir/x.so"); }),
               Catch::Contains("[export] cannot write " + (dir / "missing/dir/x.so") + ": cannot create"));
  REQUIRE_FALSE(std::filesystem::exists(so));
}

TEST_CASE("load_compiled: damaged, foreign and mismatched files are refused before their code loads", "[export][errors]") {
  TempDir dir("export-damaged");
  const Tensor x = randn({32, 16}, 1);
  const Trace t = record([](const std::vector<Tensor>& a) { return std::vector<Tensor>{tanh(a[0]) * exp(a[0]) + 1.f}; }, {x});
  const std::string good = dir / "good.so";
  export_library({t}, good);
  const std::string bytes = read_bytes(good);
  REQUIRE_NOTHROW(load_compiled(good));

  const std::string bad = dir / "bad.so";
  // Truncated anywhere.
  for (size_t n = 0; n < bytes.size(); n += 1 + n / 8) {
    write_bytes(bad, bytes.substr(0, n));
    INFO("truncated to " << n << " bytes");
    REQUIRE_THAT(error_of([&] { load_compiled(bad); }), Catch::StartsWith("[load_compiled] " + bad));
  }
  // One byte changed anywhere: in the code, the manifest or the trailer.
  for (size_t at = 0; at < bytes.size(); at += 1 + at / 16) {
    std::string b = bytes;
    b[at] = static_cast<char>(b[at] ^ 0x20);
    write_bytes(bad, b);
    INFO("byte " << at << " changed");
    REQUIRE_THAT(error_of([&] { load_compiled(bad); }), Catch::StartsWith("[load_compiled] " + bad));
  }
  // Not an export at all; a folder; a missing file.
  write_bytes(bad, "not a library");
  REQUIRE_THAT(error_of([&] { load_compiled(bad); }), Catch::Contains("not a library exported by ejit"));
  REQUIRE_THAT(error_of([&] { load_compiled(dir.path.string()); }), Catch::Contains("[load_compiled]"));
  REQUIRE_THAT(error_of([&] { load_compiled(dir / "missing.so"); }), Catch::Contains("[load_compiled]"));

  // A well-formed file from another ejit version, or for another target: refused by name.
  const auto [object, manifest] = detail::split_library_file(bytes, good);
  detail::ExportManifest m = detail::read_manifest(manifest);
  m.ejit_version = "0.0.0-other";
  write_bytes(bad, detail::library_file(object, detail::write_manifest(m)));
  REQUIRE_THAT(error_of([&] { load_compiled(bad); }), Catch::Contains("written by ejit 0.0.0-other"));
  m = detail::read_manifest(manifest);
  m.target = "tpu";
  write_bytes(bad, detail::library_file(object, detail::write_manifest(m)));
  REQUIRE_THAT(error_of([&] { load_compiled(bad); }), Catch::Contains("target") && Catch::Contains("neither cpu nor cuda"));
  // A manifest whose steps do not fit its trace (checksum recomputed: only the checks stop it).
  m = detail::read_manifest(manifest);
  REQUIRE_FALSE(m.entries.at(0).steps.empty());
  detail::ExportedStep& first = m.entries[0].steps[0];
  if (first.compiled) first.inputs.push_back(0);
  else first.nodes = {0, 0};
  write_bytes(bad, detail::library_file(object, detail::write_manifest(m)));
  REQUIRE_THAT(error_of([&] { load_compiled(bad); }), Catch::StartsWith("[load_compiled] " + bad));
  m = detail::read_manifest(manifest);
  m.kernel_symbols.at(0) = "no_such_kernel";
  write_bytes(bad, detail::library_file(object, detail::write_manifest(m)));
  REQUIRE_THAT(error_of([&] { load_compiled(bad); }), Catch::Contains("no kernel 'no_such_kernel'"));
}

TEST_CASE("load_compiled: code for a CPU this one is not refuses to load, naming the features", "[export][errors]") {
#if !defined(__x86_64__)
  WARN("skipped: the CPU names below are x86-64's");
  return;
#endif
  TempDir dir("export-cpu");
  const Tensor x = randn({64, 64}, 1);
  const Trace t = record([](const std::vector<Tensor>& a) { return std::vector<Tensor>{sqrt(abs(a[0])) * 3.f + a[0]}; }, {x});
  // Portable code loads anywhere x86-64-v2 does.
  export_library({t}, dir / "v2.so", {.cpu = "x86-64-v2"});
  const CompiledLibrary v2 = load_compiled(dir / "v2.so");
  REQUIRE_THAT(v2.target(), Catch::Contains("x86-64-v2"));
  require_matches_interpreter(v2, 3);
  if (__builtin_cpu_supports("avx512fp16")) {
    WARN("skipped: this CPU has avx512fp16, so no newer CPU to export for is known to the test");
    return;
  }
  export_library({t}, dir / "spr.so", {.cpu = "sapphirerapids"});
  const std::string e = error_of([&] { load_compiled(dir / "spr.so"); });
  REQUIRE_THAT(e, Catch::Contains("compiled for CPU sapphirerapids") && Catch::Contains("avx512fp16"));
}

namespace {

/// A trace with fused kernels, a row reduction, a matmul (cuBLAS) and an argmax.
Trace gpu_trace() {
  const Tensor x = randn({64, 32}, 1), w = randn({32, 16}, 2);
  return record([](const std::vector<Tensor>& a) {
    const Tensor h = softmax(tanh(matmul(a[0], a[1])) * 2.f, -1);
    return std::vector<Tensor>{h, sum(h * h, {0}), argmax(h, 1)};
  }, {x, w});
}

std::string ptxas() {
  const char* home = std::getenv("CUDA_HOME");
  const std::string p = std::string(home && *home ? home : "/usr/local/cuda") + "/bin/ptxas";
  return std::filesystem::exists(p) ? p : "";
}

}  // namespace

TEST_CASE("export: a GPU library is written without a GPU, its PTX assembles, and it asks for a device", "[export][gpu]") {
  TempDir dir("export-gpu");
  const std::string path = dir / "gpu.so";
  export_library({gpu_trace()}, path, {.name = "gpu_fn", .target = Target::CUDA});
  const CompiledLibrary lib = load_compiled(path);
  REQUIRE(lib.on_gpu());
  REQUIRE_THAT(lib.target(), Catch::StartsWith("cuda sm_"));
  REQUIRE_THAT(lib.plan(0), Catch::Contains("GPU steps"));
  if (!cuda_available()) {
    const Tensor x = randn({64, 32}, 1), w = randn({32, 16}, 2);
    REQUIRE_THAT(error_of([&] { lib({x, w}); }), Catch::Contains("[gpu_fn]") && Catch::Contains("needs a CUDA device"));
  }
  // Every PTX module inside assembles for its chip.
  const std::string file = read_bytes(path);
  const auto [object, manifest] = detail::split_library_file(file, path);
  const detail::ExportManifest m = detail::read_manifest(manifest);
  size_t modules = 0;
  const std::string tool = ptxas();
  for (const detail::ExportedGpuStep& s : m.entries.at(0).gpu_steps) {
    if (s.kernels.empty()) continue;
    detail::GpuKernels k;
    REQUIRE(detail::deserialize(s.kernels, k));
    for (const std::string& ptx : k.ptx) {
      ++modules;
      if (tool.empty()) continue;
      write_bytes(dir / "m.ptx", ptx);
      const std::string cmd = tool + " -arch=" + m.cpu + " " + (dir / "m.ptx") + " -o " + (dir / "m.cubin") + " > " +
                              (dir / "log.txt") + " 2>&1";
      INFO(s.what << ": " << read_bytes(dir / "log.txt"));
      REQUIRE(std::system(cmd.c_str()) == 0);
    }
  }
  REQUIRE(modules >= 2);
  if (tool.empty()) WARN("skipped ptxas: no CUDA toolkit at $CUDA_HOME or /usr/local/cuda");
  // CPU and GPU options do not mix; a jitted function's CPU signatures are not a GPU library.
  REQUIRE_THAT(error_of([&] { export_library({gpu_trace()}, path, {.target = Target::CUDA, .cpu = "x86-64-v2"}); }),
               Catch::Contains("EJIT_CUDA_ARCH"));
  auto cpu_only = jit([](const Tensor& x) { return exp(x) * 2.f + 1.f; }, "cpu_only", {.compile = CompileMode::Sync});
  cpu_only(randn({8}, 1));
  REQUIRE_THAT(error_of([&] { cpu_only.export_library(path, {.target = Target::CUDA}); }),
               Catch::Contains("no compiled GPU signature") && Catch::Contains("a CPU signature"));
}

TEST_CASE("export: a GPU signature with dynamic dims is written, checked and read back", "[export][gpu][dynamic]") {
  TempDir dir("export-gpu-dynamic");
  auto rows = [](int64_t n) {
    const std::vector<Tensor> args = {randn({n, 32}, 1)};
    return record([](const std::vector<Tensor>& a) {
      const Tensor columns = from_vector(std::vector<int64_t>{2, 0, 31}, {3});  // a constant of the trace
      return std::vector<Tensor>{exp(a[0]) * 2.f + softmax(a[0], 1), take(a[0], columns, 1)};
    }, args);
  };
  std::string why;
  const std::optional<Trace> general = detail::generalize(rows(20), rows(30), why);
  INFO(why);
  REQUIRE(general);
  const std::string path = dir / "dyn.so";
  export_library({*general}, path, {.name = "dyn_gpu", .target = Target::CUDA});
  const CompiledLibrary lib = load_compiled(path);
  REQUIRE(lib.on_gpu());
  REQUIRE(lib.signature(0) == "(f32(?,32))");
  const std::string file = read_bytes(path);
  const auto [object, manifest] = detail::split_library_file(file, path);
  detail::ExportManifest m = detail::read_manifest(manifest);
  bool sized_per_call = false;
  for (const detail::ExportedGpuStep& s : m.entries.at(0).gpu_steps) {
    detail::GpuKernels k;
    if (!s.kernels.empty() && detail::deserialize(s.kernels, k)) sized_per_call |= !k.index_ops.empty();
  }
  REQUIRE(sized_per_call);
  // Steps that do not fit their nodes are refused on loading: a fused step relabelled a
  // reduction planned per call, a take bound to other values than its node's.
  const std::string bad = dir / "bad.so";
  detail::ExportManifest forged = m;
  forged.entries.at(0).gpu_steps.at(0).kind = static_cast<uint8_t>(detail::GpuStep::Kind::Reduce);
  write_bytes(bad, detail::library_file(object, detail::write_manifest(forged)));
  REQUIRE_THAT(error_of([&] { load_compiled(bad); }), Catch::StartsWith("[load_compiled] " + bad));
  forged = m;
  bool forged_take = false;
  for (detail::ExportedGpuStep& s : forged.entries.at(0).gpu_steps)
    if (s.kind == static_cast<uint8_t>(detail::GpuStep::Kind::Take)) std::swap(s.inputs[0], s.inputs[1]), forged_take = true;
  REQUIRE(forged_take);
  write_bytes(bad, detail::library_file(object, detail::write_manifest(forged)));
  REQUIRE_THAT(error_of([&] { load_compiled(bad); }), Catch::Contains("is a take whose launch does not fit its program"));
}

TEST_CASE("cuda: an exported GPU library runs on the GPU and equals the interpreter", "[cuda][export]") {
  if (!cuda_available()) {
    WARN("skipped: no CUDA device (" << cuda_unavailable_reason() << ")");
    return;
  }
  TempDir dir("export-cuda");
  const Trace t = gpu_trace();
  export_library({t}, dir / "gpu.so", {.target = Target::CUDA});
  const CompiledLibrary lib = load_compiled(dir / "gpu.so");
  const Tensor x = randn({64, 32}, 3), w = randn({32, 16}, 4);
  const std::vector<Tensor> got = lib({x.to(Device::cuda(0)), w.to(Device::cuda(0))});
  const std::vector<Tensor> want = eval_trace(t, {x, w});
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) require_agree(got[i].to(Device::cpu()), want[i], 2e-5, 2e-5, "output " + std::to_string(i));
  REQUIRE_THAT(error_of([&] { lib({x, w}); }), Catch::Contains("runs on CUDA tensors"));
}

TEST_CASE("export: weights shared by several signatures are stored once", "[export]") {
  TempDir dir("export-pool");
  const Tensor w = randn({128, 128}, 1);  // 64 KB
  auto f = jit([w](const Tensor& x) { return tanh(matmul(x, w)) + 1.f; }, "pooled", {.compile = CompileMode::Sync});
  const Tensor a = randn({4, 128}, 2), b = randn({9, 128}, 3), c = randn({1, 128}, 4);
  f(a), f(b), f(c);
  f.export_library(dir / "pooled.so");
  REQUIRE(std::filesystem::file_size(dir / "pooled.so") < 2 * w.nbytes());
  const CompiledLibrary lib = load_compiled(dir / "pooled.so");
  REQUIRE(lib.signatures() == 3);
  for (const Tensor& x : {a, b, c}) require_close(lib({x})[0], tanh(matmul(x, w)) + 1.f, 1e-5);
}

TEST_CASE("export: libraries loaded at the same time each run their own code", "[export]") {
  TempDir dir("export-two");
  const Tensor x = randn({64, 32}, 1);
  const Trace a = record([](const std::vector<Tensor>& v) { return std::vector<Tensor>{exp(v[0]) * 2.f + 1.f}; }, {x});
  const Trace b = record([](const std::vector<Tensor>& v) { return std::vector<Tensor>{tanh(v[0]) * 3.f - 1.f}; }, {x});
  export_library({a}, dir / "a.so");
  export_library({b}, dir / "b.so");
  std::vector<CompiledLibrary> libs;
  for (int i = 0; i < 3; ++i) {  // several copies of each, all loaded at once
    libs.push_back(load_compiled(dir / "a.so"));
    libs.push_back(load_compiled(dir / "b.so"));
  }
  for (size_t i = 0; i < libs.size(); ++i)
    require_close(libs[i]({x})[0], i % 2 == 0 ? exp(x) * 2.f + 1.f : tanh(x) * 3.f - 1.f, 1e-5);
}

TEST_CASE("export: a jitted function's arguments keep their order, used or not", "[export]") {
  TempDir dir("export-args");
  // b is read first (the trace's first input), c never.
  auto f = jit([](const Tensor& a, const Tensor& b, const Tensor& c) { return exp(b) * 2.f - a; }, "args",
               {.compile = CompileMode::Sync});
  const Tensor a = randn({5, 7}, 1), b = randn({5, 7}, 2), c = randn({3}, 3);
  const Tensor want = f(a, b, c);
  f.export_library(dir / "args.so");
  const CompiledLibrary lib = load_compiled(dir / "args.so");
  REQUIRE(lib.signature(0) == "(f32(5,7), f32(5,7), f32(3,))");
  require_close(lib({a, b, c})[0], want, 1e-5);
  require_close(lib.run_signature(0, {a, b, randn({3}, 9)})[0], want, 1e-5);
  REQUIRE_THAT(error_of([&] { lib.run_signature(0, {a, b}); }), Catch::Contains("signature 0"));
  REQUIRE_THAT(error_of([&] { lib.run_signature(1, {a, b, c}); }), Catch::Contains("no signature 1"));
}

TEST_CASE("export: a strict library computes what the interpreter computes, bit for bit", "[export]") {
  TempDir dir("export-strict");
  const Tensor x = randn({64, 48}, 1), w = randn({48, 32}, 2);
  const Trace t = record([](const std::vector<Tensor>& a) {
    const Tensor h = tanh(matmul(a[0], a[1])) * 1.5f + exp(a[0].slice(1, 0, 32)) / 3.f;
    return std::vector<Tensor>{softmax(h, -1), sum(h * h, {0}), layer_norm(h)};
  }, {x, w});
  export_library({t}, dir / "strict.so", {.strict = true});
  const CompiledLibrary lib = load_compiled(dir / "strict.so");
  for (uint64_t seed : {3, 4}) {
    const std::vector<Tensor> in = {randn({64, 48}, seed), randn({48, 32}, seed + 10)};
    const std::vector<Tensor> got = lib(in), want = eval_trace(t, in);
    for (size_t i = 0; i < got.size(); ++i) {
      INFO("output " << i);
      REQUIRE(got[i].to_vector<float>() == want[i].to_vector<float>());
    }
  }
  // A jitted function exports as it compiles: its strict option carries over.
  auto f = jit([](const Tensor& a) { return exp(a) * 2.f + tanh(a); }, "strict_fn",
               {.compile = CompileMode::Sync, .strict = true});
  f(x);
  f.export_library(dir / "fn.so");
  REQUIRE(load_compiled(dir / "fn.so")({x})[0].to_vector<float>() == (exp(x) * 2.f + tanh(x)).to_vector<float>());
  REQUIRE_THAT(error_of([&] { export_library({t}, dir / "g.so", {.target = Target::CUDA, .strict = true}); }),
               Catch::Contains("strict numerics are for CPU libraries"));
}

TEST_CASE("export: outputs that are inputs, constants or repeated, and empty tensors", "[export]") {
  TempDir dir("export-edges");
  const Tensor x = randn({4, 3}, 1), empty = randn({0, 3}, 2);
  const Trace t = record([](const std::vector<Tensor>& a) {
    const Tensor y = exp(a[0]) * 2.f + 1.f;
    return std::vector<Tensor>{a[0], y, y, full({2}, 7.0), sum(a[1], {0})};
  }, {x, empty});
  export_library({t}, dir / "edges.so");
  const CompiledLibrary lib = load_compiled(dir / "edges.so");
  const std::vector<Tensor> got = lib({x, empty}), want = eval_trace(t, {x, empty});
  REQUIRE(got.size() == 5);
  for (size_t i = 0; i < got.size(); ++i) require_agree(got[i], want[i], 1e-6, 1e-6, "output " + std::to_string(i));
  // Nothing but a BLAS call: a library without kernels.
  const Trace mm = record([](const std::vector<Tensor>& a) { return std::vector<Tensor>{matmul(a[0], transpose(a[0]))}; }, {x});
  export_library({mm}, dir / "mm.so");
  const CompiledLibrary blas = load_compiled(dir / "mm.so");
  REQUIRE_THAT(blas.plan(0), Catch::StartsWith("0 kernels"));
  require_close(blas({x})[0], matmul(x, transpose(x)), 1e-5);
}

TEST_CASE("export: a loaded library serves several threads at once", "[export]") {
  TempDir dir("export-threads");
  const Tensor x = randn({256, 300}, 1), w = randn({300, 64}, 2);
  const Trace t = record([](const std::vector<Tensor>& a) {
    return std::vector<Tensor>{softmax(tanh(matmul(a[0], a[1])) * 2.f, -1)};
  }, {x, w});
  export_library({t}, dir / "threads.so");
  const CompiledLibrary lib = load_compiled(dir / "threads.so");
  std::vector<std::vector<Tensor>> inputs;
  std::vector<Tensor> want;
  for (uint64_t s = 0; s < 4; ++s) {
    inputs.push_back({randn({256, 300}, 10 + s), randn({300, 64}, 20 + s)});
    want.push_back(eval_trace(t, inputs.back())[0]);
  }
  std::vector<std::string> errors(4);
  std::vector<double> worst(4, 0);
  std::vector<std::thread> threads;
  for (size_t k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      try {
        for (int rep = 0; rep < 20; ++rep) {
          const auto got = lib(inputs[k])[0].to_vector<double>(), ref = want[k].to_vector<double>();
          for (size_t i = 0; i < got.size(); ++i) worst[k] = std::max(worst[k], std::fabs(got[i] - ref[i]));
        }
      } catch (const std::exception& e) {
        errors[k] = e.what();
      }
    });
  for (std::thread& th : threads) th.join();
  for (size_t k = 0; k < 4; ++k) {
    INFO("thread " << k << ": " << errors[k]);
    REQUIRE(errors[k].empty());
    REQUIRE(worst[k] < 1e-5);
  }
}
