// GPU code generation without a GPU: the GPU program of every op of the table, of
// reductions, shape ops and random op chains is built, and ptxas (the CUDA toolkit's PTX
// assembler) accepts every PTX module for sm_90. Where ptxas is missing the tests say so.
#include <ejit/compile.h>
#include <ejit/jit.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <tuple>
#include <unistd.h>

#include "../../lib/backend/gpu/gpu_kernels.h"
#include "../../lib/cuda/runtime.h"
#include "../../lib/backend/gpu/gpu_program.h"
#include "../../lib/runtime/gpu_executor.h"
#include "../../lib/runtime/gpu_reduction_plan.h"
#include "../../lib/trace/dynamic_dims.h"
#include "op_chains.h"

using namespace ejit;
using namespace ejit::test;

namespace {

std::string ptxas_path() {
  const char* home = std::getenv("CUDA_HOME");
  std::string p = std::string(home && *home ? home : "/usr/local/cuda") + "/bin/ptxas";
  return std::filesystem::exists(p) ? p : "";
}

template <class F>
Trace record(F&& f, std::vector<Tensor> args) {
  Recorder rec;
  rec.add_inputs(args);
  Tensor out = f(args);
  return rec.finish({out});
}

/// Builds the GPU program of `trace` and assembles each PTX module with ptxas.
void require_launches_match_ptx(const Trace& trace, const std::string& what);

void require_ptx_assembles(const Trace& trace, const std::string& what) {
  require_launches_match_ptx(trace, what);
  INFO(what);
  std::string error;
  std::vector<std::string> modules = detail::gpu_program_ptx(trace, error);
  INFO(error);
  REQUIRE(error.empty());
  static const std::string ptxas = ptxas_path();
  if (ptxas.empty()) {
    WARN("skipped ptxas: no CUDA toolkit at $CUDA_HOME or /usr/local/cuda (" << what << ")");
    return;
  }
  const std::string dir = std::filesystem::temp_directory_path() / ("ejit-ptx-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  for (size_t i = 0; i < modules.size(); ++i) {
    const std::string file = dir + "/m.ptx", log = dir + "/log.txt";
    std::ofstream(file) << modules[i];
    const std::string cmd = ptxas + " -arch=sm_90 " + file + " -o " + dir + "/m.cubin > " + log + " 2>&1";
    const int rc = std::system(cmd.c_str());
    std::stringstream messages;
    messages << std::ifstream(log).rdbuf();
    INFO("module " << i << ": " << messages.str());
    REQUIRE(rc == 0);
  }
  std::filesystem::remove_all(dir);
}

std::string listing(const Trace& trace) { return detail::gpu_ptx_listing(trace); }

/// Byte sizes of the .param list of `.entry function(` in PTX text.
std::vector<int> ptx_params(const std::string& ptx, const std::string& function) {
  std::vector<int> bytes;
  size_t p = ptx.find(".entry " + function + "(");
  if (p == std::string::npos) return {-1};
  const size_t end = ptx.find(')', p);
  for (size_t q = ptx.find(".param", p); q != std::string::npos && q < end; q = ptx.find(".param", q + 1)) {
    const std::string type = ptx.substr(q + 7, 4);  // ".u64", ".f32", ".b8 " ...
    bytes.push_back(type == ".u64" || type == ".b64" || type == ".f64" || type == ".s64" ? 8
                    : type == ".u32" || type == ".b32" || type == ".f32" || type == ".s32" ? 4
                                                                                           : 0);
  }
  return bytes;
}

/// Every launch passes exactly the parameters its kernel declares, in count and size: the
/// executor builds cuLaunchKernel's argument list from the plan, so a mismatch would be a
/// wrong read on the GPU.
void require_launches_match_ptx(const Trace& trace, const std::string& what) {
  INFO(what);
  std::string error;
  for (const detail::GpuLaunchInfo& l : detail::gpu_program_launches(trace, error)) {
    INFO("kernel " << l.function);
    REQUIRE(ptx_params(l.ptx, l.function) == l.param_bytes);
  }
  REQUIRE(error.empty());
}

/// The GPU program that compile_for_gpu builds for `t` (no GPU needed to build one).
const detail::GpuProgram& program_of(const Trace& t, detail::CompileResult& keep) {
  keep = detail::compile_for_gpu(t, false);
  INFO(keep.error);
  REQUIRE(keep.executable);
  const auto* p = dynamic_cast<const detail::GpuProgram*>(keep.executable.get());
  REQUIRE(p);
  return *p;
}

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("GPU: every unary op of the table assembles for sm_90", "[gpu][ptx]") {
  for (int i = 0; i < kNumUnaryOps; ++i) {
    auto op = static_cast<UnaryOp>(i);
    for (DType dt : kDTypes) {
      if (kind(op) == UnaryKind::Numeric && dt == DType::Bool) continue;
      Trace t = record([op](auto& a) { return unary(op, a[0]); }, {inputs_for(dt, {7, 9}, 1)});
      INFO(name(op) << " on " << name(dt));
      REQUIRE(detail::gpu_program_host_steps(t) == "");  // every unary op has a GPU kernel
      require_ptx_assembles(t, std::string(name(op)) + " on " + std::string(name(dt)));
    }
  }
}

TEST_CASE("GPU: every binary op of the table assembles, broadcasting", "[gpu][ptx]") {
  const std::pair<Shape, Shape> shapes[] = {{{6, 5}, {6, 5}}, {{6, 1}, {1, 5}}};
  for (int i = 0; i < kNumBinaryOps; ++i) {
    auto op = static_cast<BinaryOp>(i);
    for (DType dt : kDTypes) {
      if (kind(op) == BinaryKind::ArithNoBool && dt == DType::Bool) continue;
      for (const auto& [sa, sb] : shapes) {
        Trace t = record([op](auto& a) { return binary(op, a[0], a[1]); }, {inputs_for(dt, sa, 2), inputs_for(dt, sb, 3)});
        INFO(name(op) << " on " << name(dt));
        REQUIRE(detail::gpu_program_host_steps(t) == "");  // every binary op has a GPU kernel
        require_ptx_assembles(t, std::string(name(op)) + " on " + std::string(name(dt)) + " " + sa.str() + " " + sb.str());
      }
    }
  }
}

TEST_CASE("GPU: reductions are block reductions and assemble", "[gpu][ptx]") {
  struct Case {
    Shape shape;
    std::vector<int64_t> axes;
    const char* kernel;  // the template the reduction must use
  };
  const Case cases[] = {{{64, 1000}, {1}, "reduce_rows"},   {{1 << 20}, {0}, "reduce_rows"},
                        {{1000, 64}, {0}, "reduce_cols"},   {{8, 30, 5}, {1}, "reduce_cols"},
                        {{8, 30, 5}, {0, 2}, "reduce_rows"}, {{5, 7}, {}, "reduce_rows"}};
  for (DType dt : {DType::F32, DType::F64, DType::I32, DType::I64}) {
    for (const Case& c : cases) {
      for (int op = 0; op < 4; ++op) {
        Trace t = record(
            [&](auto& a) {
              Tensor x = a[0];
              switch (op) {
                case 0: return sum(x, c.axes);
                case 1: return prod(x, c.axes);
                case 2: return max(x, c.axes);
                default: return min(x, c.axes);
              }
            },
            {inputs_for(dt, c.shape, 4)});
        const std::string what = fmt::format("reduction {} of {} {} over {}", op, name(dt), c.shape.str(), c.axes.size());
        INFO(what);
        const std::string l = listing(t);
        INFO(l.substr(0, 2000));
        REQUIRE(l.find("block reduction") != std::string::npos);  // i32 sums and products widen to i64 there
        REQUIRE(l.find(std::string("launch ") + c.kernel) != std::string::npos);
        REQUIRE(l.find("on the host") == std::string::npos);
        require_ptx_assembles(t, what);
      }
    }
  }
  // Counting: a sum of bools is a block reduction into i64.
  Trace count_true = record([](auto& a) { return sum(a[0] > 0.f); }, {randn({100000}, 3)});
  REQUIRE(listing(count_true).find("sum as a block reduction") != std::string::npos);
  require_ptx_assembles(count_true, "sum of bools");
  // A long full reduction is split over many blocks, then the partials are reduced.
  Trace full = record([](auto& a) { return sum(a[0]); }, {randn({1 << 22}, 1)});
  const std::string l = listing(full);
  INFO(l.substr(0, 2000));
  REQUIRE(count(l, "launch reduce_rows") == 2);
  REQUIRE(l.find("grid (1, 512, 1)") != std::string::npos);
  // A column sum with few outputs (a bias gradient: 65536 rows summed per feature) is cut
  // into pieces reduced in parallel (4096 outputs' threads instead of 4), then the pieces.
  Trace cols = record([](auto& a) { return sum(a[0], {0}); }, {randn({65536, 4}, 2)});
  const std::string lc = listing(cols);
  INFO(lc.substr(0, 2000));
  REQUIRE(count(lc, "launch reduce_cols") == 2);
  REQUIRE(lc.find("grid (64, 1, 1)") != std::string::npos);  // 4 x 4096 partials, 256 threads a block
  require_ptx_assembles(cols, "split column sum");
  // any() and all() are i32 block reductions between two casts, not one thread per output.
  for (int which = 0; which < 3; ++which) {
    Trace t = record([&](auto& a) {
      const Tensor b = a[0] > 0.f;
      return which == 0 ? any(b) : which == 1 ? all(b, {1}) : any(b, {0});
    }, {randn({4096, 64}, 5)});
    const std::string lb = listing(t);
    INFO(lb.substr(0, 2000));
    REQUIRE(lb.find(which == 1 ? "min as a block reduction" : "max as a block reduction") != std::string::npos);
    REQUIRE(lb.find("on the host") == std::string::npos);
    require_ptx_assembles(t, "any/all");
  }
  // Prime lengths cannot be cut evenly: one launch, as before.
  Trace prime = record([](auto& a) { return max(a[0], {0}); }, {randn({65521, 3}, 3)});
  REQUIRE(count(listing(prime), "launch reduce_cols") == 1);
}

TEST_CASE("GPU: softmax, log_softmax and layer norm over the last axis are one kernel, a block per row", "[gpu][ptx]") {
  const Shape shapes[] = {{64, 1000}, {3, 5, 7}, {4096}, {4, 1}};
  for (DType dt : {DType::F32, DType::F64}) {
    for (const Shape& shape : shapes) {
      for (int which = 0; which < 3; ++which) {
        Trace t = record([&](auto& a) { return which == 0 ? softmax(a[0], -1) : which == 1 ? layer_norm(a[0]) : log_softmax(a[0], -1); },
                         {inputs_for(dt, shape, 6)});
        const char* kernel = which == 0 ? "row_softmax" : which == 1 ? "row_layer_norm" : "row_log_softmax";
        const std::string what = fmt::format("{} of {} {}", kernel, name(dt), shape.str());
        INFO(what);
        const std::string l = listing(t);
        INFO(l.substr(0, 1500));
        const int64_t len = shape[shape.rank() - 1];
        REQUIRE(l.find(fmt::format("as one kernel, a block per row ({} rows of {})", shape.numel() / len, len)) != std::string::npos);
        REQUIRE(count(l, "  launch ") == 1);
        const int64_t threads = std::min<int64_t>(256, (len + 31) / 32 * 32);  // whole warps
        REQUIRE(l.find(fmt::format("launch {} grid ({}, 1, 1) block ({}, 1, 1)", kernel, shape.numel() / len, threads)) !=
                std::string::npos);
        require_launches_match_ptx(t, what);
        require_ptx_assembles(t, what);
      }
    }
  }
  // Layer norm's scale and shift (gamma and beta of the row's length) are in the kernel too;
  // the divisors and eps are the trace's.
  Trace affine = record([](auto& a) { return layer_norm(a[0]) * a[1] + a[2]; }, {randn({32, 48}, 1), randn({48}, 2), randn({48}, 3)});
  const std::string la = listing(affine);
  INFO(la.substr(0, 1500));
  REQUIRE(la.find("GPU program for sm_90: 1 steps") != std::string::npos);
  REQUIRE(la.find("layer norm with scale and shift as one kernel") != std::string::npos);
  require_launches_match_ptx(affine, "affine layer norm");
  require_ptx_assembles(affine, "affine layer norm");
  {
    detail::CompileResult keep;
    const detail::GpuStep& step = program_of(affine, keep).steps().at(0);
    REQUIRE(step.inputs.size() == 3);  // x, gamma, beta
    const detail::GpuLaunch& launch = step.kernels.launches.at(0);
    REQUIRE(launch.args.size() == 8);  // in, gamma, beta, out (5 parameters each), len, n1, n2, eps
    CHECK(launch.args[1].sizes == std::vector<int64_t>{48});
    CHECK(launch.args[3].sizes == std::vector<int64_t>{32 * 48});
    auto f32 = [](const detail::GpuArg& a) {
      REQUIRE(a.kind == detail::GpuArg::Kind::F32);
      float f;
      const auto u = static_cast<uint32_t>(a.bits);
      std::memcpy(&f, &u, sizeof f);
      return f;
    };
    CHECK(f32(launch.args[5]) == 48.f);  // n1, n2: the row length, as layer_norm divides by it
    CHECK(f32(launch.args[6]) == 48.f);
    CHECK(f32(launch.args[7]) == 1e-5f);  // eps
    CHECK(launch.args[4].kind == detail::GpuArg::Kind::I64);
    CHECK(launch.args[4].bits == 48);
  }
  const std::vector<std::tuple<const char*, const char*, std::function<Tensor(std::vector<Tensor>&)>>> affines = {
      {"scale only", "layer norm with scale as one kernel", [](auto& a) { return layer_norm(a[0]) * a[1]; }},
      {"shift only", "layer norm with shift as one kernel", [](auto& a) { return layer_norm(a[0]) + a[2]; }},
      {"layer_norm's own gamma and beta", "layer norm with scale and shift as one kernel",
       [](auto& a) { return layer_norm(a[0], a[1], a[2]); }},
      {"a scale of the input's shape stays outside", "layer norm as one kernel", [](auto& a) { return layer_norm(a[0]) * a[0]; }},
      {"a scaled value also returned stays outside", "layer norm with scale as one kernel", [](auto& a) {
         Tensor y = layer_norm(a[0]) * a[1];
         return y + a[2] + sum(y);
       }},
  };
  for (const auto& [what, expect, fn] : affines) {
    INFO(what);
    Trace t = record(fn, {randn({32, 48}, 1), randn({48}, 2), randn({48}, 3)});
    const std::string l = listing(t);
    INFO(l.substr(0, 1500));
    REQUIRE(l.find(expect) != std::string::npos);
    require_launches_match_ptx(t, what);
    require_ptx_assembles(t, what);
  }
  // Two in a row, and one beside unrelated ops, each one kernel.
  Trace chained = record([](auto& a) { return softmax(layer_norm(a[0]) * 2.f, -1) + tanh(a[0]); }, {randn({16, 40}, 5)});
  const std::string lc = listing(chained);
  INFO(lc.substr(0, 1500));
  REQUIRE(lc.find("layer norm as one kernel") != std::string::npos);
  REQUIRE(lc.find("softmax as one kernel") != std::string::npos);
  require_launches_match_ptx(chained, "chained");
  // Not one kernel: an inside value read elsewhere, another axis, a composite of other ops.
  const std::vector<std::pair<const char*, std::function<Tensor(std::vector<Tensor>&)>>> others = {
      {"softmax whose exp is also returned", [](auto& a) {
         Tensor m = max(a[0], {1}, true), e = exp(a[0] - m);
         return e / sum(e, {1}, true) + e;
       }},
      {"softmax over the first axis", [](auto& a) { return softmax(a[0], 0); }},
      {"log_softmax whose sum is also read", [](auto& a) {
         Tensor sh = a[0] - max(a[0], {1}, true), s = sum(exp(sh), {1}, true);
         return sh - log(s) + s;
       }},
      {"a max reduction alone", [](auto& a) { return a[0] - max(a[0], {1}, true); }},
      {"softmax's operands swapped (m - x)", [](auto& a) {
         Tensor m = max(a[0], {1}, true), e = exp(m - a[0]);
         return e / sum(e, {1}, true);
       }},
      {"layer norm's sum read by a later op", [](auto& a) {
         Tensor s = sum(a[0], {1}, true), d = a[0] - s / 40.f;
         Tensor y = d * rsqrt(sum(d * d, {1}, true) / 40.f + 1e-5f);
         return y + s;
       }},
      {"rows longer than a block takes (split over blocks instead)", [](auto& a) { return softmax(reshape(a[0], {1, -1}), -1); }},
  };
  for (const auto& [what, fn] : others) {
    INFO(what);
    Trace t = record(fn, {randn({16, what[0] == 'r' ? 1024 : 40}, 4)});
    const std::string l = listing(t);
    INFO(l.substr(0, 1500));
    REQUIRE(l.find("a block per row") == std::string::npos);
    require_launches_match_ptx(t, what);
  }
}

TEST_CASE("GPU: shape ops, where, cast and generated matmul assemble", "[gpu][ptx]") {
  setenv("EJIT_GPU_MATMUL", "generated", 1);  // cuBLAS may be loadable here: test the kernel we generate
  Tensor a = randn({4, 6}, 1), b = randn({6, 5}, 2), c = randn({3, 4, 6}, 3);
  const std::vector<std::pair<std::string, std::function<Tensor(std::vector<Tensor>&)>>> cases = {
      {"permute", [](auto& x) { return permute(x[2], {2, 0, 1}); }},
      {"transpose", [](auto& x) { return transpose(x[0]); }},
      {"broadcast_to", [](auto& x) { return broadcast_to(x[0], {3, 4, 6}); }},
      {"slice", [](auto& x) { return x[2].slice(2, 1, 5, 2); }},
      {"reversed slice", [](auto& x) { return x[2].slice(1, 3, std::nullopt, -2) * 2.f; }},
      {"concat", [](auto& x) { return concat({x[0], x[0] * 2.f}, 0); }},
      {"pad", [](auto& x) { return pad(x[0], {{1, 2}, {0, 3}}, 0.5); }},
      {"where", [](auto& x) { return where(x[0] > 0.f, x[0], x[0] * 0.1f); }},
      {"cast", [](auto& x) { return cast(x[0], DType::I32); }},
      {"matmul", [](auto& x) { return matmul(x[0], x[1]); }},
      {"batched matmul", [](auto& x) { return matmul(x[2], broadcast_to(x[1], {3, 6, 5})); }},
      {"softmax", [](auto& x) { return softmax(x[2], -1); }},
      {"layer_norm", [](auto& x) { return layer_norm(x[2]); }},
      {"rank 0", [](auto& x) { return sum(x[0]) * 2.f + 1.f; }},
      {"reshape only", [](auto& x) { return reshape(x[0], {24}); }},
      {"720 elements, broadcast", [](auto& x) { return broadcast_to(x[0].reshape({24, 1}), {24, 30}) * 2.f - x[0].reshape({24, 1}); }},
      {"1000 elements", [](auto& x) { return exp(broadcast_to(x[1], {200, 6, 5}).reshape({1000, 6})); }},
  };
  for (const auto& [what, f] : cases) {
    Trace t = record(f, {a, b, c});
    INFO(what << "\n" << listing(t).substr(0, 3000));
    REQUIRE(listing(t).find("on the host") == std::string::npos);
    require_ptx_assembles(t, what);
  }
  unsetenv("EJIT_GPU_MATMUL");
}

TEST_CASE("GPU: ops without a GPU kernel run on the host, and say so", "[gpu][ptx]") {
  Tensor x = randn({5, 7}, 1);
  Tensor idx = from_vector<int64_t>({2, 0, 4}, {3});
  Trace t = record([&](auto& a) { return gather(a[0], idx.reshape({3, 1}).astype(DType::I32), 0).sum(); }, {x});
  const std::string l = listing(t);
  INFO(l.substr(0, 2000));
  REQUIRE(l.find("gather on the host") != std::string::npos);
  require_ptx_assembles(t, "gather");
  // take is a kernel, for every dtype and both index dtypes
  for (DType dt : kDTypes)
    for (DType it : {DType::I32, DType::I64}) {
      Trace tk = record([&](auto& a) { return take(a[0], a[1], 1); }, {inputs_for(dt, {3, 50, 4}, 2), idx.astype(it)});
      INFO("take of " << name(dt) << " by " << name(it));
      REQUIRE(detail::gpu_program_host_steps(tk) == "");
      require_ptx_assembles(tk, "take");
    }
}

TEST_CASE("GPU: argmax and argmin of bools compare them unsigned (true > false)", "[gpu][ptx]") {
  // As signed 1-bit numbers true is -1: a signed compare would pick false as the maximum.
  CHECK(detail::arg_reduction_text(true, DType::Bool).find("arith.cmpi ugt, %v, %best : i1") != std::string::npos);
  CHECK(detail::arg_reduction_text(false, DType::Bool).find("arith.cmpi ult, %v, %best : i1") != std::string::npos);
  CHECK(detail::arg_reduction_text(true, DType::I32).find("arith.cmpi sgt, %v, %best : i32") != std::string::npos);
  CHECK(detail::arg_reduction_text(false, DType::I64).find("arith.cmpi slt, %v, %best : i64") != std::string::npos);
}

TEST_CASE("GPU: argmax and argmin are kernels (a thread per output)", "[gpu][ptx]") {
  for (DType dt : {DType::Bool, DType::F32, DType::F64, DType::I32, DType::I64}) {
    for (int axis : {0, 1, 2}) {
      Tensor x = inputs_for(dt, {4, 300, 5}, 1);
      Trace t = record([&](auto& a) { return argmax(a[0], axis) + argmin(a[0], axis); }, {x});
      const std::string what = fmt::format("argmax/argmin of {} over axis {}", name(dt), axis);
      INFO(what);
      REQUIRE(detail::gpu_program_host_steps(t) == "");
      REQUIRE(listing(t).find("launch reduce_arg") != std::string::npos);
      require_ptx_assembles(t, what);
    }
  }
}

TEST_CASE("GPU: 40 random op chains assemble for sm_90, all on the GPU", "[gpu][ptx][random]") {
  // Sizes above 256 that are not multiples of it make partial last blocks.
  const std::pair<Shape, Shape> shapes[] = {{{6, 8}, {6, 8}}, {{5, 1}, {5, 9}}, {{3, 4, 5}, {4, 5}}, {{}, {7}},
                                            {{33, 70}, {70}}, {{300, 1}, {1, 7}}};
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const auto& [sa, sb] = shapes[seed % 6];
    Tensor a = randn(sa, seed * 2 + 1), b = randn(sb, seed * 2 + 2);
    Trace t = record([seed](auto& x) { return random_chain(seed, x[0], x[1]); }, {a, b});
    INFO("random chain " << seed);
    REQUIRE(detail::gpu_program_host_steps(t) == "");
    require_ptx_assembles(t, "random chain " + std::to_string(seed));
  }
}

