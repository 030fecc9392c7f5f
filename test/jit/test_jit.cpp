// jit(): compiled results equal the interpreter's; the cache hits, misses and falls back.
#include "../../lib/backend/cpu/math_calls.h"
#include "../../lib/pipeline/CpuPipeline.h"
#include "../../lib/pipeline/Pipeline.h"
#include "../../lib/pipeline/StreamingStores.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Parser/Parser.h"
#include "llvm/AsmParser/Parser.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Transforms/Utils/SplitModule.h"
#include <ejit/compile.h>
#include <ejit/jit.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

using namespace ejit;

namespace {

/// Max relative difference (with an absolute floor) between two tensors.
double max_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  REQUIRE(a.dtype() == b.dtype());
  auto x = a.to_vector<double>(), y = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) && std::isnan(y[i])) continue;
    if (x[i] == y[i]) continue;
    m = std::max(m, std::fabs(x[i] - y[i]) / std::max(1.0, std::fabs(x[i])));
  }
  return m;
}

}  // namespace

TEST_CASE("a jitted elementwise chain equals the interpreter and hits the cache", "[jit]") {
  auto f = jit([](const Tensor& a, const Tensor& b, const Tensor& c) {
    return exp(a * b) + tanh(c) * 0.5f - a / (1 + b * b);
  });
  Tensor a = randn({37, 53}, 1), b = randn({37, 53}, 2), c = randn({53}, 3);
  Tensor eager = exp(a * b) + tanh(c) * 0.5f - a / (1 + b * b);
  Tensor first = f(a, b, c);   // miss: eager while recording, then compiled
  Tensor second = f(a, b, c);  // hit
  REQUIRE(max_diff(eager, first) == 0);
  REQUIRE(max_diff(eager, second) < 1e-5);
  CacheStats s = f.stats();
  REQUIRE(s.misses == 1);
  REQUIRE(s.hits == 1);
  REQUIRE(f.ir(Stage::Ejit).find("ejit.exp") != std::string::npos);
  REQUIRE(f.ir(Stage::Linalg).find("linalg.generic") != std::string::npos);
  REQUIRE(f.ir(Stage::LLVM).find("define") != std::string::npos);
  // A new shape is a new entry; the old one stays valid.
  Tensor a2 = randn({8}, 4), b2 = randn({8}, 5), c2 = randn({8}, 6);
  REQUIRE(max_diff(exp(a2 * b2) + tanh(c2) * 0.5f - a2 / (1 + b2 * b2), f(a2, b2, c2)) == 0);
  f(a2, b2, c2);
  f(a, b, c);
  s = f.stats();
  REQUIRE(s.misses == 2);
  REQUIRE(s.hits == 3);
}

TEST_CASE("reductions, softmax and layer norm compile and match", "[jit]") {
  Tensor x = randn({64, 100}, 7);
  auto sm = jit([](const Tensor& t) { return softmax(t); });
  sm(x);
  REQUIRE(max_diff(softmax(x), sm(x)) < 1e-5);
  auto ln = jit([](const Tensor& t) { return layer_norm(t); });
  ln(x);
  REQUIRE(max_diff(layer_norm(x), ln(x)) < 1e-4);
  auto red = jit([](const Tensor& t) { return sum(t, {0}) + max(t, {0}) * mean(t, {0}); });
  red(x);
  REQUIRE(max_diff(sum(x, {0}) + max(x, {0}) * mean(x, {0}), red(x)) < 1e-5);
  REQUIRE(red.stats().hits == 1);
}

TEST_CASE("compare() reports errors and times of both modes", "[jit]") {
  auto f = jit([](const Tensor& a) { return sigmoid(a) * a; });
  Comparison c = f.compare(3, randn({1000}, 1));
  REQUIRE(c.compiled);
  REQUIRE(c.max_abs_error < 1e-5);
  REQUIRE(c.interpreted_ms > 0);
  REQUIRE(c.compiled_ms > 0);
}

