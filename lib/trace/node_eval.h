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
  /// `device`: where host callback results go (the program's device).
  explicit NodeEvaluator(Device device = Device::cpu()) : device_(device) {}
  Tensor eval(const TraceNode& node, const std::vector<Tensor>& inputs, const ValueType& result);

 private:
  struct Done {
    const HostCall* call;
    std::vector<Tensor> results;
  };
  Device device_;
  std::vector<Done> done_;
};

}  // namespace ejit::detail
