// GradientTape: an op observer that keeps the ops depending on watched tensors, and plays
// them backward with the rules of rules.cpp.
#include <algorithm>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include "../support/check.h"
#include "ejit/autodiff.h"
#include "ejit/ops.h"
#include "pointer_set.h"
#include "rules.h"

namespace ejit {

using detail::PrimOp;

namespace {
thread_local std::vector<GradientTape::Impl*> t_tapes;  // live tapes of this thread
thread_local int t_all_tapes_paused = 0;                // custom_gradient forwards in progress

struct PauseAllTapes {
  PauseAllTapes() { ++t_all_tapes_paused; }
  ~PauseAllTapes() { --t_all_tapes_paused; }
};
}  // namespace

struct GradientTape::Impl final : detail::OpObserver {
  struct Record {
    PrimOp op;
    detail::CustomBackward custom;  // set for custom_gradient ops
  };

  bool persistent, watch_variables;
  bool spent = false;
  int paused = 0;
  std::deque<Record> records;  // a deque: growing it moves no record
  detail::PointerSet tracked;  // TensorImpls of watched tensors and recorded outputs
  std::vector<Tensor> watched;                            // keeps watched tensors (and their ids) alive

  Impl(bool p, bool w) : persistent(p), watch_variables(w) {}

  bool active() const { return !spent && paused == 0 && t_all_tapes_paused == 0; }
  bool is_tracked(const Tensor& t) const { return tracked.contains(t.impl()); }

  void watch(const Tensor& t) {
    if (!is_floating(t.dtype())) return;  // integer and bool tensors get no gradient
    if (tracked.insert(t.impl())) watched.push_back(t);
  }

  template <class Tensors> bool depends(const Tensors& inputs) const {
    return std::any_of(inputs.begin(), inputs.end(), [&](const Tensor& t) { return is_tracked(t); });
  }

  void on_op(const PrimOp& op) override {
    // Host calls record their gradient themselves (record_custom_gradient), or have none.
    if (!active() || op.stop_gradient || op.kind == NodeKind::HostCall || !is_floating(op.output.dtype()) ||
        !depends(op.inputs))
      return;
    records.push_back({op, nullptr});
    tracked.insert(op.output.impl());
  }
  // A recording tape keeps each op's inputs for the backward pass: an op must not write
  // over one. Paused (its own backward pass) or spent, it records nothing new, and what it
  // recorded it holds handles to, which no op writes over.
  bool needs_values(const Tensor&) const override { return active(); }
  void on_host_read(const Tensor&, const char*, bool) override {}
  void on_variable_read(const Variable& v, const Tensor& value) override {
    if (active() && v.trainable() && watch_variables) watch(value);
  }