TEST_CASE("host control flow on a traced value compiles per branch and stays correct", "[jit]") {
  auto f = jit([](const Tensor& a) { return sum(a).item<float>() > 0 ? a * 2.f : a * 3.f; });
  Tensor pos = tensor({1.f, 2.f}), neg = tensor({-1.f, -2.f});
  REQUIRE(f(pos).to_vector<float>() == std::vector<float>{2.f, 4.f});
  REQUIRE(f(neg).to_vector<float>() == std::vector<float>{-3.f, -6.f});  // same signature, other branch
  REQUIRE(f(neg).to_vector<float>() == std::vector<float>{-3.f, -6.f});  // its compiled branch
  REQUIRE(f.stats().misses == 2);
  REQUIRE(f.stats().hits == 1);
  REQUIRE(f.stats().eager_calls == 0);
}

TEST_CASE("a trace with nothing to compile falls back to eager execution", "[jit]") {
  auto product = [](const Tensor& a) { return matmul(a, transpose(a)); };  // the BLAS: nothing to compile
  auto f = jit(product);
  Tensor x = randn({4, 5}, 2);
  REQUIRE(f(x).to_vector<float>() == product(x).to_vector<float>());
  REQUIRE(f(x).to_vector<float>() == product(x).to_vector<float>());
  REQUIRE(f.stats().eager_calls == 1);
  Comparison c = f.compare(1, x);
  REQUIRE_FALSE(c.compiled);
  REQUIRE_THAT(c.reason, Catch::Matchers::Contains("matmul"));
}

TEST_CASE("ops without a lowering run on the interpreter between compiled kernels", "[jit]") {
  // matmul stays on the BLAS (compiled loops would be far slower, docs/DESIGN-NOTES.md);
  // the elementwise work around it compiles.
  auto mm = jit([](const Tensor& p, const Tensor& q, const Tensor& b) { return tanh(relu(matmul(p * 2.f, q) + b)); });
  Tensor p = randn({8, 6}, 3), q = randn({6, 5}, 4), b = randn({5}, 5);
  REQUIRE(mm(p, q, b).to_vector<float>() == tanh(relu(matmul(p * 2.f, q) + b)).to_vector<float>());
  Comparison cm = mm.compare(1, p, q, b);
  REQUIRE(cm.compiled);
  REQUIRE(cm.max_rel_error < 1e-6);
  std::string ir = mm.ir(Stage::Ejit);
  REQUIRE_THAT(ir, Catch::Matchers::Contains("kernels; between them the interpreter runs: matmul runs on the BLAS"));
  REQUIRE_THAT(ir, Catch::Matchers::Contains("ejit.tanh"));
  REQUIRE(ir.find("ejit.matmul") == std::string::npos);
  // take and argmax inside an elementwise chain: kernels before and after them
  auto t = jit([](const Tensor& x, const Tensor& i) {
    Tensor y = exp(x) * 2.f;
    return std::tuple{take(y, i, 1) + 1.f, argmax(y * y, 1)};
  });
  Tensor x = randn({4, 6}, 6), idx = tensor({5, 0, -1});
  auto [a1, a2] = t(x, idx);
  auto [c1, c2] = t(x, idx);
  REQUIRE(t.stats().hits == 1);
  REQUIRE(c1.to_vector<float>() == a1.to_vector<float>());
  REQUIRE(c2.to_vector<int64_t>() == a2.to_vector<int64_t>());
}

