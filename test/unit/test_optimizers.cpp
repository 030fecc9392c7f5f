// Optimizers against hand-computed steps (scalar references in double), slots and their paths.
#include <ejit/nn.h>
#include <ejit/optimizers.h>

#include <cmath>

#include "test_util.h"

using namespace ejit;
using ejit::test::error_of;
using ejit::test::check_values;

namespace {

/// Three steps' gradients for a two-element variable starting at w0.
const std::vector<double> w0 = {1.0, -2.0};
const std::vector<std::vector<double>> grads = {{0.5, -1.0}, {0.2, 0.3}, {-0.4, 0.1}};

Tensor as_f32(const std::vector<double>& v) { return from_vector(std::vector<float>(v.begin(), v.end()), {2}); }

/// Adam/AdamW as PyTorch writes it, one element.
struct AdamRef {
  double lr, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0;
  double m = 0, v = 0;
  int t = 0;
  double step(double w, double g) {
    ++t;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    double m_hat = m / (1 - std::pow(b1, t)), v_hat = v / (1 - std::pow(b2, t));
    w -= lr * wd * w;
    return w - lr * m_hat / (std::sqrt(v_hat) + eps);
  }
};

}  // namespace

TEST_CASE("SGD: var -= lr * g", "[optim]") {
  Variable w(as_f32(w0), "w");
  optim::SGD opt(0.1);
  opt.apply_gradients({as_f32(grads[0])}, {w});
  check_values(w, {0.95, -1.9});
  opt.apply_gradients({as_f32(grads[1])}, {w});
  check_values(w, {0.93, -1.93});
  CHECK(opt.iterations().value().item<int64_t>() == 2);
  CHECK(opt.named_variables().size() == 2);  // no slots without momentum
}

TEST_CASE("SGD with momentum and with Nesterov momentum", "[optim]") {
  for (bool nesterov : {false, true}) {
    INFO("nesterov " << nesterov);
    Variable w(as_f32(w0), "w");
    optim::SGD opt(0.1, 0.9, nesterov);
    std::vector<double> ref = w0, buf = {0, 0};
    for (const auto& g : grads) {
      opt.apply_gradients({as_f32(g)}, {w});
      for (int i = 0; i < 2; ++i) {
        buf[i] = 0.9 * buf[i] + g[i];
        ref[i] -= 0.1 * (nesterov ? g[i] + 0.9 * buf[i] : buf[i]);
      }
      check_values(w, ref, 1e-6, 1e-6);
    }
    // By hand, without Nesterov: buf = g1 + 0.9 g2 ... w0[0] - 0.1 * (0.5 + (0.45 + 0.2) + (0.585 - 0.4)).
    if (!nesterov) CHECK(std::fabs(w.value().at<float>({0}) - (1.0 - 0.1 * (0.5 + 0.65 + 0.185))) < 1e-6);
    auto named = opt.named_variables();
    REQUIRE(named.size() == 3);
    CHECK(named[2].first == "slots/0/momentum");
    check_values(named[2].second, buf, 1e-6, 1e-6);
    CHECK_FALSE(named[2].second.trainable());
  }
  CHECK_THAT(error_of([] { optim::SGD(0.1, 0.0, true); }), Catch::StartsWith("[sgd] nesterov needs a momentum > 0"));
}

TEST_CASE("Adam: first step moves by lr * sign(g), three steps with bias correction", "[optim]") {
  Variable w(as_f32(w0), "w");
  optim::Adam opt(0.01);
  opt.apply_gradients({as_f32(grads[0])}, {w});
  check_values(w, {1.0 - 0.01, -2.0 + 0.01}, 1e-6, 1e-6);  // m_hat / sqrt(v_hat) = sign(g)

  Variable w2(as_f32(w0), "w2");
  optim::Adam opt2(0.01);
  AdamRef r0{0.01}, r1{0.01};
  std::vector<double> ref = w0;
  for (const auto& g : grads) {
    opt2.apply_gradients({as_f32(g)}, {w2});
    ref = {r0.step(ref[0], g[0]), r1.step(ref[1], g[1])};
    check_values(w2, ref, 1e-6, 1e-6);
  }
  auto named = opt2.named_variables();
  REQUIRE(named.size() == 4);
  CHECK(named[0].first == "iterations");
  CHECK(named[0].second.value().item<int64_t>() == 3);
  CHECK(named[1].first == "learning_rate");
  CHECK(named[2].first == "slots/0/m");
  CHECK(named[3].first == "slots/0/v");
  check_values(named[2].second, {r0.m, r1.m}, 1e-6, 1e-7);
  check_values(named[3].second, {r0.v, r1.v}, 1e-6, 1e-9);
}

