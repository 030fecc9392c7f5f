// Traces with ops that do not compile (matmul, which stays on the BLAS; take, gather, argmax,
// ...) still compile around them: the trace is cut into steps, fused native kernels for the
// ops that lower and single interpreter ops for the others, run in order on one set of values.
#pragma once

#include <functional>
#include <vector>

#include "CpuCompiler.h"

namespace ejit::detail {

/// Whether a node runs on the interpreter inside a compiled function (no CPU lowering, or a
/// library call that beats generated code, like matmul on the BLAS); the reason, or "".
std::string interpreter_reason(const Trace& trace, const TraceNode& node);

/// Compiles `trace` as one kernel when every op lowers, else as steps of kernels and
/// interpreter ops. Fails (result.error) only when no op of the trace can be compiled.
/// Per value of a trace: the node producing it (-1 for inputs), the nodes reading it, and
/// whether it is an output.
struct TraceUses {
  std::vector<int> producer;
  std::vector<std::vector<int>> consumers;
  std::vector<char> is_output;
  explicit TraceUses(const Trace& t);
};

/// The nodes (indices into t.nodes, in order) as a trace of their own: values from outside
/// become inputs (their ids appended to `inputs`), except constants for which
/// inline_constant(type) is true, which are copied in; values used after the nodes, or
/// outputs of t, become outputs (appended to `outputs`).
Trace extract_subtrace(const Trace& t, const std::vector<int>& nodes, const TraceUses& uses,
                       const std::function<bool(const ValueType&)>& inline_constant, std::vector<int>& inputs,
                       std::vector<int>& outputs);

/// The CPU steps alone (compile_trace without the ptx stage).
CompileResult compile_cpu_steps(const Trace& trace, bool keep_ir, bool keep_asm = false);
CompileResult compile_trace(const Trace& trace, bool keep_ir, bool keep_asm = false, bool keep_ptx = false);

}  // namespace ejit::detail