TEST_CASE("transposes feeding matmuls are read in place by the BLAS, and still match", "[jit]") {
  Tensor x = randn({37, 23}, 31), g = randn({37, 19}, 32), w = randn({29, 23}, 33);
  auto fn = [](const Tensor& a, const Tensor& b, const Tensor& c) {
    Tensor at = transpose(a);                    // only matmuls read it: folded into the GEMM
    Tensor ct = transpose(c);                    // also read by an elementwise op: computed
    return std::tuple{matmul(at, b) * 2.f, matmul(a, ct) + sum(ct * 0.5f), matmul(transpose(b), a)};
  };
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor a = cast(x, dt), b = cast(g, dt), c = cast(w, dt);
    auto f = jit(fn);
    f(a, b, c);
    auto [y1, y2, y3] = f(a, b, c);
    auto [e1, e2, e3] = fn(a, b, c);
    REQUIRE(f.stats().hits == 1);
    REQUIRE(max_diff(e1, y1) < 1e-5);
    REQUIRE(max_diff(e2, y2) < 1e-5);
    REQUIRE(max_diff(e3, y3) < 1e-5);
  }
}

TEST_CASE("several outputs, one computed from another, compile correctly", "[jit]") {
  // A row sum returned beside its log once came back as the sum twice (a shared tensor.empty).
  Tensor z = randn({64, 5}, 12);
  auto fns = std::vector<std::pair<const char*, std::function<std::vector<Tensor>(const Tensor&)>>>{
      {"sum and log(sum)", [](const Tensor& t) { Tensor s = sum(t, {1}); return std::vector<Tensor>{s, log(abs(s))}; }},
      {"exp and its row sums", [](const Tensor& t) { Tensor e = exp(t); return std::vector<Tensor>{e, sum(e, {1}), e * 2.f}; }},
      {"keepdims sum and x - sum", [](const Tensor& t) { Tensor s = sum(t, {1}, true); return std::vector<Tensor>{t - s, s}; }},
      {"max, exp, sum, log_softmax", [](const Tensor& t) {
         Tensor m = max(t, {1}), e = exp(t - unsqueeze(m, 1)), s = sum(e, {1});
         return std::vector<Tensor>{m, e, s, t - unsqueeze(m, 1) - unsqueeze(log(s), 1)};
       }},
      {"softmax and three readers of it", [](const Tensor& t) {  // divided in place once, then read
         Tensor s = softmax(t);
         return std::vector<Tensor>{s * 2.f, max(s, {1}), tanh(s)};
       }},
  };
  for (auto& [what, fn] : fns) {
    INFO(what);
    auto f = jit([fn = fn](const Tensor& t) { return fn(t); });
    f(z);
    auto got = f(z), want = fn(z);
    REQUIRE(f.stats().hits == 1);
    for (size_t i = 0; i < want.size(); ++i) REQUIRE(max_diff(want[i], got[i]) < 1e-5);
  }
}

TEST_CASE("captured tensors are inputs, read on every call", "[jit]") {
  Tensor w = full({3}, 2.f);
  auto f = jit([&w](const Tensor& a) { return a * w; });
  Tensor x = tensor({1.f, 2.f, 3.f});
  f(x);
  REQUIRE(f(x).to_vector<float>() == std::vector<float>{2.f, 4.f, 6.f});
  w.data<float>()[0] = 10.f;  // the same tensor, new contents
  REQUIRE(f(x).to_vector<float>() == std::vector<float>{10.f, 4.f, 6.f});
}

