// Recorder: turns the primitives a thread executes into a Trace, as they run.
#include <set>
#include <unordered_map>

#include "../support/check.h"
#include "../core/host_data.h"
#include "../core/observer.h"
#include "ejit/trace.h"

namespace ejit {

class Recorder::Observer final : public detail::OpObserver {
 public:
  explicit Observer(Recorder& owner) : owner_(owner) {}

  int value_of(const Tensor& t) {
    auto it = ids_.find(t.impl()->id);
    if (it != ids_.end()) return it->second;
    int id = new_value(t);
    trace_.inputs.push_back(id);
    owner_.input_tensors_.push_back(t);
    owner_.input_variables_.emplace_back();
    depends_on_input_[id] = true;
    return id;
  }

  // A trace keeps ids and types, not data: only a tensor it has not seen, which it would
  // capture as an input with its values of the moment, must stay as it is.
  bool needs_values(const Tensor& input) const override { return !ids_.count(input.impl()->id); }

  void on_op(const detail::PrimOp& op) override {
    TraceNode node{op.kind, op.sub, {}, -1, op.ints, op.value, {}, op.host_call};
    bool dep = false;
    for (const Tensor& in : op.inputs) {
      int id = value_of(in);
      node.inputs.push_back(id);
      dep |= depends_on_input_[id];
    }
    if (node.kind == NodeKind::Constant) node.constant = op.output.to(Device::cpu());  // traces keep host values
    node.output = new_value(op.output);
    depends_on_input_[node.output] = dep;
    host_calls_ += node.kind == NodeKind::HostCall;
    trace_.nodes.push_back(std::move(node));
  }

  void on_host_read(const Tensor& t, const char* how, bool write) override {
    auto it = ids_.find(t.impl()->id);
    if (it == ids_.end() || !depends_on_input_[it->second] || !trace_.not_compilable.empty()) return;
    std::vector<TraceGuard>& guards = owner_.guards_;
    for (const TraceGuard& g : guards)
      if (g.value == it->second) return;  // read before: its guard covers this read
    // A guard re-runs the function from its start when a call reads a new value: a host
    // callback before it would run twice in that call.
    if (!write && host_calls_ == 0 && guards.size() < owner_.max_guards_ && t.numel() <= owner_.max_guard_elements_) {
      detail::PauseRecording pause;
      guards.push_back({it->second, static_cast<int>(trace_.values.size()), how, detail::host_bytes(t)});
      return;
    }
    trace_.not_compilable = fmt::format(
        "the values of a traced tensor of shape {} were read on the host ({}) after {} ops: "
        "C++ control flow may depend on them{}", t.shape(), how, trace_.nodes.size(),
        owner_.max_guards_ == 0 ? ""
        : write ? ", and the pointer may be written through (read a const Tensor's data<T>() to compile it)"
        : host_calls_ > 0 ? ", after a host callback (a guard would run the callback twice on a call that reads a new value)"
        : guards.size() >= owner_.max_guards_
            ? fmt::format(", and the trace already has {} guards (the most it may have)", guards.size())
            : fmt::format(", and {} elements are too many to guard on (at most {})", t.numel(), owner_.max_guard_elements_));
  }

  void on_size_read(const Tensor& t, int64_t axis) override {
    // Every traced value counts, not only those whose data depends on the inputs: a value
    // made from constants can still have an input's shape (a gradient's broadcast seed).
    auto it = ids_.find(t.impl()->id);
    if (it == ids_.end()) return;                                // not a value of this trace
    if (!sizes_read_.insert({it->second, axis}).second) return;  // read before: the same size
    owner_.size_reads_.push_back(
        {static_cast<int>(trace_.nodes.size()), it->second, static_cast<int>(axis), t.impl()->shape});
  }

  void on_variable_read(const Variable& v, const Tensor& value) override {
    if (ids_.count(value.impl()->id)) return;  // already a value of this trace (assigned inside, or read before)
    value_of(value);
    owner_.input_variables_.back() = v;
  }

  void on_variable_assign(const Variable& v, const Tensor& value) override {
    for (size_t i = 0; i < owner_.assigned_variables_.size(); ++i)
      if (owner_.assigned_variables_[i].same(v)) {
        assigned_values_[i] = value;
        return;
      }
    owner_.assigned_variables_.push_back(v);
    assigned_values_.push_back(value);
  }

  Trace take(const std::vector<Tensor>& outputs) {
    for (const Tensor& t : outputs) trace_.outputs.push_back(value_of(t));
    for (const Tensor& t : assigned_values_) trace_.outputs.push_back(value_of(t));
    const size_t n = trace_.outputs.size();
    for (const TraceGuard& g : owner_.guards_) trace_.outputs.push_back(g.value);  // guarded values are computed
    trace_.prune();
    trace_.outputs.resize(n);
    return std::move(trace_);
  }

 private:
  int new_value(const Tensor& t) {
    int id = static_cast<int>(trace_.values.size());
    trace_.values.push_back({t.shape(), t.dtype()});
    ids_[t.impl()->id] = id;  // values are not kept alive: ops may overwrite dead ones (needs_values)
    depends_on_input_.push_back(false);
    return id;
  }

  Recorder& owner_;
  Trace trace_;
  std::unordered_map<uint64_t, int> ids_;  // TensorImpl::id -> value
  std::vector<bool> depends_on_input_;
  std::vector<Tensor> assigned_values_;  // per owner_.assigned_variables_
  std::set<std::pair<int, int64_t>> sizes_read_;  // (value, axis) read by C++ code
  int host_calls_ = 0;                   // HostCall nodes recorded so far
};

namespace {
thread_local int t_recorders = 0;  // active Recorders on this thread
}

Recorder::Recorder() : observer_(new Observer(*this)) {
  detail::add_observer(observer_);
  ++t_recorders;
}

Recorder::~Recorder() {
  if (observer_) {
    detail::remove_observer(observer_);
    --t_recorders;
  }
  delete observer_;
}

void Recorder::add_inputs(const std::vector<Tensor>& args) {
  for (const Tensor& t : args) {
    if (!t.defined()) fail("trace", "an argument is an undefined tensor");
    observer_->value_of(t);
  }
}

void Recorder::enable_guards(size_t max_guards, int64_t max_elements) {
  max_guards_ = max_guards;
  max_guard_elements_ = max_elements;
}

Trace Recorder::finish(const std::vector<Tensor>& outputs) {
  if (!observer_) fail("trace", "finish() was already called on this recorder");
  detail::remove_observer(observer_);
  --t_recorders;
  Trace t = observer_->take(outputs);
  delete observer_;
  observer_ = nullptr;
  return t;
}

bool is_recording() { return t_recorders > 0; }

std::string SizeRead::str() const {
  return axis < 0 ? fmt::format("the shape of a {} value after {} ops", shape, position)
                  : fmt::format("dim {} of a {} value after {} ops", axis, shape, position);
}

std::vector<int64_t> SizeRead::sizes() const {
  return axis < 0 ? shape.vec() : std::vector<int64_t>{shape[axis]};
}

}  // namespace ejit
