// Modules and layers: objects that own variables under path names (Dense, Sequential,
// LayerNorm, Dropout, Embedding) and the seeded initializers behind them.
//
// A Module tracks the variables and sub-modules registered on it, in registration order, and
// names them by path ("encoder/dense_1/kernel"). Sub-modules are held by std::shared_ptr, so a
// layer can be shared between parents; a Variable handle shares its variable, so weights can
// be tied by registering the same Variable twice (it is listed once, under its first path).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ejit/ops.h"
#include "ejit/tensor.h"
#include "ejit/trackable.h"
#include "ejit/variable.h"

namespace ejit::nn {

// ---- seeds and initializers ----

/// Restarts the sequence of seeds given to layers built without one (s, s+1, ...; default 1).
void manual_seed(uint64_t seed);
/// The next seed of that sequence.
uint64_t next_seed();

/// Glorot (Xavier) uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)).
Tensor glorot_uniform(const Shape& shape, int64_t fan_in, int64_t fan_out, uint64_t seed, DType dtype = DType::F32);
/// He (Kaiming) normal: N(0, 2 / fan_in).
Tensor he_normal(const Shape& shape, int64_t fan_in, uint64_t seed, DType dtype = DType::F32);

// ---- Module ----

class Module : public Trackable {
 public:
  /// type_name names the kind of module ("dense"); parents derive automatic child names from it.
  explicit Module(std::string type_name = "module");
  ~Module() override = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The computation; the base class has none (throws).
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

  /// Creates and tracks a variable named `name` (unique among this module's entries, no '/').
  Variable add_variable(const std::string& name, const Tensor& initial, bool trainable = true);
  /// Tracks an existing variable (shared, e.g. tied weights) under `name`.
  Variable add_variable(const std::string& name, const Variable& v);
  /// Tracks a sub-module under `name`; an empty name becomes the module's type name, numbered
  /// when taken ("dense", "dense_1", "dense_2", ...). Returns m.
  template <class M> std::shared_ptr<M> register_module(std::shared_ptr<M> m, std::string name = "") {
    static_assert(std::is_base_of_v<Module, M>, "register_module takes a Module");
    add_module(m, std::move(name));
    return m;
  }

  /// Every variable by path, depth first in registration order; a shared one only once.
  std::vector<std::pair<std::string, Variable>> named_variables() const override;
  std::vector<Variable> variables() const;
  std::vector<Variable> trainable_variables() const;
  /// Direct sub-modules by name, in registration order.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children() const;

  const std::string& type_name() const { return type_name_; }
  /// Training mode (the default) for this module and its sub-modules; eval() turns it off.
  /// The mode is C++ state: a jitted function keeps the mode it was recorded in, so jit the
  /// training step and the inference function separately.
  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }

 private:
  struct Entry {
    std::string name;
    Variable variable;               // defined for a variable entry
    std::shared_ptr<Module> module;  // set for a module entry
  };
  void add_module(std::shared_ptr<Module> m, std::string name);
  void check_new_name(const std::string& name) const;
  void collect(const std::string& prefix, std::vector<std::pair<std::string, Variable>>& out) const;

  std::string type_name_;
  std::vector<Entry> entries_;
  bool training_ = true;
};

// ---- layers ----

enum class Activation { None, Relu, Tanh, Sigmoid, Gelu, Softmax };
using ActivationFn = std::function<Tensor(const Tensor&)>;
/// The function of an activation (empty for None).
ActivationFn activation_fn(Activation a);

enum class Init { GlorotUniform, HeNormal };

/// y = activation(x @ kernel + bias); x is (..., in), kernel (in, out), bias (out).
class Dense : public Module {
 public:
  /// Kernel from `init` with `seed` (next_seed() when absent), bias zeros.
  Dense(int64_t in, int64_t out, Activation activation = Activation::None, bool use_bias = true,
        std::optional<uint64_t> seed = std::nullopt, Init init = Init::GlorotUniform);
  Dense(int64_t in, int64_t out, ActivationFn activation, bool use_bias = true,
        std::optional<uint64_t> seed = std::nullopt, Init init = Init::GlorotUniform);
  Tensor forward(const Tensor& x) override;
  Variable kernel() const { return kernel_; }
  /// Undefined without use_bias.
  Variable bias() const { return bias_; }

 private:
  int64_t in_, out_;
  ActivationFn activation_;
  Variable kernel_, bias_;
};

/// Runs its layers in order; they are named automatically ("dense", "dense_1", "dropout").
class Sequential : public Module {
 public:
  Sequential() : Module("sequential") {}
  explicit Sequential(const std::vector<std::shared_ptr<Module>>& layers);
  /// Appends a layer (named from its type when `name` is empty).
  Sequential& add(std::shared_ptr<Module> layer, std::string name = "");
  Tensor forward(const Tensor& x) override;
  size_t size() const { return layers_.size(); }
  const std::shared_ptr<Module>& operator[](size_t i) const { return layers_.at(i); }

 private:
  std::vector<std::shared_ptr<Module>> layers_;
};

/// Layer normalization over the trailing dims `normalized_shape`, with learned gamma (ones)
/// and beta (zeros) when affine.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool affine = true);
  explicit LayerNorm(int64_t dim, double eps = 1e-5, bool affine = true) : LayerNorm(Shape{dim}, eps, affine) {}
  Tensor forward(const Tensor& x) override;
  Variable gamma() const { return gamma_; }
  Variable beta() const { return beta_; }

 private:
  Shape shape_;
  double eps_;
  Variable gamma_, beta_;
};

/// In training, zeroes each element with probability `rate` and scales the rest by
/// 1 / (1 - rate); at inference (eval()) it is the identity.
///
/// The mask of call t is u >= rate with u = frac(a + t * b), where a and b are f64 Philox
/// uniforms (rand(shape, seed) and rand(shape, seed ^ 0x9E3779B97F4A7C15)) and t is the
/// non-trainable variable "step", incremented by each training call. Because t is a variable,
/// a jitted step draws a new mask on every call, the same as the eager step's. Elements are independent, and so are
/// an element's masks in any two calls (frac(k * b) is uniform for k != 0); the sequence over
/// many calls is not (it is a rotation by b).
class Dropout : public Module {
 public:
  explicit Dropout(double rate, std::optional<uint64_t> seed = std::nullopt);
  Tensor forward(const Tensor& x) override;
  double rate() const { return rate_; }

 private:
  double rate_;
  uint64_t seed_;
  Variable step_;
};

/// Looks up rows of a (num_embeddings, dim) table for integer indices: take(table, indices).
class Embedding : public Module {
 public:
  /// Table initialized uniformly in [-0.05, 0.05) from `seed` (next_seed() when absent).
  Embedding(int64_t num_embeddings, int64_t dim, std::optional<uint64_t> seed = std::nullopt);
  Tensor forward(const Tensor& indices) override;
  Variable embeddings() const { return table_; }

 private:
  Variable table_;
};

}  // namespace ejit::nn