TEST_CASE("large kernels run on row chunks and still match", "[jit]") {
  // Big enough (>= 32K output elements) for the pool to split kernels into row chunks.
  Tensor x = randn({301, 203}, 9), col = randn({301, 1}, 10), row = randn({203}, 11);
  auto fns = std::vector<std::pair<const char*, std::function<Tensor(const Tensor&)>>>{
      {"softmax", [](const Tensor& t) { return softmax(t); }},
      {"layer_norm", [](const Tensor& t) { return layer_norm(t); }},
      {"log_softmax rows", [](const Tensor& t) { return log_softmax(t, 1); }},
      {"softmax over columns (not row-wise)", [](const Tensor& t) { return softmax(t, 0); }},
      {"column sums broadcast back", [](const Tensor& t) { return t - sum(t, {0}, true) * 0.01f; }},
      // exp computed once: stored by the row sum, divided in place (ProducerInReduction.h)
      {"softmax read twice", [](const Tensor& t) { Tensor s = softmax(t); return s * s + s; }},
      {"tanh summed and reused", [](const Tensor& t) { Tensor e = tanh(t); return e * sum(e, {1}, true); }},
      {"exp over columns, reused", [](const Tensor& t) { Tensor e = exp(t * 0.1f); return e / sum(e, {0}, true); }},
      {"softmax of a vector added to every row", [](const Tensor& t) { return t + softmax(mean(t, {0})); }},
  };
  for (auto& [what, fn] : fns) {
    INFO(what);
    auto f = jit([fn = fn](const Tensor& t) { return fn(t); });
    f(x);
    REQUIRE(max_diff(fn(x), f(x)) < 1e-5);
    REQUIRE(f.stats().hits == 1);
  }
  auto g = jit([](const Tensor& t, const Tensor& c, const Tensor& r) { return tanh(t * c + r) / (1 + exp(-t)); });
  g(x, col, row);
  REQUIRE(max_diff(tanh(x * col + row) / (1 + exp(-x)), g(x, col, row)) < 1e-5);
}

TEST_CASE("traces round-trip through MLIR text and files", "[jit][trace]") {
  Recorder rec;
  Tensor a = randn({3, 4}, 1), i = tensor({2, 0});
  rec.add_inputs({a, i});
  Tensor out = softmax(a) + take(a, i, 0).sum({0}) + pad(a, {{1, 0}, {0, 0}}, 2.f).slice(0, 1, {}) +
               concat({a, a}, 0).slice(0, 0, 3) * where(a > 0.f, 1.f, -1.f) + cast(a, DType::I32).astype(DType::F32) +
               matmul(a, transpose(a)).sum({1}, true) + permute(broadcast_to(a, {2, 3, 4}), {0, 2, 1}).sum({0, 2}).reshape({1, 4}) +
               argmax(a, 1).astype(DType::F32).reshape({3, 1}) + gather(a, tensor<int64_t>({1, 0, 3}, {3, 1}), 1);
  Trace t = rec.finish({out});
  Trace back = parse_trace(t.to_mlir());
  REQUIRE(back.same_structure(t));
  REQUIRE(back.hash() == t.hash());
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("ejit_trace_roundtrip-" + std::to_string(getpid()) + ".mlir")).string();
  t.save(path);
  REQUIRE(load_trace(path).same_structure(t));
  std::filesystem::remove(path);
}

TEST_CASE("malformed trace files give a clear error with the position", "[jit][trace]") {
  REQUIRE_THROWS_WITH(parse_trace("func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {\n  %0 = ejit.exp %a : tensor<3xf32> -> tensor<2xf32>\n  return %0 : tensor<2xf32>\n}\n"),
                      Catch::Matchers::StartsWith("[load_trace] not valid ejit IR") && Catch::Matchers::Contains(":2:"));
  REQUIRE_THROWS_WITH(load_trace("/nonexistent/trace.mlir"), Catch::Matchers::StartsWith("[load_trace] cannot open"));
}

