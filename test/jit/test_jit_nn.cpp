// Modules, optimizers and metrics inside jit(): a compiled training step equals the eager one,
// variables and optimizer slots included.
#include <ejit/autodiff.h>
#include <ejit/jit.h>
#include <ejit/metrics.h>
#include <ejit/nn.h>
#include <ejit/optimizers.h>

#include "test_util.h"

using namespace ejit;
using ejit::test::require_close;

namespace {

/// Every variable of both objects equal (same paths, values within tol).
void require_same_state(const Trackable& got, const Trackable& want, double tol) {
  auto g = got.named_variables(), w = want.named_variables();
  REQUIRE(g.size() == w.size());
  for (size_t i = 0; i < g.size(); ++i) {
    INFO("variable " << w[i].first);
    REQUIRE(g[i].first == w[i].first);
    require_close(g[i].second, w[i].second, tol);
  }
}

std::shared_ptr<nn::Sequential> mlp(double dropout) {
  auto m = std::make_shared<nn::Sequential>();
  m->add(std::make_shared<nn::Dense>(8, 32, nn::Activation::Relu, true, 1));
  if (dropout > 0) m->add(std::make_shared<nn::Dropout>(dropout, 7));
  m->add(std::make_shared<nn::Dense>(32, 3, nn::Activation::None, true, 2));
  return m;
}

/// One training step: forward, gradients of every trainable variable, optimizer update.
auto train_step(nn::Module& model, optim::Optimizer& opt) {
  return [&model, &opt](const Tensor& x, const Tensor& labels) {
    GradientTape tape;
    Tensor loss = cross_entropy(model(x), labels);
    std::vector<Variable> vars = model.trainable_variables();
    opt.apply_gradients(tape.gradient(loss, vars), vars);
    return loss;
  };
}

}  // namespace

TEST_CASE("a jitted training step of a Sequential MLP with Adam equals the eager step", "[jit][nn]") {
  Tensor x = randn({32, 8}, 21);
  Tensor labels = cast(rand({32}, 22, DType::F32, 0.0, 3.0), DType::I64);
  auto model_e = mlp(0), model_j = mlp(0);
  optim::Adam opt_e(0.01), opt_j(0.01);  // slots are created during the first (recording) call
  auto eager = train_step(*model_e, opt_e);
  auto step = jit(train_step(*model_j, opt_j));
  for (int it = 0; it < 6; ++it) {
    INFO("iteration " << it);
    require_close(step(x, labels), eager(x, labels), 1e-5);
    require_same_state(*model_j, *model_e, 1e-5);
    require_same_state(opt_j, opt_e, 1e-5);
  }
  CHECK(opt_j.iterations().value().item<int64_t>() == 6);
  CacheStats s = step.stats();
  CHECK(s.misses == 1);
  CHECK(s.hits == 5);
  CHECK(s.eager_calls == 0);
  CHECK_THAT(step.ir(Stage::Linalg), Catch::Contains("linalg.generic"));
}

TEST_CASE("jitted steps with SGD momentum, AdamW, a learning-rate change and dropout equal eager", "[jit][nn]") {
  Tensor x = randn({16, 8}, 31);
  Tensor labels = cast(rand({16}, 32, DType::F32, 0.0, 3.0), DType::I64);
  auto model_e = mlp(0.3), model_j = mlp(0.3);
  optim::SGD sgd_e(0.1, 0.9, true), sgd_j(0.1, 0.9, true);
  optim::AdamW adamw_e(0.01, 0.1), adamw_j(0.01, 0.1);
  for (auto [o, m] : {std::pair<optim::Optimizer*, nn::Module*>{&sgd_j, model_j.get()}, {&adamw_j, model_j.get()},
                      {&sgd_e, model_e.get()}, {&adamw_e, model_e.get()}})
    o->build(*m);
  metrics::Mean loss_e, loss_j;
  metrics::SparseCategoricalAccuracy acc_e, acc_j;
  auto step_on = [](nn::Module& m, optim::Optimizer& a, optim::Optimizer& b, metrics::Mean& lm,
                    metrics::SparseCategoricalAccuracy& am) {
    return [&](const Tensor& xb, const Tensor& yb) {
      GradientTape tape;
      Tensor logits = m(xb);
      Tensor loss = cross_entropy(logits, yb);
      std::vector<Variable> vars = m.trainable_variables();
      std::vector<Tensor> g = tape.gradient(loss, vars);
      // First layer by SGD, the rest by AdamW.
      a.apply_gradients({g[0], g[1]}, {vars[0], vars[1]});
      b.apply_gradients({g[2], g[3]}, {vars[2], vars[3]});
      lm.update_state(loss);
      am.update_state(yb, logits);
      return logits;
    };
  };
  auto eager = step_on(*model_e, sgd_e, adamw_e, loss_e, acc_e);
  auto step = jit(step_on(*model_j, sgd_j, adamw_j, loss_j, acc_j));
  Tensor previous;
  for (int it = 0; it < 5; ++it) {
    INFO("iteration " << it);
    if (it == 3) {
      sgd_e.set_learning_rate(0.05);
      sgd_j.set_learning_rate(0.05);
    }
    Tensor out = step(x, labels);
    require_close(out, eager(x, labels), 1e-5);
    require_same_state(*model_j, *model_e, 1e-5);
    require_same_state(sgd_j, sgd_e, 1e-5);
    require_same_state(adamw_j, adamw_e, 1e-5);
    require_close(loss_j.result(), loss_e.result(), 1e-5);
    require_close(acc_j.result(), acc_e.result(), 1e-6);
  }
  CHECK(step.stats().hits == 4);
  CHECK(step.stats().eager_calls == 0);
  // The dropout counter advanced on every compiled call.
  CHECK(model_j->named_variables()[2].first == "dropout/step");
  CHECK(model_j->named_variables()[2].second.value().item<double>() == 5);
}
