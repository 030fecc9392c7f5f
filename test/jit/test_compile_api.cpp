// ejit::compile(): a trace compiled ahead of its call, through the public API the tools use.
#include <ejit/jit.h>
#include <ejit/ops.h>
#include <ejit/random.h>

#include <string>
#include <vector>

#include "test_util.h"

using namespace ejit;
using namespace ejit::test;

namespace {

Trace softmax_trace() {
  return parse_trace(R"(func.func @f(%x: tensor<8x32xf32>) -> (tensor<8x32xf32>) {
  %1 = ejit.max %x {axes = array<i64: 1>, keepdims = false} : tensor<8x32xf32> -> tensor<8xf32>
  %2 = ejit.reshape %1 : tensor<8xf32> -> tensor<8x1xf32>
  %3 = ejit.sub %x, %2 : tensor<8x32xf32>, tensor<8x1xf32> -> tensor<8x32xf32>
  %4 = ejit.exp %3 : tensor<8x32xf32> -> tensor<8x32xf32>
  %5 = ejit.sum %4 {axes = array<i64: 1>, keepdims = false} : tensor<8x32xf32> -> tensor<8xf32>
  %6 = ejit.reshape %5 : tensor<8xf32> -> tensor<8x1xf32>
  %7 = ejit.div %4, %6 : tensor<8x32xf32>, tensor<8x1xf32> -> tensor<8x32xf32>
  return %7 : tensor<8x32xf32>
})");
}

}  // namespace

TEST_CASE("compile: a trace compiles, runs like the interpreter and keeps its IR", "[jit][compile]") {
  const Trace t = softmax_trace();
  const Compiled c = compile(t, {.keep_ir = true});
  REQUIRE(c.ok());
  CHECK(c.error().empty());
  const Tensor x = randn({8, 32}, 5);
  require_close(c.run({x})[0], eval_trace(t, {x})[0], 1e-5);
  CHECK(c.ir(Stage::Ejit).find("ejit.exp") != std::string::npos);
  CHECK(c.ir(Stage::Linalg).find("linalg.generic") != std::string::npos);
  CHECK(c.ir(Stage::Loops).find("scf.parallel") != std::string::npos);
  CHECK(c.ir(Stage::LLVMDialect).find("llvm.func") != std::string::npos);
  CHECK(c.ir(Stage::Asm).empty());  // a second code generation: only when asked
  CHECK(c.milliseconds() > 0);
}

TEST_CASE("compile: the time of each stage is part of the total", "[jit][compile]") {
  const Compiled c = compile(softmax_trace());
  REQUIRE(c.ok());
  double stages = 0;
  for (Stage s : {Stage::Ejit, Stage::Linalg, Stage::Fused, Stage::Loops, Stage::LLVMDialect, Stage::LLVM, Stage::Asm}) {
    INFO(stage_name(s));
    CHECK(c.milliseconds(s) > 0);
    stages += c.milliseconds(s);
  }
  CHECK(stages <= c.milliseconds() * 1.001);
  CHECK(c.milliseconds(Stage::PTX) == 0);  // not a stage of the CPU pipeline
}

TEST_CASE("compile: the host assembly and the GPU listing come when asked", "[jit][compile]") {
  const Compiled c = compile(softmax_trace(), {.keep_ir = true, .keep_asm = true, .keep_ptx = true});
  REQUIRE(c.ok());
  CHECK_FALSE(c.ir(Stage::Asm).empty());
  CHECK(c.ir(Stage::PTX).find(".entry") != std::string::npos);
}

TEST_CASE("compile: a trace that does not compile says why, and run() throws", "[jit][compile]") {
  // A matmul (on the BLAS) is the only op: nothing compiles.
  const Trace t = parse_trace(R"(func.func @f(%x: tensor<4x5xf32>, %w: tensor<5x2xf32>) -> (tensor<4x2xf32>) {
  %r = ejit.matmul %x, %w : tensor<4x5xf32>, tensor<5x2xf32> -> tensor<4x2xf32>
  return %r : tensor<4x2xf32>
})");
  const Compiled c = compile(t);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().find("matmul") != std::string::npos);
  const std::string e = error_of([&] { c.run({randn({4, 5}, 1), randn({5, 2}, 2)}); });
  CHECK(e.find("[compile]") != std::string::npos);
  CHECK(e.find("matmul") != std::string::npos);
}