TEST_CASE("compiled kernels are cached on disk and loaded by a new jit(), as in a new process", "[jit][cache]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("ejit-cache-test-" + std::to_string(getpid()));
  fs::remove_all(dir);
  const char* old = std::getenv("EJIT_CACHE_DIR");
  const std::string saved = old ? old : "";
  setenv("EJIT_CACHE_DIR", dir.c_str(), 1);
  auto objects = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir / "kernels-v2")) n += e.path().extension() == ".entry";
    return n;
  };
  auto fn = [](const Tensor& a, const Tensor& b) { return tanh(a * b) + exp(-a) * 3.f; };
  Tensor a = randn({40, 30}, 21), b = randn({30}, 22);
  const Tensor want = fn(a, b);

  auto first = jit(fn);
  first(a, b);
  CHECK(first.stats().disk_hits == 0);
  REQUIRE(objects() == 1);

  auto second = jit(fn);  // a new cache in memory: the kernel comes from the disk
  REQUIRE(max_diff(want, second(a, b)) < 1e-6);
  CHECK(second.stats().disk_hits == 1);
  REQUIRE(max_diff(want, second(a, b)) < 1e-6);
  CHECK(second.ir(Stage::Linalg).find("linalg.generic") != std::string::npos);  // IR made on demand
  CHECK(second.ir(Stage::Asm).find("kernel") != std::string::npos);
  CHECK(second.ir(Stage::PTX).find(".visible .entry") != std::string::npos);  // NVPTX, no GPU needed

  for (const auto& e : fs::directory_iterator(dir / "kernels-v2"))  // a damaged entry is dropped and rewritten
    if (e.path().extension() == ".entry") std::ofstream(e.path()) << "not an object file";
  auto third = jit(fn);
  REQUIRE(max_diff(want, third(a, b)) < 1e-6);
  CHECK(third.stats().disk_hits == 0);
  auto fourth = jit(fn);
  REQUIRE(max_diff(want, fourth(a, b)) < 1e-6);
  CHECK(fourth.stats().disk_hits == 1);

  setenv("EJIT_CACHE_DIR", "off", 1);
  auto off = jit([](const Tensor& t) { return sin(t) * cos(t) + 1.f; });
  off(a), off(a);
  CHECK(off.stats().hits == 1);
  CHECK(objects() == 1);

  if (saved.empty()) unsetenv("EJIT_CACHE_DIR");
  else setenv("EJIT_CACHE_DIR", saved.c_str(), 1);
  fs::remove_all(dir);
}

TEST_CASE("row chunks: a whole-buffer copy between temporaries copies only the call's rows", "[jit][pipeline]") {
  // A kernel is called on many row blocks per run (PackedKernel::kCallElements): a copy of a
  // whole temporary in each call would copy all of it every time.
  const char* text = R"(
func.func @kernel(%in: memref<64x8xf32>, %out: memref<64x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  %t = memref.alloc() : memref<64x8xf32>
  %u = memref.alloc() : memref<64x8xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c8) step (%c1, %c1) {
    %v = memref.load %in[%i, %j] : memref<64x8xf32>
    memref.store %v, %t[%i, %j] : memref<64x8xf32>
  }
  memref.copy %t, %u : memref<64x8xf32> to memref<64x8xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c8) step (%c1, %c1) {
    %v = memref.load %u[%i, %j] : memref<64x8xf32>
    memref.store %v, %out[%i, %j] : memref<64x8xf32>
  }
  memref.dealloc %t : memref<64x8xf32>
  memref.dealloc %u : memref<64x8xf32>
  return
})";
  std::lock_guard lock(detail::compiler_mutex());
  mlir::OwningOpRef<mlir::ModuleOp> m = mlir::parseSourceString<mlir::ModuleOp>(text, &detail::compiler_context());
  REQUIRE(m);
  auto kernel = m->lookupSymbol<mlir::func::FuncOp>("kernel");
  REQUIRE(detail::split_outer_loop(kernel) == 64);
  int copies = 0, row_loops = 0;
  kernel.walk([&](mlir::memref::CopyOp) { ++copies; });
  kernel.walk([&](mlir::scf::ParallelOp p) {  // every loop, the copy's too, runs over [lo, hi)
    row_loops += p.getLowerBound()[0] == kernel.getArgument(0) && p.getUpperBound()[0] == kernel.getArgument(1);
  });
  CHECK(copies == 0);
  CHECK(row_loops == 3);
}

