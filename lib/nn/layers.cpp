// Layers (Dense, Sequential, LayerNorm, Dropout, Embedding), activations, seeds, initializers.
#include <atomic>
#include <cmath>

#include "../support/check.h"
#include "ejit/nn.h"

namespace ejit::nn {

namespace {
std::atomic<uint64_t> g_seed{1};
}  // namespace

void manual_seed(uint64_t seed) { g_seed = seed; }
uint64_t next_seed() { return g_seed++; }

Tensor glorot_uniform(const Shape& shape, int64_t fan_in, int64_t fan_out, uint64_t seed, DType dtype) {
  if (fan_in + fan_out <= 0) fail("glorot_uniform", "fan_in + fan_out must be positive, got {} + {}", fan_in, fan_out);
  double a = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return rand(shape, seed, dtype, -a, a);
}

Tensor he_normal(const Shape& shape, int64_t fan_in, uint64_t seed, DType dtype) {
  if (fan_in <= 0) fail("he_normal", "fan_in must be positive, got {}", fan_in);
  return randn(shape, seed, dtype) * std::sqrt(2.0 / static_cast<double>(fan_in));
}

ActivationFn activation_fn(Activation a) {
  switch (a) {
    case Activation::None: return {};
    case Activation::Relu: return [](const Tensor& x) { return relu(x); };
    case Activation::Tanh: return [](const Tensor& x) { return tanh(x); };
    case Activation::Sigmoid: return [](const Tensor& x) { return sigmoid(x); };
    case Activation::Gelu: return [](const Tensor& x) { return gelu(x); };
    case Activation::Softmax: return [](const Tensor& x) { return softmax(x, -1); };
  }
  return {};
}

// ---- Dense ----

Dense::Dense(int64_t in, int64_t out, Activation activation, bool use_bias, std::optional<uint64_t> seed, Init init)
    : Dense(in, out, activation_fn(activation), use_bias, seed, init) {}

Dense::Dense(int64_t in, int64_t out, ActivationFn activation, bool use_bias, std::optional<uint64_t> seed, Init init)
    : Module("dense"), in_(in), out_(out), activation_(std::move(activation)) {
  if (in <= 0 || out <= 0) fail("dense", "sizes must be positive, got in={} out={}", in, out);
  uint64_t s = seed ? *seed : next_seed();
  Tensor k = init == Init::HeNormal ? he_normal({in, out}, in, s) : glorot_uniform({in, out}, in, out, s);
  kernel_ = add_variable("kernel", k);
  if (use_bias) bias_ = add_variable("bias", zeros({out}));
}

Tensor Dense::forward(const Tensor& x) {
  if (x.rank() < 1 || x.dim(-1) != in_)
    fail("dense", "input of shape {} does not fit the kernel of shape {}: its last dim must be {}", x.shape(),
         kernel_.shape(), in_);
  Tensor y = matmul(x, kernel_);
  if (bias_.defined()) y = y + bias_;
  return activation_ ? activation_(y) : y;
}

// ---- Sequential ----

Sequential::Sequential(const std::vector<std::shared_ptr<Module>>& layers) : Module("sequential") {
  for (const auto& l : layers) add(l);
}

Sequential& Sequential::add(std::shared_ptr<Module> layer, std::string name) {
  register_module(layer, std::move(name));
  layers_.push_back(std::move(layer));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& l : layers_) y = l->forward(y);
  return y;
}

// ---- LayerNorm ----

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool affine)
    : Module("layer_norm"), shape_(normalized_shape), eps_(eps) {
  if (shape_.rank() == 0) fail("layer_norm", "normalized shape must have at least one dim");
  if (affine) {
    gamma_ = add_variable("gamma", ones(shape_));
    beta_ = add_variable("beta", zeros(shape_));
  }
}

Tensor LayerNorm::forward(const Tensor& x) {
  int n = shape_.rank();
  bool fits = x.rank() >= n;
  for (int i = 0; fits && i < n; ++i) fits = x.shape()[x.rank() - n + i] == shape_[i];
  if (!fits) fail("layer_norm", "input of shape {} does not end with the normalized shape {}", x.shape(), shape_);
  if (!gamma_.defined()) return layer_norm(x, {}, {}, eps_, n);
  return layer_norm(x, gamma_, beta_, eps_, n);
}

// ---- Dropout ----

Dropout::Dropout(double rate, std::optional<uint64_t> seed) : Module("dropout"), rate_(rate) {
  if (!(rate >= 0.0 && rate < 1.0)) fail("dropout", "rate must be in [0, 1), got {}", rate);
  seed_ = seed ? *seed : next_seed();
  step_ = add_variable("step", scalar(0.0), /*trainable=*/false);
}

Tensor Dropout::forward(const Tensor& x) {
  if (!training() || rate_ == 0.0) return x;
  if (!is_floating(x.dtype())) fail("dropout", "input must be f32 or f64, got {}{}", x.dtype(), x.shape());
  Tensor t = step_.value();
  Tensor u = rand(x.shape(), seed_, DType::F64) + t * rand(x.shape(), seed_ ^ 0x9E3779B97F4A7C15ull, DType::F64);
  Tensor keep = (u - floor(u)) >= rate_;
  step_.assign(t + 1.0);
  return where(keep, x * (1.0 / (1.0 - rate_)), 0.0);
}

// ---- Embedding ----

Embedding::Embedding(int64_t num_embeddings, int64_t dim, std::optional<uint64_t> seed) : Module("embedding") {
  if (num_embeddings <= 0 || dim <= 0)
    fail("embedding", "sizes must be positive, got num_embeddings={} dim={}", num_embeddings, dim);
  table_ = add_variable("embeddings", rand({num_embeddings, dim}, seed ? *seed : next_seed(), DType::F32, -0.05, 0.05));
}

Tensor Embedding::forward(const Tensor& indices) {
  if (!is_integer(indices.dtype()))
    fail("embedding", "indices must be i32 or i64, got {}{}", indices.dtype(), indices.shape());
  return take(table_, indices, 0);
}

}  // namespace ejit::nn