TEST_CASE("AdamW decays weights decoupled from the gradient", "[optim]") {
  // A zero gradient leaves only the decay: w * (1 - lr * wd)^t.
  Variable w(as_f32(w0), "w");
  optim::AdamW opt(0.1, 0.5);
  for (int t = 1; t <= 3; ++t) {
    opt.apply_gradients({zeros({2})}, {w});
    double f = std::pow(1 - 0.1 * 0.5, t);
    check_values(w, {w0[0] * f, w0[1] * f}, 1e-6, 1e-7);
  }
  Variable w2(as_f32(w0), "w2");
  optim::AdamW opt2(0.01, 0.1);
  AdamRef r0{0.01, 0.9, 0.999, 1e-8, 0.1}, r1 = r0;
  std::vector<double> ref = w0;
  for (const auto& g : grads) {
    opt2.apply_gradients({as_f32(g)}, {w2});
    ref = {r0.step(ref[0], g[0]), r1.step(ref[1], g[1])};
    check_values(w2, ref, 1e-6, 1e-6);
  }
}

TEST_CASE("optimizers: f64 variables, several variables, undefined gradients, learning-rate changes", "[optim]") {
  Variable a(tensor({1.0, 2.0}), "a"), b(tensor({3.f}), "b");
  optim::SGD opt(0.5);
  opt.apply_gradients({tensor({1.0, 1.0}), Tensor()}, {a, b});
  check_values(a, {0.5, 1.5});
  check_values(b, {3});
  CHECK(a.dtype() == DType::F64);
  opt.set_learning_rate(0.25);
  CHECK(opt.learning_rate().value().item<double>() == 0.25);
  opt.apply_gradients({tensor({1.f, 1.f}), tensor({4.f})}, {a, b});  // f32 gradient for an f64 variable
  check_values(a, {0.25, 1.25});
  check_values(b, {2});

  CHECK_THAT(error_of([&] { opt.apply_gradients({tensor({1.f})}, {a, b}); }),
             Catch::StartsWith("[sgd] 1 gradients for 2 variables"));
  CHECK_THAT(error_of([&] { opt.apply_gradients({ones({3}), ones({1})}, {a, b}); }),
             Catch::StartsWith("[sgd] gradient of shape (3,) for variable 'a' of shape (2,)"));
  Variable ints(tensor({1, 2}), "ints");
  CHECK_THAT(error_of([&] { optim::Adam().apply_gradients({ones({2})}, {ints}); }),
             Catch::StartsWith("[adam] variable 'ints' is i32(2,), not a float"));
}

TEST_CASE("build() creates slots up front, keyed by the model's paths", "[optim]") {
  nn::Sequential model({std::make_shared<nn::Dense>(3, 4, nn::Activation::Relu, true, 1),
                        std::make_shared<nn::Dense>(4, 2, nn::Activation::None, false, 2)});
  optim::Adam opt;
  opt.build(model);
  std::vector<std::string> names;
  for (auto& [p, v] : opt.named_variables()) names.push_back(p);
  CHECK(names == std::vector<std::string>{"iterations", "learning_rate", "slots/dense/kernel/m",
                                          "slots/dense/kernel/v", "slots/dense/bias/m", "slots/dense/bias/v",
                                          "slots/dense_1/kernel/m", "slots/dense_1/kernel/v"});
  // A training step uses those slots (no new ones) and lowers the loss.
  Tensor x = randn({8, 3}, 5);
  Tensor labels = tensor({0, 1, 0, 1, 0, 1, 0, 1});
  auto loss_of = [&] { return cross_entropy(model(x), labels); };
  double first = loss_of().item<double>();
  for (int i = 0; i < 20; ++i) {
    GradientTape tape;
    Tensor loss = loss_of();
    opt.apply_gradients(tape.gradient(loss, model.trainable_variables()), model.trainable_variables());
  }
  CHECK(opt.named_variables().size() == names.size());
  CHECK(loss_of().item<double>() < first);
  CHECK(max(abs(opt.named_variables()[2].second.value())).item<double>() > 0);

  optim::Adam by_index;
  by_index.build(model.trainable_variables());
  CHECK(by_index.named_variables()[2].first == "slots/0/m");
}