TEST_CASE("GPU: compiled kernels come back from the disk cache", "[gpu]") {
  const char* old = std::getenv("EJIT_CACHE_DIR");
  const std::string saved = old ? old : "";
  const std::string dir = std::filesystem::temp_directory_path() / ("ejit-gpu-cache-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  setenv("EJIT_CACHE_DIR", dir.c_str(), 1);
  Tensor a = randn({300, 70}, 1), b = randn({70}, 2);
  Trace t = record([](auto& x) { return softmax(exp(x[0] * x[1]) + tanh(x[0]) * 0.5f, -1); }, {a, b});
  std::string error;
  detail::CompileResult first = detail::compile_for_gpu(t, false);
  REQUIRE(first.executable);
  REQUIRE(!first.from_disk_cache);
  const std::vector<std::string> compiled = detail::gpu_program_ptx(t, error);  // from the cache now
  detail::CompileResult second = detail::compile_for_gpu(t, false);
  REQUIRE(second.executable);
  REQUIRE(second.from_disk_cache);
  REQUIRE(!compiled.empty());
  setenv("EJIT_CACHE_DIR", "off", 1);
  const std::vector<std::string> fresh = detail::gpu_program_ptx(t, error);
  REQUIRE(fresh == compiled);  // the same modules as a fresh compile
  if (saved.empty()) unsetenv("EJIT_CACHE_DIR");
  else setenv("EJIT_CACHE_DIR", saved.c_str(), 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("GPU: the shape-generic kernels of eager elementwise ops assemble", "[gpu][ptx]") {
  // Eager unary, binary, cast and where ops on GPU tensors use one kernel per op, dtypes
  // and collapsed rank; its parameters: 5 per 1-D memref (out and inputs), n, the sizes,
  // and the strides of each input.
  const std::string chip = "sm_90";
  std::vector<detail::ElementwiseSpec> specs;
  for (int i = 0; i < kNumUnaryOps; ++i)
    for (DType dt : kDTypes) {
      const auto op = static_cast<UnaryOp>(i);
      if (kind(op) == UnaryKind::Numeric && dt == DType::Bool) continue;
      if (kind(op) == UnaryKind::Float && !is_floating(dt)) continue;  // the op casts first
      specs.push_back({0, i, {dt}, kind(op) == UnaryKind::Predicate ? DType::Bool : dt, 1});
    }
  for (int i = 0; i < kNumBinaryOps; ++i)
    for (DType dt : kDTypes) {
      const auto op = static_cast<BinaryOp>(i);
      if (kind(op) == BinaryKind::ArithNoBool && dt == DType::Bool) continue;
      if (kind(op) == BinaryKind::Div && !is_floating(dt)) continue;
      if (kind(op) == BinaryKind::Logical && dt != DType::Bool) continue;
      const bool pred = kind(op) == BinaryKind::Compare || kind(op) == BinaryKind::Logical;
      specs.push_back({1, i, {dt, dt}, pred ? DType::Bool : dt, 2});
    }
  for (DType from : kDTypes)
    for (DType to : kDTypes)
      if (from != to) specs.push_back({2, 0, {from}, to, 3});
  specs.push_back({3, 0, {DType::Bool, DType::F32, DType::F32}, DType::F32, 4});
  for (const detail::ElementwiseSpec& s : specs) {
    INFO(s.key());
    std::string error;
    const std::string ptx = detail::elementwise_ptx(s, chip, error);
    INFO(error);
    REQUIRE(!ptx.empty());
    const size_t k = s.inputs.size();
    REQUIRE(ptx_params(ptx, "ew") == std::vector<int>(5 * (k + 1) + 1 + s.rank * (k + 1), 8));
    if (ptxas_path().empty()) continue;
    const std::string dir = std::filesystem::temp_directory_path() / ("ejit-ew-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/ew.ptx") << ptx;
    const std::string cmd = ptxas_path() + " -arch=sm_90 " + dir + "/ew.ptx -o " + dir + "/ew.cubin > " + dir + "/log 2>&1";
    const int rc = std::system(cmd.c_str());
    std::stringstream log;
    log << std::ifstream(dir + "/log").rdbuf();
    INFO(log.str());
    REQUIRE(rc == 0);
    std::filesystem::remove_all(dir);
  }
}

TEST_CASE("GPU: launch dimensions are checked against CUDA's limits before a launch", "[gpu]") {
  const int64_t ok_grid[3] = {(int64_t{1} << 31) - 1, 65535, 1}, ok_block[3] = {256, 4, 1};
  REQUIRE_NOTHROW(cuda::check_launch_dims(ok_grid, ok_block, "sum"));
  const int64_t big_x[3] = {int64_t{1} << 31, 1, 1}, big_y[3] = {1, 65536, 1}, zero[3] = {0, 1, 1};
  const int64_t wide[3] = {2048, 1, 1}, many[3] = {64, 32, 1}, deep[3] = {1, 1, 65};
  for (const int64_t* g : {big_x, big_y, zero})
    REQUIRE_THROWS_WITH(cuda::check_launch_dims(g, ok_block, "sum"),
                        Catch::Matchers::StartsWith("[sum] a launch of grid") && Catch::Matchers::Contains("limits"));
  for (const int64_t* b : {wide, many, deep})
    REQUIRE_THROWS_WITH(cuda::check_launch_dims(ok_grid, b, "sum"), Catch::Matchers::StartsWith("[sum] a launch of grid"));
}

TEST_CASE("GPU: a module that fails to load would be named by its kernels", "[gpu]") {
  std::string error;
  const std::string ptx = detail::arg_reduction_ptx(true, DType::F32, "sm_90", error);
  REQUIRE(error.empty());
  CHECK(cuda::ptx_kernel_names(ptx) == "reduce_arg");
  CHECK(cuda::ptx_kernel_names(".visible .entry a_1(\n.visible .entry b$2 (") == "a_1, b$2");
  CHECK(cuda::ptx_kernel_names("no kernels") == "(none)");
}

TEST_CASE("GPU: a kernel that needs libdevice is refused at compile time when it is missing", "[gpu][ptx]") {
  auto restore = [](const char* name, const char* old) {
    if (old) setenv(name, old, 1);
    else unsetenv(name);
  };
  const char* old_home = std::getenv("CUDA_HOME");
  const char* old_cache = std::getenv("EJIT_CACHE_DIR");
  const std::string saved_home = old_home ? old_home : "", saved_cache = old_cache ? old_cache : "";
  setenv("CUDA_HOME", "/nonexistent-cuda-home", 1);
  setenv("EJIT_CACHE_DIR", "off", 1);
  // f32 mod calls libdevice's __nv_fmodf; the seed makes the trace new to this process.
  Trace t = record([](auto& a) { return a[0] % (a[1] + 3.5f) + 0.25f; }, {randn({9, 11}, 41), randn({11}, 42)});
  // The group that calls it runs on the host, with the reason, instead of failing to load.
  const std::string host = detail::gpu_program_host_steps(t);
  restore("CUDA_HOME", old_home ? saved_home.c_str() : nullptr);
  restore("EJIT_CACHE_DIR", old_cache ? saved_cache.c_str() : nullptr);
  INFO(host);
  CHECK(host.find("calls __nv_fmodf, which is not linked in") != std::string::npos);
  CHECK(host.find("libdevice was not found at /nonexistent-cuda-home") != std::string::npos);
}

// Run by ctest in a process of its own, with CUDA_HOME pointing nowhere and no disk cache
// (test/jit/CMakeLists.txt): kernel templates are kept in memory for the process's life.
TEST_CASE("GPU: a row kernel that needs libdevice where it is missing takes the old plan", "[.row-kernel-no-libdevice]") {
  REQUIRE(std::string(std::getenv("CUDA_HOME") ? std::getenv("CUDA_HOME") : "") == "/nonexistent-cuda-home");
  // layer norm's kernel calls libdevice's sqrt: the program still builds, on the old plan.
  Trace t = record([](auto& a) { return layer_norm(a[0]); }, {randn({8, 24}, 43)});
  const std::string l = listing(t);
  INFO(l.substr(0, 1500));
  CHECK(l.find("a block per row") == std::string::npos);
  CHECK(l.find("sum as a block reduction") != std::string::npos);
  CHECK(detail::gpu_program_host_steps(t).find("libdevice was not found") != std::string::npos);
  // So does softmax's (exp calls libdevice's floorf), and it builds all the same.
  Trace sm = record([](auto& a) { return softmax(a[0], -1); }, {randn({8, 24}, 44)});
  const std::string ls = listing(sm);
  CHECK(ls.find("a block per row") == std::string::npos);
  CHECK(ls.find("max as a block reduction") != std::string::npos);
}

TEST_CASE("GPU: a fused kernel over more than 4 KB of parameters is refused, not miscompiled", "[gpu][ptx]") {
  std::vector<Tensor> xs;
  for (int i = 0; i < 150; ++i) xs.push_back(randn({5, 3}, 100 + i));
  Trace t = record(
      [](auto& a) {
        Tensor s = a[0] * 1.5f;
        for (size_t i = 1; i < a.size(); ++i) s = s + a[i];
        return s;
      },
      xs);
  // The one fused group would take ~6 KB: it is refused and its ops become smaller kernels.
  std::string error;
  const std::vector<detail::GpuLaunchInfo> launches = detail::gpu_program_launches(t, error);
  INFO(error);
  REQUIRE(error.empty());
  CHECK(launches.size() > 1);
  for (const detail::GpuLaunchInfo& l : launches) {
    size_t bytes = 0;
    for (size_t b : l.param_bytes) bytes += b;
    CHECK(bytes <= 4096);
  }
  CHECK(detail::gpu_program_host_steps(t) == "");
  // A smaller sum of the same kind fits and stays one kernel.
  Trace small = record([](auto& a) { return a[0] * 1.5f + a[1] + a[2]; }, {xs[0], xs[1], xs[2]});
  CHECK(detail::gpu_program_launches(small, error).size() == 1);
}

TEST_CASE("GPU: dynamic dims: softmax and layer norm stay one kernel per row, the rows counted per call",
          "[gpu][ptx][dynamic]") {
  for (int which = 0; which < 2; ++which) {
    auto fn = [which](const std::vector<Tensor>& in) {
      return std::vector<Tensor>{which == 0 ? softmax(in[0] * 2.f, -1) : layer_norm(in[0] * 2.f)};
    };
    auto record_at = [&](int64_t rows) {
      std::vector<Tensor> args = {randn({rows, 3, 96}, 1)};
      Recorder rec;
      rec.add_inputs(args);
      return rec.finish(fn(args));
    };
    std::string why;
    const std::optional<Trace> general = detail::generalize(record_at(37), record_at(50), why);
    INFO(why);
    REQUIRE(general);
    const std::string l = listing(*general);
    INFO(l.substr(0, 1500));
    REQUIRE(l.find("as one kernel, a block per row (the call's rows of 96)") != std::string::npos);
    require_ptx_assembles(*general, "dynamic row kernel");
    detail::CompileResult keep_dynamic;
    const detail::GpuProgram& dynamic = program_of(*general, keep_dynamic);
    for (int64_t rows : {1, 300}) {  // the launch at this size is the static plan's
      INFO("rows " << rows);
      detail::CompileResult keep_static;
      const detail::GpuProgram& fixed = program_of(record_at(rows), keep_static);
      REQUIRE(fixed.steps().size() == dynamic.steps().size());
      const detail::GpuStep &a = dynamic.steps().back(), &b = fixed.steps().back();
      REQUIRE(b.what.find("a block per row") != std::string::npos);
      REQUIRE(!a.kernels.index_ops.empty());
      std::vector<Shape> shapes;
      for (const std::vector<int>* ids : {&a.inputs, &a.outputs})
        for (int id : *ids) shapes.push_back(detail::concrete(general->values[id].shape, {rows}));
      const std::vector<int64_t> values = detail::evaluate_index_ops(a.kernels, shapes);
      auto size = [&](int64_t n) { return detail::resolve_size(n, values); };
      const detail::GpuLaunch &x = a.kernels.launches.at(0), &y = b.kernels.launches.at(0);
      CHECK(size(x.grid[0]) == y.grid[0]);
      CHECK(y.grid[0] == rows * 3);
      CHECK(x.block[0] == y.block[0]);
      REQUIRE(x.args.size() == y.args.size());
      for (size_t i = 0; i < x.args.size(); ++i) {
        CHECK(x.args[i].kind == y.args[i].kind);
        CHECK(x.args[i].bits == y.args[i].bits);
        for (size_t d = 0; d < y.args[i].sizes.size(); ++d) CHECK(size(x.args[i].sizes[d]) == y.args[i].sizes[d]);
      }
    }
  }
}

TEST_CASE("GPU: dynamic dims: fused kernels take their sizes per call, and match the static plan at each size",
          "[gpu][ptx][dynamic]") {
  // Elementwise with a broadcast and a flattening reshape; then with row reductions too (they
  // keep the dynamic dim: fused, a thread per row). (A matmul goes to cuBLAS with each call's
  // shapes: the [cuda] test runs one.)
  auto plain = [](const std::vector<Tensor>& in) {
    const Tensor y = exp(in[0] * in[1]) + tanh(in[0]) * 0.5f;
    return std::vector<Tensor>{y * 2.f, reshape(y, {-1}) + 1.f};
  };
  auto rows_too = [](const std::vector<Tensor>& in) {
    const Tensor y = exp(in[0] * in[1]) + tanh(in[0]) * 0.5f;
    return std::vector<Tensor>{softmax(y, 1) * 2.f, sum(y, {1})};
  };
  auto record_with = [](auto fn, int64_t rows) {
    std::vector<Tensor> args = {randn({rows, 64}, 1), randn({64}, 2)};
    Recorder rec;
    rec.add_inputs(args);
    return rec.finish(fn(args));
  };
  auto record_all = [&](int64_t rows) { return record_with(plain, rows); };
  std::string why;
  const std::optional<Trace> with_rows = detail::generalize(record_with(rows_too, 37), record_with(rows_too, 50), why);
  INFO(why);
  REQUIRE(with_rows);
  require_ptx_assembles(*with_rows, "dynamic rows with row reductions");
  const std::optional<Trace> general = detail::generalize(record_all(37), record_all(50), why);
  REQUIRE(general);
  require_ptx_assembles(*general, "dynamic rows");  // also: every launch passes what its kernel declares
  // The public compile() (the path jit() takes) builds it too.
  const Compiled through_api = compile(*general, {.target = Target::CUDA});
  INFO(through_api.error());
  REQUIRE(through_api.ok());
  detail::CompileResult keep_dynamic;
  const detail::GpuProgram& dynamic = program_of(*general, keep_dynamic);
  bool any_index_ops = false;
  for (const detail::GpuStep& s : dynamic.steps()) any_index_ops |= !s.kernels.index_ops.empty();
  REQUIRE(any_index_ops);

  // At sizes where every loop has at least 256 iterations (a static plan tiles a shorter loop
  // by its own length), the dynamic plan's launches, evaluated for the size, are the static ones.
  for (int64_t rows : {300, 1000}) {
    INFO("rows " << rows);
    const Trace fixed = record_all(rows);
    detail::CompileResult keep_static;
    const detail::GpuProgram& st = program_of(fixed, keep_static);
    REQUIRE(st.steps().size() == dynamic.steps().size());
    const std::vector<int64_t> sizes = {rows};
    for (size_t i = 0; i < st.steps().size(); ++i) {
      const detail::GpuStep &a = dynamic.steps()[i], &b = st.steps()[i];
      INFO("step " << i << ": " << b.what);
      REQUIRE(a.kind == b.kind);
      std::vector<Shape> shapes;
      for (int id : a.inputs) shapes.push_back(detail::concrete(general->values[id].shape, sizes));
      for (int id : a.outputs) shapes.push_back(detail::concrete(general->values[id].shape, sizes));
      const std::vector<int64_t> values = detail::evaluate_index_ops(a.kernels, shapes);
      auto size = [&](int64_t n) { return detail::resolve_size(n, values); };
      REQUIRE(a.kernels.launches.size() == b.kernels.launches.size());
      REQUIRE(a.kernels.temp_bytes.size() == b.kernels.temp_bytes.size());
      for (size_t t = 0; t < a.kernels.temp_bytes.size(); ++t) CHECK(size(a.kernels.temp_bytes[t]) == b.kernels.temp_bytes[t]);
      for (size_t l = 0; l < a.kernels.launches.size(); ++l) {
        const detail::GpuLaunch &x = a.kernels.launches[l], &y = b.kernels.launches[l];
        INFO("launch " << l << " " << y.function);
        for (int d = 0; d < 3; ++d) {
          CHECK(size(x.grid[d]) == y.grid[d]);
          CHECK(size(x.block[d]) == y.block[d]);
        }
        std::vector<const detail::GpuArg*> xb, yb;  // buffers: the dynamic kernels also take sizes as scalars
        for (const detail::GpuArg& g : x.args) if (g.kind == detail::GpuArg::Kind::Buffer) xb.push_back(&g);
        for (const detail::GpuArg& g : y.args) if (g.kind == detail::GpuArg::Kind::Buffer) yb.push_back(&g);
        REQUIRE(xb.size() == yb.size());
        for (size_t k = 0; k < xb.size(); ++k) {
          CHECK(xb[k]->slot == yb[k]->slot);
          CHECK(size(xb[k]->offset) == yb[k]->offset);
          REQUIRE(xb[k]->sizes.size() == yb[k]->sizes.size());
          for (size_t d = 0; d < xb[k]->sizes.size(); ++d) {
            CHECK(size(xb[k]->sizes[d]) == yb[k]->sizes[d]);
            CHECK(size(xb[k]->strides[d]) == yb[k]->strides[d]);
          }
        }
      }
    }
  }
  // Sizes a plan cannot compute are an error naming the op, not a launch.
  detail::GpuKernels bad_plan;
  bad_plan.num_inputs = 1;
  bad_plan.index_ops = {{detail::GpuIndexOp::Kind::Dim, 0, 3}};
  CHECK_THROWS_WITH(detail::evaluate_index_ops(bad_plan, {Shape{4, 2}}),
                    Catch::Contains("[jit] a GPU launch plan's size 0 cannot be computed: a dim the buffer does not have"));
  bad_plan.index_ops = {{detail::GpuIndexOp::Kind::Dim, 0, 0}, {detail::GpuIndexOp::Kind::Const, 0, 0},
                        {detail::GpuIndexOp::Kind::CeilDiv, 0, 1}};
  CHECK_THROWS_WITH(detail::evaluate_index_ops(bad_plan, {Shape{4, 2}}), Catch::Contains("size 2 cannot be computed: a division by zero"));
  // The plan survives the disk cache's text form (version 2 carries the index ops).
  for (const detail::GpuStep& s : dynamic.steps()) {
    if (s.kernels.index_ops.empty()) continue;
    detail::GpuKernels back;
    REQUIRE(detail::deserialize(detail::serialize(s.kernels), back));
    CHECK(detail::serialize(back) == detail::serialize(s.kernels));
    detail::GpuKernels forged = s.kernels;  // an index op that reads a later one: refused
    forged.index_ops.push_back({detail::GpuIndexOp::Kind::Add, 0, static_cast<int64_t>(forged.index_ops.size())});
    CHECK_FALSE(detail::deserialize(detail::serialize(forged), back));
  }
}

TEST_CASE("GPU: dynamic dims: block reductions along or across the dynamic dim are planned per call", "[gpu][ptx][dynamic]") {
  // A sum over the rows that vary (a loss's mean over the batch, a bias gradient), over the
  // leading dims and an argmax along them: block reductions whose launches the executor plans
  // for each call's shape, from the same code that plans a static program's.
  auto record_with = [](auto fn, int64_t rows) {
    std::vector<Tensor> args = {randn({rows, 40}, 1)};
    Recorder rec;
    rec.add_inputs(args);
    return rec.finish(fn(args));
  };
  const Tensor columns = from_vector(std::vector<int64_t>{3, 0, 39, 7}, {4});
  auto fn = [&columns](const std::vector<Tensor>& in) {
    return std::vector<Tensor>{sum(in[0], {0}) * 2.f, mean(in[0]), argmax(in[0], 0), take(in[0], columns, 1) + 1.f};
  };
  std::string why;
  const std::optional<Trace> general = detail::generalize(record_with(fn, 300), record_with(fn, 310), why);
  INFO(why);
  REQUIRE(general);
  require_ptx_assembles(*general, "reductions along the dynamic dim");
  detail::CompileResult keep_dynamic;
  const detail::GpuProgram& dynamic = program_of(*general, keep_dynamic);
  for (int64_t rows : {300, 1000, 70000}) {
    INFO("rows " << rows);
    detail::CompileResult keep_static;
    const detail::GpuProgram& st = program_of(record_with(fn, rows), keep_static);
    std::vector<const detail::GpuStep*> static_reductions;
    for (const detail::GpuStep& s : st.steps())
      if (s.kind == detail::GpuStep::Kind::Reduce) static_reductions.push_back(&s);
    size_t next = 0;
    for (const detail::GpuStep& s : dynamic.steps()) {
      if (s.kind != detail::GpuStep::Kind::Reduce) continue;
      REQUIRE(s.kernels.launches.empty());  // planned per call
      REQUIRE(next < static_reductions.size());
      const detail::GpuStep& want = *static_reductions[next++];
      const TraceNode& n = general->nodes[s.nodes[0]];
      const bool index = kind(static_cast<ReduceOp>(n.sub)) == ReduceKind::Index;
      REQUIRE(s.kernels.ptx.size() == detail::any_size_reduction_modules(index));
      detail::GpuKernels plan;
      const Shape in = detail::concrete(general->values[n.inputs[0]].shape, {rows});
      REQUIRE(detail::plan_reduction_launches(in, n.ints, index, itemsize(general->values[n.output].dtype),
                                              [&](bool r, bool f) { return detail::any_size_reduction_module(index, r, f); },
                                              plan, why));
      CHECK(plan.temp_bytes == want.kernels.temp_bytes);
      REQUIRE(plan.launches.size() == want.kernels.launches.size());
      for (size_t l = 0; l < plan.launches.size(); ++l) {
        const detail::GpuLaunch &x = plan.launches[l], &y = want.kernels.launches[l];
        CHECK(x.function == y.function);
        // The module the call's plan picks holds the same kernel text as the static one's.
        CHECK(s.kernels.ptx.at(static_cast<size_t>(x.module)) == want.kernels.ptx.at(static_cast<size_t>(y.module)));
        for (int d = 0; d < 3; ++d) CHECK((x.grid[d] == y.grid[d] && x.block[d] == y.block[d]));
        REQUIRE(x.args.size() == y.args.size());
        for (size_t a = 0; a < x.args.size(); ++a) {
          CHECK(x.args[a].slot == y.args[a].slot);
          CHECK(x.args[a].bits == y.args[a].bits);
          CHECK(x.args[a].sizes == y.args[a].sizes);
        }
      }
    }
    CHECK(next == static_reductions.size());
    // A call where the reduced dim is 1 (x[1:] of 2 rows) still writes every output.
    detail::GpuKernels one;
    REQUIRE(detail::plan_reduction_launches({1, 40}, {0}, false, 4, [](bool r, bool f) { return detail::any_size_reduction_module(false, r, f); },
                                            one, why));
    REQUIRE_FALSE(one.launches.empty());
    CHECK(one.launches.back().args.at(1).slot == 1);
    // The take's launch, planned for the call, is the static program's.
    const detail::GpuStep* dynamic_take = nullptr;
    const detail::GpuStep* static_take = nullptr;
    for (const detail::GpuStep& s : dynamic.steps()) if (s.kind == detail::GpuStep::Kind::Take) dynamic_take = &s;
    for (const detail::GpuStep& s : st.steps()) if (s.kind == detail::GpuStep::Kind::Take) static_take = &s;
    REQUIRE((dynamic_take && static_take));
    REQUIRE(dynamic_take->kernels.launches.empty());
    detail::GpuKernels take_plan;
    detail::plan_take_launch({rows, 40}, 1, 4, take_plan);
    REQUIRE(take_plan.launches.size() == 1);
    const detail::GpuLaunch &x = take_plan.launches[0], &y = static_take->kernels.launches.at(0);
    CHECK(x.grid[0] == y.grid[0]);
    REQUIRE(x.args.size() == y.args.size());
    for (size_t a = 0; a < x.args.size(); ++a) CHECK((x.args[a].bits == y.args[a].bits && x.args[a].sizes == y.args[a].sizes));
  }
}
