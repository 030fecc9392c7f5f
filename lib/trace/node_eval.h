// Running trace nodes one at a time with a call's memory of host callbacks: the nodes of one
// host_callback call's results (one node per result) share one run of its function.
#pragma once

#include <vector>

#include "ejit/trace.h"

namespace ejit::detail {

/// eval_node for the nodes of one run of a trace (or of a compiled program's interpreter
/// steps): a HostCall node runs its call once and keeps the other results for their nodes.
/// One per run; not shared between threads.
class NodeEvaluator {
 public:
  /// `device`: where host callback results go (the program's device); `op`: what errors
  /// name ("eval_trace", or "jit" for a compiled program's interpreter steps).
  explicit NodeEvaluator(Device device = Device::cpu(), const char* op = "eval_trace") : device_(device), op_(op) {}
  /// The node's value; an Error when it is not of type `result` (the trace's, with the
  /// call's sizes).
  Tensor eval(const TraceNode& node, const std::vector<Tensor>& inputs, const ValueType& result);
  /// The same with the inputs given up (eval_node's rvalue form).
  Tensor eval(const TraceNode& node, std::vector<Tensor>&& inputs, const ValueType& result);

 private:
  Tensor call(const TraceNode& node, const std::vector<Tensor>& inputs);  // a host callback's result, its fn run once
  struct Done {
    const HostCall* call;
    std::vector<Tensor> results;
  };
  Device device_;
  const char* op_;
  std::vector<Done> done_;
};

/// `out`, or an Error "[op] ..." naming the node and its value when it is not of type
/// `result`: what the ops after a node were compiled (or typed) for. A trace from a file may
/// declare a type its inputs do not give.
Tensor check_node_result(const TraceNode& node, Tensor out, const ValueType& result, const char* op);

}  // namespace ejit::detail