TEST_CASE("kernels larger than the cache stream their outputs past it and still match", "[jit][streaming]") {
  // lib/pipeline/StreamingStores.h: non-temporal stores, 64-byte aligned outputs, and 1-D
  // calls' row bounds rounded to multiples of 16 (the pool calls kernels on row chunks).
  // The sizes follow the threshold (EJIT_STREAMING_MB, by default twice the last-level
  // cache): n floats per buffer make a*b + c exactly that many bytes (2^22 for 64 MiB).
  const int64_t threshold = detail::streaming_bytes();
  if (threshold == 0 || threshold > (int64_t{256} << 20)) {
    WARN("skipped: streaming stores are off or start above 256 MiB here (" << threshold << " bytes)");
    return;
  }
  const int64_t n = threshold / 16;
  constexpr JitOptions kSync{.compile = CompileMode::Sync, .dynamic = false};
  // The compiled call's outputs get the blocks just freed (the allocator's free lists): fill
  // them with 1e30 first, so that a row no call writes shows.
  auto poison = [](const std::vector<Tensor>& like) {
    std::vector<Tensor> junk;
    for (const Tensor& t : like) junk.push_back(full(t.shape(), 1e30, t.dtype()));
  };
  auto triad = [](const Tensor& a, const Tensor& b, const Tensor& c) { return a * b + c; };
  {  // the code under test streams (with LLVM's x86 back end: non-temporal vector stores)
    const std::vector<Tensor> args = {randn({n}, 1), randn({n}, 2), randn({n}, 3)};
    const Trace t = test::record_trace([&](const std::vector<Tensor>& x) { return std::vector<Tensor>{triad(x[0], x[1], x[2])}; }, args);
    const Compiled c = compile(t, {.keep_asm = true});
    REQUIRE(c.ok());
    CHECK(c.ir(Stage::Asm).find("movntp") != std::string::npos);
  }
  // The pool's chunks (n / 8 on 2 threads) of n + 16 rows start at rows that are not
  // multiples of 16; one thread runs the rows in calls that start at multiples of 32768.
  if (num_threads() < 2) WARN("one thread: the rounding of unaligned row chunks is not exercised");
  for (Shape shape : {Shape{n}, Shape{n + 16}, Shape{n + 40}, Shape{n / 1024, 1024}, Shape{n / 2048 + 1, 2100}}) {
    INFO(shape.str());
    Tensor a = randn(shape, 1), b = randn(shape, 2), c = randn(shape, 3);
    auto f = jit(triad, "triad", kSync);
    f(a, b, c);
    const Tensor want = triad(a, b, c);
    poison({want});
    REQUIRE(max_diff(want, f(a, b, c)) < 1e-6);
    REQUIRE(f.stats().hits == 1);
  }
  SECTION("dynamic dims: the loop runs in two versions, chosen per call by the sizes") {
    auto f = jit(triad, "triad", JitOptions{.compile = CompileMode::Sync});  // dynamic dims as by default
    // the threshold and more (streamed; odd chunk starts and ends), then small (ordinary stores)
    for (int64_t size : {n, n + 16, n + 40, int64_t{100000}, int64_t{37}}) {
      INFO(size);
      Tensor a = randn({size}, 1), b = randn({size}, 2), c = randn({size}, 3);
      const Tensor want = triad(a, b, c);
      poison({want});
      REQUIRE(max_diff(want, f(a, b, c)) < 1e-6);
    }
    REQUIRE(f.stats().misses == 2);  // the second size made dim 0 dynamic
    const std::string loops = f.ir(Stage::Loops);
    CHECK(loops.find("memref<?xf32>") != std::string::npos);
    CHECK(loops.find("llvm.sideeffect") != std::string::npos);
    CHECK(f.ir(Stage::Asm).find("movntp") != std::string::npos);
  }
  SECTION("an update over the threshold whose loops compute prefetches, and still shares its nests") {
    // Not memory-bound (tanh and exp): no streaming stores, but the kernel is marked to prefetch
    // (a passthrough attribute, which once turned shared nests off for it).
    const std::vector<Tensor> args = {randn({n}, 1), randn({n}, 2), randn({n / 2, 2}, 3), randn({n / 2, 2}, 4)};
    const Trace t = test::record_trace(
        [](const std::vector<Tensor>& x) {
          return std::vector<Tensor>{x[0] - tanh(x[1]) * exp(x[1]) * 0.01f, x[2] - tanh(x[3]) * exp(x[3]) * 0.01f};
        },
        args);
    const Compiled c = compile(t, {.keep_ir = true});
    REQUIRE(c.ok());
    CHECK(c.ir(Stage::Loops).find("call @kernel_nest") != std::string::npos);
    CHECK(c.ir(Stage::LLVM).find("llvm.prefetch") != std::string::npos);
    CHECK(c.ir(Stage::LLVM).find("!nontemporal") == std::string::npos);
    const std::vector<Tensor> got = c.run(args);
    REQUIRE(max_diff(got.at(0), args[0] - tanh(args[1]) * exp(args[1]) * 0.01f) < 1e-5);
    REQUIRE(max_diff(got.at(1), args[2] - tanh(args[3]) * exp(args[3]) * 0.01f) < 1e-5);
  }
  SECTION("dynamic rows of layer norm stream too, and equal the interpreter") {
    auto f = jit([](const Tensor& x) { return layer_norm(x); }, "layer_norm", JitOptions{.compile = CompileMode::Sync});
    for (int64_t rows : {n / 512, n / 512 + 4, n / 512 + 1, int64_t{3}}) {  // rows of 4 KiB, in and out
      INFO(rows);
      Tensor x = randn({rows, 1024}, 7);
      const Tensor want = layer_norm(x);
      poison({want});
      REQUIRE(max_diff(want, f(x)) < 1e-5);
    }
    CHECK(f.ir(Stage::Loops).find("llvm.sideeffect") != std::string::npos);
  }
  SECTION("f64, and several outputs of several widths") {
    Tensor a = randn({n / 2 + 16}, 4, DType::F64), b = randn({n / 2 + 16}, 5, DType::F64);
    auto g = [](const Tensor& x, const Tensor& y) { return std::vector<Tensor>{x * y + 1.0, x - y, x > y}; };
    auto f = jit(g, "outputs", kSync);
    f(a, b);
    const std::vector<Tensor> want = g(a, b);
    poison(want);
    const std::vector<Tensor> got = f(a, b);
    REQUIRE(got.size() == 3);
    for (size_t i = 0; i < 3; ++i) REQUIRE(max_diff(want[i], got[i]) == 0);
  }
}

