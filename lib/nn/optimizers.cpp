// Optimizers: slot bookkeeping and the SGD / Adam / AdamW updates in ejit ops.
#include "ejit/optimizers.h"

#include "../support/check.h"
#include "../core/observer.h"
#include "ejit/ops.h"

namespace ejit::optim {

Optimizer::Optimizer(std::string name, double learning_rate, std::vector<std::string> slot_names)
    : name_(std::move(name)), slot_names_(std::move(slot_names)) {
  if (!(learning_rate >= 0.0)) fail(name_, "learning rate must be >= 0, got {}", learning_rate);
  detail::PauseRecording pause;  // constants of the constructor, never part of a trace
  iterations_ = Variable(scalar(int64_t{0}), "iterations", /*trainable=*/false);
  lr_ = Variable(scalar(static_cast<float>(learning_rate)), "learning_rate", /*trainable=*/false);
}

void Optimizer::set_learning_rate(double lr) {
  if (!(lr >= 0.0)) fail(name_, "learning rate must be >= 0, got {}", lr);
  lr_.assign(scalar(static_cast<float>(lr)));
}

Optimizer::Entry& Optimizer::entry_for(const Variable& v, const std::string& key) {
  if (!v.defined()) fail(name_, "undefined variable");
  for (Entry& e : entries_)
    if (e.var.same(v)) return e;
  for (const Entry& e : entries_)
    if (e.key == key) fail(name_, "two variables under the slot key '{}'", key);
  if (!is_floating(v.dtype())) fail(name_, "variable '{}' is {}{}, not a float", v.name(), v.dtype(), v.shape());
  Entry e{key, v, {}};
  // Zeros made here must not enter a trace being recorded: the slot's first read then binds
  // the trace input to the slot, so compiled replays read its current value.
  detail::PauseRecording pause;
  DeviceScope beside(v.value().device());  // slots live where their variable does
  for (const std::string& s : slot_names_)
    e.slots.emplace_back(zeros(v.shape(), v.dtype()), key + "/" + s, /*trainable=*/false);
  entries_.push_back(std::move(e));
  return entries_.back();
}

void Optimizer::build(const std::vector<Variable>& vars) {
  for (const Variable& v : vars) entry_for(v, std::to_string(entries_.size()));
}

void Optimizer::build(const std::vector<std::pair<std::string, Variable>>& named_vars) {
  for (const auto& [path, v] : named_vars) entry_for(v, path);
}

void Optimizer::build(const Trackable& model) {
  std::vector<std::pair<std::string, Variable>> trainable;
  for (auto& [path, v] : model.named_variables())
    if (v.trainable()) trainable.emplace_back(path, v);
  build(trainable);
}

std::vector<std::pair<std::string, Variable>> Optimizer::named_variables() const {
  std::vector<std::pair<std::string, Variable>> out{{"iterations", iterations_}, {"learning_rate", lr_}};
  for (const Entry& e : entries_)
    for (size_t i = 0; i < e.slots.size(); ++i) out.emplace_back("slots/" + e.key + "/" + slot_names_[i], e.slots[i]);
  return out;
}

void Optimizer::apply_gradients(const std::vector<Tensor>& grads, const std::vector<Variable>& vars) {
  if (grads.size() != vars.size()) fail(name_, "{} gradients for {} variables", grads.size(), vars.size());
  for (size_t i = 0; i < vars.size(); ++i) {
    if (!grads[i].defined()) continue;
    const Variable& v = vars[i];
    entry_for(v, std::to_string(entries_.size()));
    if (grads[i].shape() != v.shape())
      fail(name_, "gradient of shape {} for variable '{}' of shape {}", grads[i].shape(), v.name(), v.shape());
  }
  iterations_.assign_add(scalar(int64_t{1}));
  Tensor step = iterations_.value(), lr = lr_.value();
  Tensor lr_as[2];  // lr cast to f32, f64 (once each)
  for (size_t i = 0; i < vars.size(); ++i) {
    if (!grads[i].defined()) continue;
    Variable v = vars[i];
    DType d = v.dtype();
    int k = d == DType::F64;
    if (!lr_as[k].defined()) lr_as[k] = lr.dtype() == d ? lr : cast(lr, d);
    Tensor g = grads[i].dtype() == d ? grads[i] : cast(grads[i], d);
    update(v, g, entry_for(v, "").slots, lr_as[k], step);
  }
}

// ---- SGD ----

SGD::SGD(double learning_rate, double momentum, bool nesterov)
    : Optimizer("sgd", learning_rate, momentum != 0.0 ? std::vector<std::string>{"momentum"} : std::vector<std::string>{}),
      momentum_(momentum),
      nesterov_(nesterov) {
  if (!(momentum >= 0.0)) fail("sgd", "momentum must be >= 0, got {}", momentum);
  if (nesterov && momentum == 0.0) fail("sgd", "nesterov needs a momentum > 0");
}

void SGD::update(Variable var, const Tensor& grad, std::vector<Variable>& slots, const Tensor& lr,
                 const Tensor&) {
  if (slots.empty()) {
    var.assign(var.value() - lr * grad);
    return;
  }
  Tensor buf = slots[0].value() * momentum_ + grad;
  slots[0].assign(buf);
  var.assign(var.value() - lr * (nesterov_ ? grad + buf * momentum_ : buf));
}

// ---- Adam, AdamW ----

Adam::Adam(double learning_rate, double beta1, double beta2, double epsilon)
    : Adam("adam", learning_rate, beta1, beta2, epsilon, 0.0) {}

Adam::Adam(std::string name, double learning_rate, double beta1, double beta2, double epsilon, double weight_decay)
    : Optimizer(std::move(name), learning_rate, {"m", "v"}),
      beta1_(beta1),
      beta2_(beta2),
      epsilon_(epsilon),
      weight_decay_(weight_decay) {
  if (!(beta1 >= 0.0 && beta1 < 1.0) || !(beta2 >= 0.0 && beta2 < 1.0))
    fail(this->name(), "betas must be in [0, 1), got {} and {}", beta1, beta2);
  if (!(epsilon >= 0.0)) fail(this->name(), "epsilon must be >= 0, got {}", epsilon);
  if (!(weight_decay >= 0.0)) fail(this->name(), "weight decay must be >= 0, got {}", weight_decay);
}

void Adam::update(Variable var, const Tensor& grad, std::vector<Variable>& slots, const Tensor& lr,
                  const Tensor& step) {
  Tensor m = slots[0].value() * beta1_ + grad * (1.0 - beta1_);
  Tensor v = slots[1].value() * beta2_ + square(grad) * (1.0 - beta2_);
  slots[0].assign(m);
  slots[1].assign(v);
  // Bias corrections in f64 (1 - 0.999^t loses digits in f32), then in var's dtype.
  Tensor t = cast(step, DType::F64);
  Tensor m_hat = m / cast(1.0 - pow(beta1_, t), var.dtype());
  Tensor v_hat = v / cast(1.0 - pow(beta2_, t), var.dtype());
  Tensor w = var.value();
  if (weight_decay_ != 0.0) w = w - lr * weight_decay_ * w;  // decoupled: not part of the gradient
  var.assign(w - lr * m_hat / (sqrt(v_hat) + epsilon_));
}

AdamW::AdamW(double learning_rate, double weight_decay, double beta1, double beta2, double epsilon)
    : Adam("adamw", learning_rate, beta1, beta2, epsilon, weight_decay) {}

}  // namespace ejit::optim
