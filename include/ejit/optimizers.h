// Optimizers (SGD with momentum, Adam, AdamW): updates written in ejit ops, state in Variables.
//
// The step counter ("iterations"), the learning rate ("learning_rate") and the slots (momentum,
// Adam's m and v) are non-trainable Variables, so they checkpoint, and a jitted training step
// reads and writes them on every call: apply_gradients() runs only ejit ops on tensors (no host
// reads), so inside jit() the whole update compiles and fuses with the step. Changing the
// learning rate (set_learning_rate) needs no recompilation.
//
// Slots are created on the first apply_gradients() for a variable, or up front by build()
// (so a checkpoint restore can fill them before the first step). Their paths are
// "slots/<key>/<slot>", where the key is the variable's path when built from a model or from
// named variables ("slots/dense/kernel/m"), else its index among the optimizer's variables.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ejit/tensor.h"
#include "ejit/trackable.h"
#include "ejit/variable.h"

namespace ejit::optim {

class Optimizer : public Trackable {
 public:
  Optimizer(std::string name, double learning_rate, std::vector<std::string> slot_names);
  ~Optimizer() override = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of each variable from its gradient (same shape); increments iterations first.
  /// An undefined gradient leaves its variable alone.
  void apply_gradients(const std::vector<Tensor>& grads, const std::vector<Variable>& vars);

  /// Creates the slots of vars not seen yet, keyed by their index.
  void build(const std::vector<Variable>& vars);
  /// Same, keyed by the given paths.
  void build(const std::vector<std::pair<std::string, Variable>>& named_vars);
  /// Same for the trainable variables of a model (a Module), keyed by their paths in it.
  void build(const Trackable& model);

  /// "iterations", "learning_rate", then "slots/<key>/<slot>" in the order variables were seen.
  std::vector<std::pair<std::string, Variable>> named_variables() const override;

  /// Number of apply_gradients() calls so far (i64 scalar variable).
  const Variable& iterations() const { return iterations_; }
  /// f32 scalar variable.
  const Variable& learning_rate() const { return lr_; }
  void set_learning_rate(double lr);
  const std::string& name() const { return name_; }

 protected:
  /// Updates var from grad (var's dtype) and its slots (in slot_names order). lr is a scalar
  /// of var's dtype; step is the iteration number (i64 scalar, 1 on the first step).
  virtual void update(Variable var, const Tensor& grad, std::vector<Variable>& slots, const Tensor& lr,
                      const Tensor& step) = 0;

 private:
  struct Entry {
    std::string key;
    Variable var;
    std::vector<Variable> slots;
  };
  Entry& entry_for(const Variable& v, const std::string& key);

  std::string name_;
  std::vector<std::string> slot_names_;
  Variable iterations_, lr_;
  std::vector<Entry> entries_;
};

/// Stochastic gradient descent, optionally with momentum (as PyTorch: buf = momentum * buf + g,
/// then var -= lr * buf, or lr * (g + momentum * buf) with nesterov). Slot: "momentum".
class SGD : public Optimizer {
 public:
  explicit SGD(double learning_rate = 0.01, double momentum = 0.0, bool nesterov = false);

 protected:
  void update(Variable var, const Tensor& grad, std::vector<Variable>& slots, const Tensor& lr,
              const Tensor& step) override;

 private:
  double momentum_;
  bool nesterov_;
};

/// Adam (Kingma & Ba) as PyTorch writes it: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
/// var -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps). Slots: "m", "v".
class Adam : public Optimizer {
 public:
  explicit Adam(double learning_rate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8);

 protected:
  Adam(std::string name, double learning_rate, double beta1, double beta2, double epsilon, double weight_decay);
  void update(Variable var, const Tensor& grad, std::vector<Variable>& slots, const Tensor& lr,
              const Tensor& step) override;

 private:
  double beta1_, beta2_, epsilon_, weight_decay_;
};

/// Adam with decoupled weight decay (Loshchilov & Hutter): var -= lr * weight_decay * var,
/// then the Adam step (as PyTorch's AdamW).
class AdamW : public Adam {
 public:
  explicit AdamW(double learning_rate = 1e-3, double weight_decay = 0.01, double beta1 = 0.9, double beta2 = 0.999,
                 double epsilon = 1e-8);
};

}  // namespace ejit::optim
