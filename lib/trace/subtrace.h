// Pieces of a trace as traces of their own: the CPU back end compiles runs of nodes as
// kernels, the GPU back end fuses groups of them.
#pragma once

#include <functional>
#include <vector>

#include "ejit/trace.h"

namespace ejit::detail {

/// The same op, attributes, wiring and (for constants) contents.
bool same_node(const TraceNode& a, const TraceNode& b);

/// Per value of a trace: the node producing it (-1 for inputs).
std::vector<int> producers(const Trace& t);

/// Per value of a trace: the node producing it (-1 for inputs), the nodes reading it, and
/// whether it is an output.
struct TraceUses {
  std::vector<int> producer;
  std::vector<std::vector<int>> consumers;
  std::vector<char> is_output;
  explicit TraceUses(const Trace& t);
};

/// Where the indices of take or gather node `n` come from, through reshapes (`producer`:
/// producers(t)). Compiled code clamps indices and cannot fail a call, so its executor
/// (PackedKernel) checks them: an input of the kernel before it runs, indices the kernel
/// computes (an output of it then) after it runs; a constant is checked once.
enum class IndexOrigin {
  Input,       // a trace input (`*source`: its value id)
  Constant,         // a constant (not a size constant) whose every index is in range
  ConstantPerCall,  // a constant (not a size constant) into a dynamic dim: checked for each call's size
  Unchecked,        // anything else: computed, a size constant (its value varies), a bad constant
};
IndexOrigin index_origin(const Trace& t, const std::vector<int>& producer, const TraceNode& n, int* source = nullptr);

/// The nodes (indices into t.nodes, in order) as a trace of their own: values from outside
/// become inputs (their ids appended to `inputs`), except constants for which
/// inline_constant(node, type) is true, which are copied in; values used after the nodes,
/// outputs of t, or in `also_outputs` become outputs (appended to `outputs`).
Trace extract_subtrace(const Trace& t, const std::vector<int>& nodes, const TraceUses& uses,
                       const std::function<bool(const TraceNode&, const ValueType&)>& inline_constant, std::vector<int>& inputs,
                       std::vector<int>& outputs, const std::vector<int>& also_outputs = {});

}  // namespace ejit::detail
