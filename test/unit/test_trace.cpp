// The recorder: ops run eagerly while recorded; inputs, constants, hashing, MLIR text.
#include "test_util.h"

using namespace ejit;
using ejit::test::error_of;
using ejit::test::require_close;

namespace {

Trace record(const std::vector<Tensor>& args, const std::function<Tensor(const std::vector<Tensor>&)>& fn,
             Tensor* result = nullptr) {
  Recorder rec;
  rec.add_inputs(args);
  Tensor out = fn(args);
  if (result) *result = out;
  return rec.finish({out});
}

}  // namespace

TEST_CASE("recording keeps eager values and captures the ops", "[trace]") {
  Tensor a = tensor({1.f, 2.f, 3.f}), b = tensor({4.f, 5.f, 6.f});
  Tensor y;
  REQUIRE_FALSE(is_recording());
  Trace t = record({a, b}, [](const auto& x) {
    REQUIRE(is_recording());
    REQUIRE(executing_eagerly());
    return exp(x[0] * x[1]) + 0.5f;
  }, &y);
  REQUIRE_FALSE(is_recording());
  REQUIRE(y.at<float>({0}) == Approx(std::exp(4.f) + 0.5f));
  REQUIRE(t.inputs.size() == 2);
  REQUIRE(t.outputs.size() == 1);
  // mul, exp, constant 0.5 (made in f32 at once: no cast), add.
  std::vector<NodeKind> kinds;
  for (const auto& n : t.nodes) kinds.push_back(n.kind);
  REQUIRE(kinds == std::vector<NodeKind>{NodeKind::Binary, NodeKind::Unary, NodeKind::Constant, NodeKind::Binary});
  REQUIRE(t.nodes[2].constant.dtype() == DType::F32);
  REQUIRE(t.values[t.outputs[0]].shape == Shape{3});
  REQUIRE(t.not_compilable.empty());
}

TEST_CASE("captured tensors become inputs, C++ scalars and created tensors constants", "[trace]") {
  Tensor w = ones({3});  // created outside: captured
  Tensor x = tensor({1.f, 2.f, 3.f});
  Trace t = record({x}, [&](const auto& a) { return a[0] * w + full({3}, 2.f); });
  REQUIRE(t.inputs.size() == 2);  // x, then w
  int constants = 0;
  for (const auto& n : t.nodes) constants += n.kind == NodeKind::Constant;
  REQUIRE(constants == 1);
}

TEST_CASE("structural hash ignores pointers and sees shapes, ops and constants", "[trace]") {
  auto f = [](const std::vector<Tensor>& a) { return softmax(a[0] * 2.f); };
  Trace t1 = record({randn({4, 5}, 1)}, f);
  Trace t2 = record({randn({4, 5}, 2)}, f);
  REQUIRE(t1.hash() == t2.hash());
  REQUIRE(t1.same_structure(t2));
  Trace t3 = record({randn({4, 6}, 1)}, f);
  REQUIRE(t1.hash() != t3.hash());
  Trace t4 = record({randn({4, 5}, 1)}, [](const auto& a) { return softmax(a[0] * 3.f); });
  REQUIRE(t1.hash() != t4.hash());
  REQUIRE_FALSE(t1.same_structure(t4));
}

TEST_CASE("dead ops are pruned and reductions keep normalized axes", "[trace]") {
  Trace t = record({ones({2, 3, 4})}, [](const auto& a) {
    Tensor unused = exp(a[0]);
    (void)unused;
    return sum(a[0], {-1, 0}, true);
  });
  REQUIRE(t.nodes.size() == 2);  // sum (axes 0, 2) + reshape for keepdims
  REQUIRE(t.nodes[0].kind == NodeKind::Reduce);
  REQUIRE(t.nodes[0].ints == std::vector<int64_t>{0, 2});
  REQUIRE(t.nodes[1].kind == NodeKind::Reshape);
}

TEST_CASE("reading a traced value on the host marks the trace", "[trace]") {
  Trace t = record({tensor({1.f, -2.f})}, [](const auto& a) {
    Tensor s = sum(a[0]);
    return s.item<float>() > 0 ? a[0] * 2.f : a[0] * 3.f;
  });
  REQUIRE_FALSE(t.not_compilable.empty());
  REQUIRE_THAT(t.not_compilable, Catch::Matchers::Contains("read on the host"));
  // Reading a constant is not control flow on inputs; internal reads of ops are not either.
  Trace ok = record({tensor({1.f, 2.f})}, [](const auto& a) {
    Tensor c = full({2}, 3.f);
    REQUIRE(c.at<float>({0}) == 3.f);
    return take(a[0], tensor({1, 0}));
  });
  REQUIRE(ok.not_compilable.empty());
}