TEST_CASE("an update repeated over parameters of many shapes runs as one shared function and matches", "[jit][shared]") {
  // An optimizer step: the same elementwise body on each parameter. Its kernel runs whole
  // (no common row count), so each body shape is one function called per parameter
  // (lib/pipeline/SharedNests.h), 2-D and 3-D buffers as 1-D ones.
  const std::vector<Shape> shapes = {{64, 128}, {128}, {128, 64}, {3, 5, 7}, {1}, {10}, {64, 10}, {}, {33}};
  std::vector<Tensor> inputs = {full({}, 0.01f)};
  for (size_t i = 0; i < shapes.size(); ++i) {
    inputs.push_back(randn(shapes[i], 100 + i));               // parameter
    inputs.push_back(randn(shapes[i], 200 + i));               // gradient
    inputs.push_back(randn(shapes[i], 300 + i));               // moment
  }
  for (const Shape& s : {Shape{17, 3}, Shape{4}})  // f64 parameters: a function of their own
    for (uint64_t k = 0; k < 3; ++k) inputs.push_back(randn(s, 400 + k + 10 * s.rank(), DType::F64));
  inputs.push_back(randn({5, 6}, 500));
  auto step = [](const std::vector<Tensor>& in) {
    std::vector<Tensor> out;
    const Tensor& lr = in[0];
    for (size_t i = 1; i + 3 < in.size(); i += 3) {
      const Tensor &p = in[i], &g = in[i + 1], &m = in[i + 2];
      const double beta = i == 10 ? 0.8 : 0.9;  // one parameter's body differs only in a constant
      Tensor m2 = m * beta + g * (1 - beta);
      out.push_back(p - lr.astype(p.dtype()) * m2 / (sqrt(abs(m2)) + 1e-8));
      out.push_back(m2);
    }
    out.push_back(tanh(in.back()) * 2.f);  // a body of its own: stays in the kernel
    return out;
  };
  Recorder rec;
  rec.add_inputs(inputs);
  const Trace trace = rec.finish(step(inputs));
  const Compiled c = compile(trace, {.keep_ir = true});
  REQUIRE(c.ok());
  const std::string& loops = c.ir(Stage::Loops);
  INFO(loops);
  size_t calls = 0;
  for (size_t at = loops.find("call @kernel"); at != std::string::npos; at = loops.find("call @kernel", at + 1)) ++calls;
  // Every parameter but the rank-0 and 1-element ones (no loops) and the one whose constant
  // differs (its body is its own), and both f64 ones.
  CHECK(calls == shapes.size() - 3 + 2);
  CHECK(loops.find("math.tanh") < loops.find("func.func private"));  // the body of its own, in the kernel
  CHECK(loops.find("ejit.shared_nest") != std::string::npos);
  CHECK(c.ir(Stage::LLVMDialect).find("llvm.func internal @kernel") != std::string::npos);
  const std::vector<Tensor> got = c.run(inputs), want = eval_trace(trace, inputs);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("output " << i);
    REQUIRE(max_diff(got[i], want[i]) < 1e-5);
  }
}

