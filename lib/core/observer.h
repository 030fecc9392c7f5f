// The hook through which ops report themselves to a recorder on the same thread.
//
// lib/interp calls record_op() after each primitive executes; lib/trace installs the
// observer. Core knows nothing about traces, interp nothing about the recorder.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "ejit/tensor.h"

namespace ejit::detail {

/// Primitive kinds that reach a trace. Composites (softmax...) arrive as their parts.
enum class PrimKind : uint8_t {
  Constant, Unary, Binary, Cast, Where, Reduce, MatMul, Reshape, Permute, BroadcastTo, Slice, Concat, Pad, Take, Gather
};

/// One executed primitive: inputs and output are the real tensors.
struct PrimOp {
  PrimKind kind;
  uint8_t sub = 0;                   // UnaryOp / BinaryOp / ReduceOp
  std::vector<Tensor> inputs;
  Tensor output;
  std::vector<int64_t> ints;         // axes, perm, (axis, start, step), low..high
  bool flag = false;                 // keepdims
  double value = 0;                  // pad value
};

class OpObserver {
 public:
  virtual ~OpObserver() = default;
  virtual void on_op(PrimOp op) = 0;
  /// A host read of a tensor's values (item, to_vector, at, data): control flow may depend on it.
  virtual void on_host_read(const Tensor& t) = 0;
};

/// The observer of this thread, or null (the common case: one thread-local load).
OpObserver* observer();
/// Installs an observer for this thread; returns the previous one.
OpObserver* set_observer(OpObserver* o);

/// Suspends reporting on this thread while alive (for an op's internal helper calls).
class PauseRecording {
 public:
  PauseRecording() : saved_(set_observer(nullptr)) {}
  ~PauseRecording() { set_observer(saved_); }
  PauseRecording(const PauseRecording&) = delete;
  PauseRecording& operator=(const PauseRecording&) = delete;

 private:
  OpObserver* saved_;
};

/// Reports a primitive when an observer is installed.
inline void record_op(PrimKind kind, std::initializer_list<Tensor> inputs, const Tensor& output, uint8_t sub = 0,
                      std::vector<int64_t> ints = {}, bool flag = false, double value = 0) {
  if (OpObserver* o = observer()) o->on_op(PrimOp{kind, sub, inputs, output, std::move(ints), flag, value});
}

}  // namespace ejit::detail