TEST_CASE("with guards on, host reads become guards up to the limits", "[trace]") {
  Tensor x = tensor({1.f, -2.f, 4.f});
  auto body = [&](Recorder& rec) {
    Tensor s = sum(x * 2.f);  // 6: read twice, guarded once
    float v = s.item<float>() + s.item<float>();
    Tensor m = max(x);        // 4: a second guard
    bool big = m.item<float>() > 3.f;
    (void)v, (void)big;
    return rec.finish({x + 1.f});
  };
  Recorder rec;
  rec.add_inputs({x});
  rec.enable_guards(8, 16);
  Trace t = body(rec);
  REQUIRE(t.not_compilable.empty());
  const std::vector<TraceGuard>& g = rec.guards();
  REQUIRE(g.size() == 2);
  float six = 6.f, four = 4.f;
  CHECK(g[0].bytes == std::string(reinterpret_cast<const char*>(&six), 4));
  CHECK(g[1].bytes == std::string(reinterpret_cast<const char*>(&four), 4));
  CHECK(g[0].position <= g[1].position);
  bool sum_kept = false, max_kept = false;  // the guarded values survive pruning
  for (const TraceNode& n : t.nodes) sum_kept |= n.output == g[0].value, max_kept |= n.output == g[1].value;
  CHECK(sum_kept);
  CHECK(max_kept);

  Recorder few;  // one guard allowed: the second read makes the trace not compilable
  few.add_inputs({x});
  few.enable_guards(1, 16);
  Trace over = body(few);
  REQUIRE_THAT(over.not_compilable, Catch::Matchers::Contains("already has 1 guards"));
  Recorder small;  // reads of more than 2 elements are not guarded
  small.add_inputs({x});
  small.enable_guards(8, 2);
  x.to_vector<float>();  // an input read: guards too
  Trace big = [&] { auto v = (x * 3.f).to_vector<float>(); (void)v; return small.finish({x}); }();
  REQUIRE_THAT(big.not_compilable, Catch::Matchers::Contains("too many to guard on"));
}

TEST_CASE("the interpreter runs a trace with dynamic dims at its inputs' sizes", "[trace]") {
  Trace t = record({ones({3, 2})}, [](const auto& a) { return sum(a[0] * 2.f, {0}, true) + a[0]; });
  for (ValueType& v : t.values)
    if (v.shape.rank() == 2 && v.shape[0] == 3) v.shape[0] = -1;  // symbol 0: what jit()'s generalization writes
  const Tensor x = randn({7, 2}, 1);
  const Tensor got = eval_trace(t, {x})[0];
  REQUIRE(got.shape() == Shape{7, 2});
  require_close(got, sum(x * 2.f, {0}, true) + x, 1e-6);
  // Sizes that do not fit the trace: a dim of a symbol under 2, another rank, a static dim.
  CHECK_THAT(error_of([&] { eval_trace(t, {ones({1, 2})}); }), Catch::Matchers::Contains("[eval_trace]"));
  CHECK_THAT(error_of([&] { eval_trace(t, {ones({4})}); }), Catch::Matchers::Contains("[eval_trace]"));
  CHECK_THAT(error_of([&] { eval_trace(t, {ones({4, 3})}); }), Catch::Matchers::Contains("dim 1 is 3, not 2"));
  CHECK_THAT(t.to_mlir(), Catch::Matchers::Contains("tensor<?x2xf32>"));
}

TEST_CASE("to_mlir prints the ejit dialect", "[trace]") {
  Trace t = record({ones({2, 3}), ones({3}, DType::I32)}, [](const auto& a) {
    return matmul(transpose(a[0]), a[0]) + sum(a[1]).astype(DType::F32);
  });
  std::string ir = t.to_mlir("f");
  INFO(ir);
  REQUIRE_THAT(ir, Catch::Matchers::StartsWith("func.func @f(%arg0: tensor<2x3xf32>, %arg1: tensor<3xi32>) -> (tensor<3x3xf32>) {"));
  REQUIRE_THAT(ir, Catch::Matchers::Contains("ejit.permute %arg0 {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>"));
  REQUIRE_THAT(ir, Catch::Matchers::Contains("ejit.matmul"));
  REQUIRE_THAT(ir, Catch::Matchers::Contains("ejit.sum %arg1 {axes = array<i64: 0>, keepdims = false} : tensor<3xi32> -> tensor<i64>"));
  REQUIRE_THAT(ir, Catch::Matchers::Contains("ejit.cast"));
  REQUIRE_THAT(ir, Catch::Matchers::Contains("return"));
  Trace c = record({ones({2})}, [](const auto& a) { return a[0] + tensor({1.5f, NAN}); });
  REQUIRE_THAT(c.to_mlir(), Catch::Matchers::Contains("ejit.constant dense<[1.500000000e+00, 0x7FC00000]> : tensor<2xf32>"));
}