TEST_CASE("a module split into parts keeps each outlined function's vector forms with it", "[jit][outline]") {
  // lib/backend/cpu/math_calls.h: nothing but an attribute names the vector forms, so
  // llvm::SplitModule (a module compiled in parts, a thread each) placed them apart from
  // their kernel, whose loop then could not call them; tie_math_forms() references them.
  std::string ir;
  for (int k = 0; k < 4; ++k) {
    const std::string f = "kernel" + std::to_string(k) + "_tanh_f32";
    ir += "define void @kernel" + std::to_string(k) + "(ptr %p) {\n  %x = load float, ptr %p\n  %y = call float @" + f +
          "(float %x)\n  store float %y, ptr %p\n  ret void\n}\n";
    ir += "define internal float @" + f + "(float %x) #" + std::to_string(k) + " {\n  ret float %x\n}\n";
    for (int w : {4, 8})
      ir += "define internal <" + std::to_string(w) + " x float> @" + f + "_v" + std::to_string(w) + "(<" + std::to_string(w) +
            " x float> %x) {\n  ret <" + std::to_string(w) + " x float> %x\n}\n";
    ir += "attributes #" + std::to_string(k) + " = { \"ejit-math\"=\"scalar\" \"vector-function-abi-variant\"=\"_ZGV_LLVM_N4v_" + f +
          "(" + f + "_v4),_ZGV_LLVM_N8v_" + f + "(" + f + "_v8)\" }\n";
  }
  llvm::LLVMContext context;
  llvm::SMDiagnostic error;
  std::unique_ptr<llvm::Module> module = llvm::parseAssemblyString(ir, error, context);
  REQUIRE(module);
  ejit::detail::tie_math_forms(*module);
  int parts = 0;
  llvm::SplitModule(
      *module, 2,
      [&](std::unique_ptr<llvm::Module> part) {
        ++parts;
        for (const llvm::Function& f : *part) {
          if (f.isDeclaration() || !f.getName().ends_with("_tanh_f32")) continue;
          INFO(f.getName().str());
          for (const char* w : {"_v4", "_v8"}) {
            const llvm::Function* vector = part->getFunction((f.getName() + w).str());
            CHECK((vector && !vector->isDeclaration()));
          }
        }
      },
      /*PreserveLocals=*/true);
  CHECK(parts == 2);
}
