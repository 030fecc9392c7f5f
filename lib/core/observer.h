// The hook through which ops report themselves to recorders and gradient tapes on the
// same thread.
//
// lib/interp calls record_op() after each primitive executes; lib/trace (Recorder) and
// lib/autodiff (GradientTape) install observers. Several can be active at once (a tape
// inside a jitted function, nested tapes); each sees every op. Core knows nothing about
// traces or tapes, interp nothing about either.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <vector>

#include "ejit/op_kind.h"
#include "ejit/tensor.h"
#include "tensor_list.h"

namespace ejit {
class Variable;
namespace detail {
struct HostCall;
}
}

namespace ejit::detail {

/// One executed primitive: inputs and output are the real tensors.
struct PrimOp {
  NodeKind kind;
  uint8_t sub = 0;                   // UnaryOp / BinaryOp / ReduceOp
  TensorList inputs;
  Tensor output;
  std::vector<int64_t> ints;         // axes, perm, (axis, start, step), low..high
  bool flag = false;                 // keepdims
  double value = 0;                  // pad value
  bool stop_gradient = false;        // Reshape made by stop_gradient(): tapes see no dependence
  std::shared_ptr<const HostCall> host_call = nullptr;  // HostCall: the call whose result this is
};

class OpObserver {
 public:
  virtual ~OpObserver() = default;
  virtual void on_op(const PrimOp& op) = 0;
  /// True when the observer may read `input`'s values after the op it is an input of: a
  /// tape's backward pass reads the op's inputs; a recorder reads an input it has not seen
  /// (the trace captures it). An op then never writes its result over that input, even
  /// when the caller gave it up.
  virtual bool needs_values(const Tensor& /*input*/) const { return true; }
  /// A host read of a tensor's values (`how`: item/to_vector/at, data<T>()): control flow
  /// or C++ code may depend on them; `may_write`: the pointer handed out is writable.
  virtual void on_host_read(const Tensor& t, const char* how, bool may_write) = 0;
  /// The user's C++ code read t's dim `axis` (-1: its shape or element count): control
  /// flow may depend on that size.
  virtual void on_size_read(const Tensor& /*t*/, int64_t /*axis*/) {}
  /// A Variable's value was read (tapes watch trainable ones; recorders bind the trace input
  /// to the variable, so compiled code reads its value of the moment).
  virtual void on_variable_read(const Variable& /*v*/, const Tensor& /*value*/) {}
  /// A Variable was assigned a new value (recorders write it back after compiled calls).
  virtual void on_variable_assign(const Variable& /*v*/, const Tensor& /*value*/) {}
};

/// The active observers of this thread, oldest first, or null when there are none or
/// reporting is paused (the common case: one thread-local load).
const std::vector<OpObserver*>* observers();
/// True when no active observer of this thread needs `input`'s values after an op.
inline bool may_overwrite(const Tensor& input) {
  const auto* list = observers();
  if (!list) return true;
  for (const OpObserver* o : *list)
    if (o->needs_values(input)) return false;
  return true;
}
/// Adds / removes an observer of this thread (removal in any order).
void add_observer(OpObserver* o);
void remove_observer(OpObserver* o);

/// Suspends reporting to every observer on this thread while alive (for an op's internal
/// helper calls).
class PauseRecording {
 public:
  PauseRecording();
  ~PauseRecording();
  PauseRecording(const PauseRecording&) = delete;
  PauseRecording& operator=(const PauseRecording&) = delete;
};

/// Sends a finished primitive to every active observer.
inline void report_op(const PrimOp& op) {
  if (const auto* list = observers())
    for (size_t i = 0; i < list->size(); ++i) (*list)[i]->on_op(op);
}

/// Reports a primitive when an observer is installed. The inputs are taken by reference:
/// without an observer, reporting costs no reference-count traffic.
inline void record_op(NodeKind kind, std::initializer_list<std::reference_wrapper<const Tensor>> inputs,
                      const Tensor& output, uint8_t sub = 0, std::vector<int64_t> ints = {}, bool flag = false,
                      double value = 0) {
  if (observers())
    report_op(PrimOp{kind, sub, TensorList(inputs.begin(), inputs.end()), output, std::move(ints), flag, value});
}

}  // namespace ejit::detail
