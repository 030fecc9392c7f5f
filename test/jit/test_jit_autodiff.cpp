// Gradients under jit(): a training step's forward and backward compile together and give
// the eager step's numbers; jitted functions called under a tape are differentiated.
#include <ejit/autodiff.h>
#include <ejit/jit.h>

#include "test_util.h"

using namespace ejit;
using ejit::test::require_close;
using ejit::test::check_values;

namespace {

using Params = std::vector<Tensor>;  // w1, b1, w2, b2

std::vector<Tensor> sgd_step(const Tensor& x, const Tensor& labels, const Tensor& w1, const Tensor& b1,
                             const Tensor& w2, const Tensor& b2) {
  GradientTape tape;
  for (const Tensor* p : {&w1, &b1, &w2, &b2}) tape.watch(*p);
  Tensor h = relu(matmul(x, w1) + b1);
  Tensor loss = cross_entropy(matmul(h, w2) + b2, labels);
  std::vector<Tensor> g = tape.gradient(loss, {w1, b1, w2, b2});
  const float lr = 0.5f;
  return {loss, w1 - g[0] * lr, b1 - g[1] * lr, w2 - g[2] * lr, b2 - g[3] * lr};
}

}  // namespace

TEST_CASE("a jitted training step (forward + backward + SGD) compiles and equals the eager step", "[jit][autodiff]") {
  Tensor x = randn({64, 20}, 1);
  Tensor labels = cast(rand({64}, 2, DType::F32, 0.0, 5.0), DType::I64);
  Params eager = {randn({20, 32}, 3) * 0.3f, zeros({32}), randn({32, 5}, 4) * 0.3f, zeros({5})};
  Params compiled = eager;
  auto step = jit(sgd_step, "sgd_step");
  for (int it = 0; it < 5; ++it) {
    auto e = sgd_step(x, labels, eager[0], eager[1], eager[2], eager[3]);
    auto c = step(x, labels, compiled[0], compiled[1], compiled[2], compiled[3]);
    INFO("iteration " << it);
    require_close(c[0], e[0], 1e-5);
    for (int p = 0; p < 4; ++p) require_close(c[p + 1], e[p + 1], 1e-5);
    eager.assign(e.begin() + 1, e.end());
    compiled.assign(c.begin() + 1, c.end());
  }
  CacheStats s = step.stats();
  CHECK(s.misses == 1);
  CHECK(s.hits == 4);
  CHECK(s.eager_calls == 0);
  // Kernels for the elementwise work (cross-entropy's gather among them), the BLAS between them.
  std::string ir = step.ir(Stage::Linalg);
  CHECK_THAT(ir, Catch::Contains("kernels; between them the interpreter runs: matmul runs on the BLAS\n"));
  CHECK_THAT(ir, Catch::Contains("linalg.generic"));
  // The loss went down.
  CHECK(sgd_step(x, labels, compiled[0], compiled[1], compiled[2], compiled[3])[0].item<float>() <
        sgd_step(x, labels, randn({20, 32}, 3) * 0.3f, zeros({32}), randn({32, 5}, 4) * 0.3f, zeros({5}))[0].item<float>());
}

TEST_CASE("value_and_grad inside jit compiles, a jitted function under a tape is differentiated", "[jit][autodiff]") {
  auto loss = [](const Tensor& w, const Tensor& t) { return sum(square(tanh(t * w) - 0.5f)); };
  Tensor w = randn({3, 4}, 5), t = randn({3, 4}, 6);
  auto jitted_grad = jit([&](const Tensor& a, const Tensor& b) { return value_and_grad(loss)(a, b).second; });
  Tensor want = grad(loss)(w, t);
  jitted_grad(w, t);
  require_close(jitted_grad(w, t), want, 1e-5);
  CHECK(jitted_grad.stats().hits == 1);

  auto f = jit([&](const Tensor& a, const Tensor& b) { return loss(a, b); });
  f(w, t), f(w, t);  // compiled
  GradientTape tape;
  tape.watch(w);
  Tensor y = f(w, t);  // under a tape the function runs eagerly, so the tape sees its ops
  require_close(tape.gradient(y, {w})[0], want, 1e-6);
  CHECK(f.stats().eager_calls == 1);
  require_close(grad([&](const Tensor& a) { return f(a, t); })(w), want, 1e-6);
}

TEST_CASE("variables in jit: reads see the current value, assignments are written back", "[jit][variables]") {
  Variable scale(tensor({2.f, 3.f}), "scale");
  auto f = jit([&](const Tensor& x) { return x * scale; });
  Tensor x = tensor({1.f, 1.f});
  f(x);
  check_values(f(x), {2, 3});
  scale.assign(tensor({5.f, 7.f}));
  check_values(f(x), {5, 7});  // compiled code reads the variable's value of the moment
  CHECK(f.stats().hits == 2);

  Variable total(zeros({2}), "total", /*trainable=*/false);
  auto accumulate = jit([&](const Tensor& d) {
    total.assign(total.value() + d);
    return total.value() * 10.f;  // reads the value assigned above
  });
  for (int i = 1; i <= 4; ++i) check_values(accumulate(tensor({1.f, 0.5f})), {10.0 * i, 5.0 * i});
  check_values(total.value(), {4, 2});
  CHECK(accumulate.stats().hits == 3);
  CHECK_FALSE(accumulate.compare(1, tensor({1.f, 1.f})).reason.empty());
}

