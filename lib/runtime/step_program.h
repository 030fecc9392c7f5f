// A trace cut into steps, run in order on one set of values: compiled kernels over several
// nodes, and single nodes on the interpreter (matmuls on the BLAS, ops that do not lower).
// The CPU back end builds it from what it compiled; an exported library from its file.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "ejit/trace.h"
#include "../trace/dynamic_dims.h"
#include "executable.h"

namespace ejit::detail {

/// A piece of a trace: one compiled kernel over several nodes, or one interpreter node.
struct Step {
  bool compiled = false;
  std::vector<int> nodes;                // indices into trace.nodes, in trace order
  std::unique_ptr<Executable> kernel;    // compiled steps
  std::vector<int> inputs, outputs;      // compiled steps: trace value ids in and out
  Trace sub;                             // compiled steps: the kernel's own trace
  std::vector<int> checked_outputs;      // compiled steps: indices it computes for its take or gather,
                                         // outputs of it so that its executor checks them
};

/// Per step (reads[s]: the values step s reads): the values no later step reads, to release
/// after it; never the trace's inputs or outputs.
std::vector<std::vector<int>> release_lists(const Trace& trace, const std::vector<std::vector<int>>& reads);

class StepProgram final : public Executable {
 public:
  /// `folded_from`, per value: the matrix a transpose reads when the BLAS reads it in place
  /// (the transpose is not computed), else -1.
  StepProgram(Trace trace, std::vector<Step> steps, std::vector<int> folded_from);
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const override;
  size_t code_bytes() const override;

  const Trace& trace() const { return trace_; }
  const std::vector<Step>& steps() const { return steps_; }
  const std::vector<int>& folded_from() const { return folded_from_; }

 private:
  /// The value a step reads for v: the untransposed matrix when v is a folded transpose.
  int source(int v) const { return folded_from_[v] >= 0 ? folded_from_[v] : v; }

  Trace trace_;
  std::vector<Step> steps_;
  std::vector<int> folded_from_;
  std::vector<SymbolSource> symbols_;  // dynamic dims: where each symbol's size is read
  std::vector<int> constant_nodes_;        // set before the steps run, on every call
  std::vector<std::vector<int>> release_;  // per step: values no later step reads
};

}  // namespace ejit::detail
