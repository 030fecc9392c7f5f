// Automatic differentiation: GradientTape, grad, value_and_grad, custom_gradient, stop_gradient.
//
// A tape records, while it is alive, the ops whose inputs depend on a watched tensor (or a
// trainable Variable that was read), keeping their inputs and outputs; gradient() plays them
// backward with each op's rule (include/ejit/ops.def for the table ops, lib/autodiff for the
// structural ones). The backward pass runs ordinary ejit ops, so an enclosing tape records it
// (higher-order gradients) and an enclosing jit() traces and compiles it with the forward.
//
// Conventions:
// - Only f32/f64 tensors carry gradients; integer and bool results stop them.
// - A source that the target does not depend on gets zeros of its shape (as JAX; TensorFlow
//   returns None).
// - The gradient of a non-scalar target is that of sum(target * output_gradient);
//   output_gradient defaults to ones (as TensorFlow). grad()/value_and_grad() insist on a
//   one-element result.
#pragma once

#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ejit/tensor.h"
#include "ejit/variable.h"

namespace ejit {

/// A differentiation source: a tensor, or a variable (its current value).
struct Source {
  Source(const Tensor& t) : tensor(t) {}  // NOLINT: implicit on purpose
  Source(const Variable& v) : tensor(v.value()) {}  // NOLINT
  Tensor tensor;
};

class GradientTape {
 public:
  /// A persistent tape can compute gradients many times; otherwise once, then it is spent.
  /// watch_accessed_variables: trainable Variables read while the tape records are watched.
  explicit GradientTape(bool persistent = false, bool watch_accessed_variables = true);
  ~GradientTape();
  GradientTape(const GradientTape&) = delete;
  GradientTape& operator=(const GradientTape&) = delete;

  /// Records the ops that depend on t from now on (t must be f32 or f64).
  void watch(const Tensor& t);
  void watch(const Variable& v) { watch(v.value()); }

  /// d target / d source for each source, in order (zeros for a source the target does not
  /// depend on). output_gradient (target's shape) weights a non-scalar target; default ones.
  std::vector<Tensor> gradient(const Tensor& target, const std::vector<Source>& sources,
                               const Tensor& output_gradient = {});
  /// Same for a container of Tensors or Variables.
  template <class C>
    requires requires(const C& c) { Source(*std::begin(c)); }
  std::vector<Tensor> gradient(const Tensor& target, const C& sources, const Tensor& output_gradient = {}) {
    return gradient(target, std::vector<Source>(std::begin(sources), std::end(sources)), output_gradient);
  }

  /// Suspends this tape's recording while the returned guard lives.
  class Pause {
   public:
    explicit Pause(GradientTape& t);
    ~Pause();
    Pause(const Pause&) = delete;
    Pause& operator=(const Pause&) = delete;

   private:
    GradientTape& tape_;
  };
  Pause stop_recording() { return Pause(*this); }

  /// Number of ops recorded so far (for tests and benchmarks).
  size_t recorded_ops() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// The same values as t, but no gradient flows through it.
Tensor stop_gradient(const Tensor& t);

namespace detail {

/// Backward of a custom-gradient call: (dy, y, inputs) -> one gradient per input (undefined: none).
using CustomBackward = std::function<std::vector<Tensor>(const Tensor& dy, const Tensor& y, const std::vector<Tensor>&)>;

/// Runs forward with every tape paused (an enclosing jit() still records it), then records
/// one op on the tapes that watch an input, whose gradient is `backward`.
Tensor custom_gradient_call(const std::vector<Tensor>& inputs, const std::function<Tensor()>& forward,
                            CustomBackward backward);

/// Records y = op(inputs) on the tapes that watch an input, with gradient `backward` (y
/// computed elsewhere, e.g. by a host callback).
void record_custom_gradient(const std::vector<Tensor>& inputs, const Tensor& y, CustomBackward backward);

/// value and gradients of f(args...) with respect to the arguments in argnums.
std::pair<Tensor, std::vector<Tensor>> value_and_grad_call(
    const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& args,
    const std::vector<int>& argnums, const char* op);

template <class R> std::vector<Tensor> gradient_list(R&& r) {
  using T = std::decay_t<R>;
  if constexpr (std::is_same_v<T, Tensor>) return {r};
  else if constexpr (std::is_same_v<T, std::vector<Tensor>>) return r;
  else return std::apply([](auto&&... t) { return std::vector<Tensor>{Tensor(t)...}; }, r);
}

template <class F, class... A> std::function<Tensor(const std::vector<Tensor>&)> bind_args(const F& f) {
  return [&f](const std::vector<Tensor>& in) {
    return [&]<size_t... I>(std::index_sequence<I...>) { return Tensor(f(in[I]...)); }(std::index_sequence_for<A...>());
  };
}

}  // namespace detail

/// grad(f)(x, ...): the gradient of the one-element result of f with respect to its first argument.
template <class F> auto grad(F f) {
  return [f](const auto&... args) -> Tensor {
    return detail::value_and_grad_call(detail::bind_args<F, decltype(args)...>(f), {Tensor(args)...}, {0}, "grad")
        .second[0];
  };
}
/// grad(f, {0, 2})(a, b, c): gradients with respect to the listed arguments, in that order.
template <class F> auto grad(F f, std::vector<int> argnums) {
  return [f, argnums](const auto&... args) -> std::vector<Tensor> {
    return detail::value_and_grad_call(detail::bind_args<F, decltype(args)...>(f), {Tensor(args)...}, argnums, "grad")
        .second;
  };
}
/// value_and_grad(f)(x, ...): {f(x, ...), gradient with respect to the first argument}.
template <class F> auto value_and_grad(F f) {
  return [f](const auto&... args) -> std::pair<Tensor, Tensor> {
    auto [v, g] = detail::value_and_grad_call(detail::bind_args<F, decltype(args)...>(f), {Tensor(args)...}, {0},
                                              "value_and_grad");
    return {v, g[0]};
  };
}
template <class F> auto value_and_grad(F f, std::vector<int> argnums) {
  return [f, argnums](const auto&... args) -> std::pair<Tensor, std::vector<Tensor>> {
    return detail::value_and_grad_call(detail::bind_args<F, decltype(args)...>(f), {Tensor(args)...}, argnums,
                                       "value_and_grad");
  };
}

/// An op with a user-defined gradient: forward(x...) -> Tensor computes the value (its own ops
/// are not differentiated); backward(dy, y, x...) returns the gradient for each input (a
/// Tensor for one input, else a std::vector<Tensor> or tuple; an undefined Tensor means none).
template <class Fwd, class Bwd> auto custom_gradient(Fwd forward, Bwd backward) {
  return [forward, backward](const auto&... args) -> Tensor {
    std::vector<Tensor> inputs{Tensor(args)...};
    return detail::custom_gradient_call(
        inputs, [&] { return Tensor(forward(args...)); },
        [backward](const Tensor& dy, const Tensor& y, const std::vector<Tensor>& in) {
          return [&]<size_t... I>(std::index_sequence<I...>) {
            return detail::gradient_list(backward(dy, y, in[I]...));
          }(std::make_index_sequence<sizeof...(args)>());
        });
  };
}

}  // namespace ejit
