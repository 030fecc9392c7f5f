// Traces: the ops a thread executed, captured while they ran eagerly, as a small SSA graph.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ejit/op_kind.h"
#include "ejit/tensor.h"
#include "ejit/variable.h"

namespace ejit {

namespace detail {
struct HostCall;  // ejit/host_callback.h
}

/// Type of a trace value. In a trace that jit() generalized over sizes, a dim may be
/// dynamic: a negative number standing for factor * (symbol k's size) + offset, the size
/// of symbol k read on each call from a trace input that has it (see dynamic_dims.h);
/// recorded traces are static.
struct ValueType {
  Shape shape;
  DType dtype = DType::F32;
  friend bool operator==(const ValueType&, const ValueType&) = default;
};

/// The MLIR type of a trace value: "tensor<2x3xf32>", or "memref<2x3xf32>" when memref.
std::string mlir_type(const ValueType& v, bool memref = false);

/// One primitive: value ids in, one value id out, attributes.
struct TraceNode {
  NodeKind kind;
  uint8_t sub = 0;                  // UnaryOp / BinaryOp / reduction kind (sum, prod, max, min, argmax, argmin)
  std::vector<int> inputs;
  int output = -1;
  std::vector<int64_t> ints;        // Reduce: axes; Permute: perm; Slice: axis, start, step and, when
                                    // recorded, how its bounds were given (SliceBounds bits); Concat/Take/
                                    // Gather: axis; Pad: low dims then high dims
  double value = 0;                 // Pad: fill value
  Tensor constant;                  // Constant: the baked-in value
  std::shared_ptr<const detail::HostCall> host_call = nullptr;  // HostCall: the call (its other results' nodes share it)
};

/// A recorded trace: values 0..n, the nodes producing them, which are inputs and outputs.
class Trace {
 public:
  std::vector<ValueType> values;
  std::vector<TraceNode> nodes;
  std::vector<int> inputs;   // values fed by arguments / captured tensors, in first-use order
  std::vector<int> outputs;
  /// Why this trace cannot be compiled as it is (e.g. a host read of a traced value), or empty.
  std::string not_compilable;

  /// Structural hash: ops, attributes, wiring, types, constant contents and host callbacks'
  /// names and declared results; no pointers.
  uint64_t hash() const;
  /// Structural equality (what hash() summarizes).
  bool same_structure(const Trace& o) const;
  /// The trace as a func.func in the ejit dialect (MLIR text).
  std::string to_mlir(std::string_view function_name = "trace") const;
  /// Writes to_mlir() to a file; throws ejit::Error naming the path on failure.
  void save(const std::string& path, std::string_view function_name = "trace") const;
  /// Removes nodes whose results no output needs (host calls stay: they run for their effects).
  void prune();
};

/// A host read met while recording with guards on (Recorder::enable_guards): the values
/// of trace value `value`, read (`how`) once every value below `position` was made.
/// C++ control flow after the read may depend on `bytes`, the contents read.
struct TraceGuard {
  int value = -1;
  int position = 0;
  std::string how;
  std::string bytes;
};

/// A size the user's C++ code read while recording (Tensor::shape(), dim(), numel()): dim
/// `axis` (-1: every dim) of traced value `value`, of shape `shape`, after `position` ops. Control
/// flow may depend on it, so a trace that read a size that varies is not made dynamic there.
struct SizeRead {
  int position = 0;
  int value = -1;  // the value's number in the recording
  int axis = -1;
  Shape shape;
  /// "dim 0 of a (8,4) value after 3 ops", "the shape of a (8,4) value after 3 ops"
  std::string str() const;
  /// What it read: shape[axis], or every dim.
  std::vector<int64_t> sizes() const;
};

/// Records, on this thread, every op executed while it is alive; ops still run eagerly and
/// return real values. Tensors that enter without being produced inside become inputs.
class Recorder {
 public:
  Recorder();
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  /// Declares tensors as inputs in this order (call before using them; function arguments).
  void add_inputs(const std::vector<Tensor>& args);
  /// Host reads of traced values become guards (guards()) instead of making the trace not
  /// compilable, up to `max_guards` reads of at most `max_elements` elements each.
  void enable_guards(size_t max_guards, int64_t max_elements);
  /// The guards met, in order (distinct values; a value read twice guards once).
  const std::vector<TraceGuard>& guards() const { return guards_; }
  /// The sizes of traced values the user's C++ code read, in order (a value's dim once).
  const std::vector<SizeRead>& size_reads() const { return size_reads_; }
  /// Stops recording and returns the trace computing `outputs`, followed by the last value
  /// assigned to each variable in assigned_variables().
  Trace finish(const std::vector<Tensor>& outputs);
  /// The tensors bound to trace.inputs, in order (arguments first, then captured tensors).
  const std::vector<Tensor>& input_tensors() const { return input_tensors_; }
  /// Per trace input: the Variable whose value it is (undefined for other tensors). A replay
  /// reads such inputs from the variable at that time.
  const std::vector<Variable>& input_variables() const { return input_variables_; }
  /// Variables assigned while recording, in first-assignment order; their final values are
  /// the trace's last outputs.
  const std::vector<Variable>& assigned_variables() const { return assigned_variables_; }

 private:
  class Observer;
  Observer* observer_;
  std::vector<Tensor> input_tensors_;
  std::vector<Variable> input_variables_;
  std::vector<Variable> assigned_variables_;
  std::vector<TraceGuard> guards_;
  std::vector<SizeRead> size_reads_;
  size_t max_guards_ = 0;
  int64_t max_guard_elements_ = 0;
};

/// True while a Recorder is active on this thread.
bool is_recording();

/// Runs the trace with the eager ops on `inputs` (bound to trace.inputs in order) and
/// returns its outputs: the interpreter for traces loaded from files. Throws ejit::Error
/// when the inputs' count, shapes or dtypes differ from the trace's (a trace with dynamic
/// dims runs at the sizes its inputs give them).
std::vector<Tensor> eval_trace(const Trace& trace, const std::vector<Tensor>& inputs);
/// Runs one node with the eager ops; `result` is the type the trace gives its output.
Tensor eval_node(const TraceNode& node, const std::vector<Tensor>& inputs, const ValueType& result);
/// The same with the inputs given up: an elementwise op or index_add writes its result over
/// an input's memory when nothing else shares it (as the ops' rvalue overloads do).
Tensor eval_node(const TraceNode& node, std::vector<Tensor>&& inputs, const ValueType& result);
/// The node's op as the ejit dialect spells it ("exp", "matmul", "argmax", ...).
std::string node_name(const TraceNode& node);

/// Throws ejit::Error "[op] ..." unless `inputs` match the trace's input shapes and dtypes.
void check_trace_inputs(const Trace& trace, const std::vector<Tensor>& inputs, std::string_view op = "eval_trace");

}  // namespace ejit