TEST_CASE("compile: run() checks its inputs against the trace's", "[jit][compile]") {
  const Compiled c = compile(softmax_trace());
  REQUIRE(c.ok());
  std::string e = error_of([&] { c.run({}); });
  CHECK(e.find("[compile] 0 inputs given, the trace takes 1") != std::string::npos);
  e = error_of([&] { c.run({randn({8, 31}, 1)}); });
  CHECK(e.find("[compile] input 0 is f32(8,31); the trace takes f32(8,32)") != std::string::npos);
  e = error_of([&] { c.run({randn({8, 32}, 1).astype(DType::F64)}); });
  CHECK(e.find("input 0 is f64(8,32)") != std::string::npos);
}

TEST_CASE("compile: the kernel cache reports its folder and entries", "[jit][compile]") {
  const KernelCacheStats before = kernel_cache_stats();
  REQUIRE_FALSE(before.dir.empty());  // each test process has a cache of its own
  const Compiled c = compile(softmax_trace());
  REQUIRE(c.ok());
  const KernelCacheStats after = kernel_cache_stats();
  CHECK(after.entries >= 1);
  CHECK(after.bytes > 0);
  CHECK(kernel_cache_clear() == after.entries);
  CHECK(kernel_cache_stats().entries == 0);
}

TEST_CASE("compile: a trace's kernels compile as one module and come back from the disk cache", "[jit][compile]") {
  // The matmul runs on the BLAS: two kernels, one on each side of it, with row extents of
  // their own (16 and 8 rows), in one module and one cache entry.
  const Trace t = parse_trace(R"(func.func @f(%x: tensor<16x8xf32>, %w: tensor<8x4xf32>, %y: tensor<8x3xf32>) -> (tensor<16x4xf32>, tensor<8x3xf32>) {
  %1 = ejit.exp %x : tensor<16x8xf32> -> tensor<16x8xf32>
  %2 = ejit.mul %1, %x : tensor<16x8xf32>, tensor<16x8xf32> -> tensor<16x8xf32>
  %3 = ejit.matmul %2, %w : tensor<16x8xf32>, tensor<8x4xf32> -> tensor<16x4xf32>
  %4 = ejit.tanh %3 : tensor<16x4xf32> -> tensor<16x4xf32>
  %5 = ejit.add %4, %3 : tensor<16x4xf32>, tensor<16x4xf32> -> tensor<16x4xf32>
  %6 = ejit.sin %y : tensor<8x3xf32> -> tensor<8x3xf32>
  %7 = ejit.mul %6, %y : tensor<8x3xf32>, tensor<8x3xf32> -> tensor<8x3xf32>
  return %5, %7 : tensor<16x4xf32>, tensor<8x3xf32>
})");
  const std::vector<Tensor> in = {randn({16, 8}, 1), randn({8, 4}, 2), randn({8, 3}, 3)};
  const std::vector<Tensor> want = eval_trace(t, in);
  kernel_cache_clear();
  const Compiled first = compile(t);
  REQUIRE(first.ok());
  CHECK_FALSE(first.from_disk_cache());
  CHECK(kernel_cache_stats().entries == 1);
  const Compiled again = compile(t);
  REQUIRE(again.ok());
  CHECK(again.from_disk_cache());
  for (const Compiled* c : {&first, &again}) {
    const std::vector<Tensor> got = c->run(in);
    REQUIRE(got.size() == 2);
    require_close(got[0], want[0], 1e-5);
    require_close(got[1], want[1], 1e-5);
  }
  // Listings are per kernel: asking for IR compiles each kernel on its own.
  const Compiled listed = compile(t, {.keep_ir = true});
  REQUIRE(listed.ok());
  CHECK(listed.ir(Stage::Loops).find("// ---- kernel 2") != std::string::npos);
}

