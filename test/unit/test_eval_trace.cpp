// eval_trace: a recorded trace run on new inputs gives what the function gives eagerly.
#include <functional>

#include "test_util.h"

using namespace ejit;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

using Fn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

Trace record(const Fn& fn, const std::vector<Tensor>& args) { return test::record_trace(fn, args); }

/// Records fn on `first`, then checks eval_trace on `second` against fn(second), bit for bit.
void check_replay(const Fn& fn, const std::vector<Tensor>& first, const std::vector<Tensor>& second) {
  Trace t = record(fn, first);
  std::vector<Tensor> want = fn(second), got = eval_trace(t, second);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("output " << i);
    REQUIRE(got[i].shape() == want[i].shape());
    REQUIRE(got[i].dtype() == want[i].dtype());
    REQUIRE(got[i].to_vector<double>() == want[i].to_vector<double>());
  }
}

}  // namespace

TEST_CASE("eval_trace: an MLP forward on new inputs", "[eval_trace]") {
  Fn mlp = [](const std::vector<Tensor>& a) {
    Tensor h = relu(matmul(a[0], a[1]) + a[2]);
    return std::vector<Tensor>{softmax(matmul(h, a[3]))};
  };
  auto inputs = [](uint64_t seed) {
    return std::vector<Tensor>{randn({8, 16}, seed), randn({16, 32}, seed + 1), randn({32}, seed + 2),
                               randn({32, 10}, seed + 3)};
  };
  check_replay(mlp, inputs(1), inputs(100));
}

TEST_CASE("eval_trace: layer norm, reductions and several outputs", "[eval_trace]") {
  Fn fn = [](const std::vector<Tensor>& a) {
    Tensor y = layer_norm(a[0], a[1], a[2]);
    return std::vector<Tensor>{y, sum(y * y, {0}), argmax(a[0], 1), mean(a[0]), max(a[0], {0, 1}) > 0.5f};
  };
  auto inputs = [](uint64_t seed) {
    return std::vector<Tensor>{randn({6, 12}, seed), rand({12}, seed + 1), randn({12}, seed + 2)};
  };
  check_replay(fn, inputs(3), inputs(30));
}

TEST_CASE("eval_trace: shape and indexing ops, integers and bools", "[eval_trace]") {
  Fn fn = [](const std::vector<Tensor>& a) {
    const Tensor& x = a[0];
    Tensor r = slice(x, 1, {}, {}, -2);                               // negative step to the start
    Tensor s = slice(x, 0, 1, 4, 2);
    Tensor c = concat({r, slice(x, 1, 0, 3)}, 1);
    Tensor p = pad(transpose(c), {{1, 0}, {0, 2}}, 1.5);
    Tensor t = take(x, a[1], 1);
    Tensor g = gather(x, a[2], 1);
    Tensor w = where(x > 0, x, a[3] * 2);
    Tensor b = broadcast_to(reshape(s, {1, 2, 6}), {3, 2, 6});
    Tensor i = cast(a[3], DType::I64) % 3 + pad(a[3], {{0, 0}, {0, 0}}, 7);
    return std::vector<Tensor>{r, c, p, t, g, w, b, i, logical_not(a[4]) || a[4], sum(a[4])};
  };
  auto inputs = [](uint64_t seed) {
    return std::vector<Tensor>{randn({5, 6}, seed), tensor({4, 0, -1, 2}), cast(rand({5, 2}, seed, DType::F32, 0, 6), DType::I64),
                               cast(rand({5, 6}, seed + 1, DType::F32, -9, 9), DType::I32), rand({5, 6}, seed + 2) > 0.5f};
  };
  check_replay(fn, inputs(5), inputs(50));
}

TEST_CASE("eval_trace: clear errors for the wrong inputs", "[eval_trace]") {
  Trace t = record([](const std::vector<Tensor>& a) { return std::vector<Tensor>{exp(a[0]) + a[1]}; },
                   {ones({2, 3}), ones({3})});
  REQUIRE_THROWS_WITH(eval_trace(t, {ones({2, 3})}), StartsWith("[eval_trace] the trace takes 2 inputs, 1 given"));
  REQUIRE_THROWS_WITH(eval_trace(t, {ones({2, 3}), ones({4})}),
                      StartsWith("[eval_trace] input 1 is (4,) f32, the trace takes (3,) f32"));
  REQUIRE_THROWS_WITH(eval_trace(t, {ones({2, 3}), ones({3}, DType::F64)}), Contains("input 1 is (3,) f64"));
  REQUIRE(eval_trace(t, {zeros({2, 3}), ones({3})})[0].to_vector<float>() == std::vector<float>(6, 2.f));
}

TEST_CASE("eval_trace: a node whose result is not the type the trace declares is an error", "[eval_trace]") {
  Trace t = record([](const std::vector<Tensor>& a) { return std::vector<Tensor>{matmul(a[0], a[1]) + 1.f}; },
                   {ones({2, 3}), ones({3, 4})});
  for (TraceNode& n : t.nodes)
    if (n.kind == NodeKind::MatMul) t.values[n.output].shape = Shape{2, 5};  // a forged file's claim
  REQUIRE_THROWS_WITH(eval_trace(t, {ones({2, 3}), ones({3, 4})}),
                      StartsWith("[eval_trace] 'matmul' (value 2) gave (2,4) f32, the trace says (2,5) f32"));
}
