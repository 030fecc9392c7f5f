// Traces with ops that do not compile (matmul, which stays on the BLAS; take, gather, argmax,
// ...) still compile around them: the trace is cut into steps, fused native kernels for the
// ops that lower and single interpreter ops for the others, run in order on one set of values.
#pragma once

#include "CpuCompiler.h"

namespace ejit::detail {

/// Whether a node runs on the interpreter inside a compiled function (no CPU lowering, or a
/// library call that beats generated code, like matmul on the BLAS); the reason, or "".
std::string interpreter_reason(const Trace& trace, const TraceNode& node);

/// Compiles `trace` as one kernel when every op lowers, else as steps of kernels and
/// interpreter ops. Fails (result.error) only when no op of the trace can be compiled.
/// The CPU steps alone (compile_trace without the ptx stage).
CompileResult compile_cpu_steps(const Trace& trace, bool keep_ir, bool keep_asm = false);
CompileResult compile_trace(const Trace& trace, bool keep_ir, bool keep_asm = false, bool keep_ptx = false);

}  // namespace ejit::detail