TEST_CASE("a jitted training step on Variables (tape watches them, assign_sub updates them) equals eager",
          "[jit][variables][autodiff]") {
  Tensor x = randn({32, 8}, 11);
  Tensor labels = cast(rand({32}, 12, DType::F32, 0.0, 3.0), DType::I64);
  auto make = [] {
    return std::vector<Variable>{Variable(randn({8, 16}, 13) * 0.3f, "w1"), Variable(zeros({16}), "b1"),
                                 Variable(randn({16, 3}, 14) * 0.3f, "w2"), Variable(zeros({3}), "b2")};
  };
  auto step_on = [](std::vector<Variable>& v) {
    return [&v](const Tensor& xb, const Tensor& yb) {
      GradientTape tape;
      Tensor loss = cross_entropy(matmul(relu(matmul(xb, v[0]) + v[1]), v[2]) + v[3], yb);
      std::vector<Tensor> g = tape.gradient(loss, v);
      for (size_t i = 0; i < v.size(); ++i) v[i].assign_sub(g[i] * 0.5f);
      return loss;
    };
  };
  std::vector<Variable> ve = make(), vj = make();
  auto eager = step_on(ve);
  auto step = jit(step_on(vj));
  for (int it = 0; it < 6; ++it) {
    INFO("iteration " << it);
    require_close(step(x, labels), eager(x, labels), 1e-5);
    for (size_t i = 0; i < ve.size(); ++i) require_close(vj[i].value(), ve[i].value(), 1e-5);
  }
  CHECK(step.stats().hits == 5);
  CHECK(step.stats().eager_calls == 0);
}

TEST_CASE("a jitted training step with an embedding: take's gradient (index_add, on the host) equals eager at every batch size",
          "[jit][autodiff][indexing]") {
  // Bag of words: embedding rows summed per example, a linear layer, cross-entropy. The
  // table's gradient is a scatter-add of the rows' gradients (repeats add up), an
  // interpreter step between the compiled kernels; the batch size varies, so jit() makes it
  // dynamic.
  auto make = [] { return std::vector<Variable>{Variable(randn({50, 8}, 21) * 0.3f, "table"), Variable(randn({8, 3}, 22) * 0.3f, "w")}; };
  auto step_on = [](std::vector<Variable>& v) {
    return [&v](const Tensor& ids, const Tensor& yb) {
      GradientTape tape;
      Tensor bags = sum(take(v[0], ids, 0), {1});  // (batch, words, 8) -> (batch, 8)
      Tensor loss = cross_entropy(matmul(bags, v[1]), yb);
      std::vector<Tensor> g = tape.gradient(loss, v);
      for (size_t i = 0; i < v.size(); ++i) v[i].assign_sub(g[i] * 0.5f);
      return loss;
    };
  };
  std::vector<Variable> ve = make(), vj = make();
  auto eager = step_on(ve);
  JitOptions dynamic;
  dynamic.dynamic = true;
  auto step = jit(step_on(vj), "bag_step", dynamic);
  for (int64_t batch : {16, 24, 24, 40, 9}) {
    INFO("batch " << batch);
    const Tensor ids = cast(floor(rand({batch, 5}, static_cast<uint64_t>(batch) + 100, DType::F32, -50.0, 49.99)), DType::I64);
    const Tensor labels = cast(floor(rand({batch}, static_cast<uint64_t>(batch) + 200, DType::F32, 0.0, 2.99)), DType::I64);
    require_close(step(ids, labels), eager(ids, labels), 1e-5);
    for (size_t i = 0; i < ve.size(); ++i) require_close(vj[i].value(), ve[i].value(), 1e-5);
  }
  CHECK(step.stats().misses == 2);  // the second batch size compiled code for every size
  CHECK(step.stats().eager_calls == 0);
  const std::string ir = step.ir(Stage::Linalg);
  CHECK_THAT(ir, Catch::Contains("index_add runs on the interpreter"));
  CHECK_THAT(ir, Catch::Contains("linalg.generic"));
  // A bad id fails the compiled call as it fails eagerly, and nothing is assigned.
  const Tensor before = vj[0].value() * 1.f;
  const Tensor bad = from_vector<int64_t>({1, 2, 3, 4, 50, 0, 0, 0, 0, 0}, {2, 5});
  CHECK(ejit::test::error_of([&] { step(bad, from_vector<int64_t>({0, 1}, {2})); }) ==
        ejit::test::error_of([&] { take(vj[0].value(), bad, 0); }));
  CHECK(vj[0].value().to_vector<float>() == before.to_vector<float>());
}