  std::vector<Tensor> gradient(const Tensor& target, const std::vector<Source>& sources, const Tensor& seed);
};

std::vector<Tensor> GradientTape::Impl::gradient(const Tensor& target, const std::vector<Source>& sources,
                                                 const Tensor& output_gradient) {
  if (spent)
    fail("gradient", "this non-persistent GradientTape already computed gradients; use GradientTape(/*persistent=*/true) "
                     "to call gradient() more than once");
  if (!target.defined()) fail("gradient", "the target is an undefined tensor");
  if (!is_floating(target.dtype()))
    fail("gradient", "the target has dtype {} (shape {}): only f32/f64 results have gradients", target.dtype(),
         target.shape());
  for (size_t i = 0; i < sources.size(); ++i) {
    const Tensor& s = sources[i].tensor;
    if (!s.defined()) fail("gradient", "source {} is an undefined tensor", i);
    if (!is_floating(s.dtype()))
      fail("gradient", "source {} has dtype {} (shape {}): only f32/f64 tensors have gradients", i, s.dtype(),
           s.shape());
  }
  if (output_gradient.defined() && output_gradient.shape() != target.shape())
    fail("gradient", "output_gradient has shape {}, the target {}", output_gradient.shape(), target.shape());

  ++paused;  // the backward ops are not this tape's to record (enclosing tapes and jit() see them)
  struct Resume {
    Impl& t;
    ~Resume() { --t.paused; }
  } resume{*this};

  std::unordered_set<const detail::TensorImpl*> wanted;
  for (const Source& s : sources) wanted.insert(s.tensor.impl());
  std::unordered_map<const detail::TensorImpl*, Tensor> grads;
  if (is_tracked(target))
    grads[target.impl()] = output_gradient.defined() ? cast(output_gradient, target.dtype()) : ones_like(target);

  for (auto it = records.rbegin(); it != records.rend() && !grads.empty(); ++it) {
    const PrimOp& op = it->op;
    auto found = grads.find(op.output.impl());
    if (found == grads.end()) continue;
    Tensor g = found->second;
    if (!wanted.count(op.output.impl())) grads.erase(found);
    std::vector<bool> need(op.inputs.size());
    for (size_t i = 0; i < need.size(); ++i) need[i] = is_floating(op.inputs[i].dtype()) && is_tracked(op.inputs[i]);
    std::vector<Tensor> in_grads = it->custom ? it->custom(g, op.output, op.inputs.vec()) : detail::vjp(op, g, need);
    if (in_grads.size() != op.inputs.size())
      fail("gradient", "a custom gradient returned {} gradients for {} inputs", in_grads.size(), op.inputs.size());
    for (size_t i = 0; i < in_grads.size(); ++i) {
      if (!need[i] || !in_grads[i].defined()) continue;
      const Tensor& x = op.inputs[i];
      Tensor gi = in_grads[i];
      if (gi.shape() != x.shape()) {
        if (!it->custom) fail("gradient", "internal: the rule of an op gave shape {} for an input of shape {}", gi.shape(), x.shape());
        fail("gradient", "a custom gradient returned shape {} for input {} of shape {}", gi.shape(), i, x.shape());
      }
      if (gi.dtype() != x.dtype()) gi = cast(gi, x.dtype());
      auto [slot, fresh] = grads.try_emplace(x.impl(), gi);
      if (!fresh) slot->second = slot->second + gi;
    }
  }

  std::vector<Tensor> result;
  for (const Source& s : sources) {
    auto g = grads.find(s.tensor.impl());
    result.push_back(g != grads.end() ? g->second : zeros_like(s.tensor));
  }
  if (!persistent) {
    spent = true;
    records.clear();
    tracked.clear();
    watched.clear();
  }
  return result;
}

GradientTape::GradientTape(bool persistent, bool watch_accessed_variables)
    : impl_(std::make_unique<Impl>(persistent, watch_accessed_variables)) {
  detail::add_observer(impl_.get());
  t_tapes.push_back(impl_.get());
}

GradientTape::~GradientTape() {
  detail::remove_observer(impl_.get());
  t_tapes.erase(std::find(t_tapes.begin(), t_tapes.end(), impl_.get()));
}

void GradientTape::watch(const Tensor& t) {
  if (!t.defined()) fail("watch", "an undefined tensor");
  if (!is_floating(t.dtype()))
    fail("watch", "a tensor of dtype {} (shape {}): only f32/f64 tensors have gradients", t.dtype(), t.shape());
  if (impl_->spent) fail("watch", "this non-persistent GradientTape already computed its gradients");
  impl_->watch(t);
}

std::vector<Tensor> GradientTape::gradient(const Tensor& target, const std::vector<Source>& sources,
                                           const Tensor& output_gradient) {
  return impl_->gradient(target, sources, output_gradient);
}

size_t GradientTape::recorded_ops() const { return impl_->records.size(); }

GradientTape::Pause::Pause(GradientTape& t) : tape_(t) { ++tape_.impl_->paused; }
GradientTape::Pause::~Pause() { --tape_.impl_->paused; }

Tensor stop_gradient(const Tensor& t) {
  if (!t.defined()) fail("stop_gradient", "an undefined tensor");
  Tensor out;
  {
    detail::PauseRecording pause;
    out = reshape(t, t.shape());
  }
  if (detail::observers()) {
    PrimOp op{NodeKind::Reshape, 0, {t}, out, {}};
    op.stop_gradient = true;
    detail::report_op(op);
  }
  return out;
}

namespace detail {

Tensor custom_gradient_call(const std::vector<Tensor>& inputs, const std::function<Tensor()>& forward,
                            CustomBackward backward) {
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].defined()) fail("custom_gradient", "input {} is an undefined tensor", i);
  Tensor y;
  {
    PauseAllTapes pause;
    y = forward();
    if (!y.defined()) fail("custom_gradient", "the forward function returned an undefined tensor");
    // A fresh value, so the tape's record of y cannot be confused with an input's.
    for (const Tensor& in : inputs)
      if (in.impl() == y.impl()) y = reshape(y, y.shape());
  }
  record_custom_gradient(inputs, y, std::move(backward));
  return y;
}

void record_custom_gradient(const std::vector<Tensor>& inputs, const Tensor& y, CustomBackward backward) {
  if (!is_floating(y.dtype())) return;
  for (GradientTape::Impl* tape : t_tapes) {
    if (!tape->active() || !tape->depends(inputs)) continue;
    tape->records.push_back({PrimOp{NodeKind::Constant, 0, inputs, y, {}}, backward});
    tape->tracked.insert(y.impl());
  }
}

std::pair<Tensor, std::vector<Tensor>> value_and_grad_call(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                                           const std::vector<Tensor>& args,
                                                           const std::vector<int>& argnums, const char* op) {
  std::vector<Source> sources;
  for (int i : argnums) {
    if (i < 0 || i >= static_cast<int>(args.size()))
      fail(op, "argument number {} is out of range for a function of {} arguments", i, args.size());
    sources.emplace_back(args[i]);
  }
  GradientTape tape;
  for (const Source& s : sources) tape.watch(s.tensor);
  Tensor value = f(args);
  if (!value.defined()) fail(op, "the function returned an undefined tensor");
  if (value.numel() != 1)
    fail(op, "the function must return one element (a loss), got shape {}; use GradientTape with an "
             "output_gradient for other results", value.shape());
  return {value, tape.gradient(value, sources)};
}

}  // namespace detail
}  // namespace ejit