TEST_CASE("compile: sibling outputs share a loop nest and equal the interpreter's", "[jit][compile]") {
  // 40 outputs of one shape (sibling fusion groups them, at most 256 body ops each), some
  // reading a sibling's result directly or through a reduction, and outputs of other shapes.
  const Tensor x = randn({6, 10}, 1), y = randn({10}, 2);
  Recorder rec;
  rec.add_inputs({x, y});
  std::vector<Tensor> outs, siblings;
  for (int i = 0; i < 40; ++i) {
    Tensor o = i % 3 == 0 ? tanh(x * float(i + 1)) : x * float(i + 1) + y;
    if (i % 7 == 6) o = exp(siblings.back()) - o;               // reads an earlier sibling
    if (i % 11 == 10) o = o / sum(siblings[i - 2], {1}, true);  // through a reduction
    siblings.push_back(o);
    outs.push_back(o);
    if (i % 5 == 0) outs.push_back(sin(y * float(i)));  // another shape between them
  }
  const Trace t = rec.finish(outs);
  const Compiled c = compile(t, {.keep_ir = true});
  REQUIRE(c.ok());
  const std::vector<Tensor> got = c.run({x, y}), want = eval_trace(t, {x, y});
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("output " << i);
    require_close(got[i], want[i], 2e-5);
  }
  // Far fewer loop nests than outputs.
  const std::string& fused = c.ir(Stage::Fused);
  size_t generics = 0;
  for (size_t at = fused.find("linalg.generic"); at != std::string::npos; at = fused.find("linalg.generic", at + 1)) ++generics;
  CHECK(generics < outs.size() / 2);
}

TEST_CASE("compile: a long trace is cut into kernels of at most 256 ops, and computes the same", "[jit][compile]") {
  // 700 ops: values cross the cuts, a reduction sits near one, and outputs come from every part.
  const Tensor x = randn({4, 16}, 1);
  Recorder rec;
  rec.add_inputs({x});
  std::vector<Tensor> outs;
  Tensor r = x;
  for (int i = 0; i < 350; ++i) {
    r = tanh(r) * 1.01f;
    if (i == 130) r = r - sum(r, {1}, true) / 16.f;
    if (i % 100 == 99) outs.push_back(r + x);
  }
  outs.push_back(r);
  const Trace t = rec.finish(outs);
  const Compiled c = compile(t);
  REQUIRE(c.ok());
  const std::vector<Tensor> got = c.run({x}), want = eval_trace(t, {x});
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("output " << i);
    require_close(got[i], want[i], 1e-4);
  }
  const Compiled listed = compile(t, {.keep_ir = true});
  REQUIRE(listed.ok());
  CHECK(listed.ir(Stage::Loops).find("// ---- kernel 3") != std::string::npos);
}

TEST_CASE("compile: one tensor passed as two inputs, and 0-d inputs and outputs, in a module of kernels", "[jit][compile]") {
  // Buffers are noalias in compiled code: two inputs may still be one buffer (only read).
  // The kernels run in row chunks on the pool (256 rows of 256), and 0-d values pack as
  // {allocated, aligned, offset} on both sides of the BLAS call.
  const Tensor x = randn({256, 256}, 1), y = randn({256, 256}, 3), w = randn({256, 8}, 2), s = full({}, 0.25f);
  Recorder rec;
  rec.add_inputs({x, y, w, s});
  Tensor a = exp(x * s) + y * y;
  Tensor m = matmul(tanh(a), w);
  Tensor b = m * s + 1.f;
  const Trace t = rec.finish({a, b, sum(b), s * 2.f});
  REQUIRE(t.inputs.size() == 4);
  const Compiled c = compile(t);
  REQUIRE(c.ok());
  const std::vector<Tensor> args = {x, x, w, s};  // x twice: both inputs are one buffer
  const std::vector<Tensor> got = c.run(args), want = eval_trace(t, args);
  REQUIRE(got.size() == 4);
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("output " << i);
    require_close(got[i], want[i], 1e-4);
  }
}
