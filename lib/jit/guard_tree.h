// Traces with host reads: a trace tree. A host read of a traced value while recording
// becomes a guard; the trace is cut at each guard into segments that compile on their own.
// A call runs the first segment, reads the guarded value, and follows the branch recorded
// for the value read (a miss when there is none: the caller records that branch).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "../backend/common/executable.h"
#include "ejit/compile.h"
#include "ejit/trace.h"
#include "ejit/variable.h"

namespace ejit::detail {

/// Where a trace input comes from on each call.
struct InputBinding {
  int arg = -1;       // the argument's index, or
  Variable variable;  // the variable's value of the moment, or
  Tensor captured;    // a tensor the function captured
  Tensor value(const std::vector<Tensor>& args) const {
    return arg >= 0 ? args[arg] : variable.defined() ? variable.value() : captured;
  }
};

/// One recorded call of a function with guards.
struct GuardedRecording {
  Trace trace;
  std::vector<TraceGuard> guards;
  std::vector<SizeRead> size_reads;    // sizes the function's C++ code read
  std::vector<InputBinding> bindings;  // per trace.inputs entry
  std::vector<Variable> assigned;      // the trace's last outputs are their values
  size_t user_outputs = 0;
};

/// A segment of a recorded path and the branches that follow it.
struct GuardNode {
  Trace segment;                      // its nodes, as a trace of their own
  std::vector<int> inputs, outputs;   // the path's value ids that segment.inputs/outputs stand for
  std::vector<std::pair<int, InputBinding>> binds;  // trace inputs this node reads: value id, source
  std::unique_ptr<Executable> executable;          // null: the interpreter runs the segment
  size_t values = 0;                  // values in the path's trace
  // A branch point: the guard read after the segment.
  int guard = -1;                     // value id read; -1 for the last segment
  size_t depth = 0;                   // the guard's number in its path
  std::string guard_text;             // "item/to_vector/at after 14 ops"
  DType guard_dtype = DType::F32;
  std::vector<std::pair<std::string, std::shared_ptr<GuardNode>>> branches;  // bytes read -> next; null: compiling
  // The last segment: the path's outputs.
  std::vector<int> final_outputs;     // user outputs, then assigned variables' values
  std::vector<Variable> assigned;
  size_t user_outputs = 0;

  size_t code_bytes() const;          // this node's and its branches'
};

/// A call's walk down the tree.
struct TreeWalk {
  std::optional<std::vector<Tensor>> outputs;  // the user's outputs when a leaf was reached
  GuardNode* missed = nullptr;                 // else the node whose guard read a new value
  std::string read;                            // the bytes read there
  bool compiling = false;                      // the branch for it is being compiled
};

/// Runs the tree on `args`; `mu` guards every node's branches. Assigns the variables the path
/// assigns when it reaches a leaf.
TreeWalk run_tree(GuardNode& root, const std::vector<Tensor>& args, std::mutex& mu);

/// The nodes of `rec` from segment `from` on, compiled with `options`, chained by the guard
/// values the recording read. Null and `error` when `rec`'s segments before `from` differ
/// from `path` (the tree's nodes on the way down; the function did not repeat itself).
std::shared_ptr<GuardNode> build_path(const GuardedRecording& rec, size_t from, const std::vector<const GuardNode*>& path,
                                      const CompileOptions& options, std::string& error, double& compile_ms);

/// The nodes from the root to `node` (inclusive), or empty when it is not in the tree.
std::vector<const GuardNode*> path_to(const GuardNode& root, const GuardNode* node, std::mutex& mu);

/// "0.5", "[1, 0, 2]" or "[1, 0, 2, ...] (12 values)": a guard's bytes for a log line.
std::string guard_value_text(const std::string& bytes, DType dtype);

}  // namespace ejit::detail
