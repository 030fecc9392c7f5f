// Traces with ops that do not compile (matmul, which stays on the BLAS; take, gather, host
// callbacks) still compile around them: the trace is cut into steps, fused native kernels for the
// ops that lower and single interpreter ops for the others, run in order on one set of values.
#pragma once

#include "../common/executable.h"
#include "cpu_compiler.h"
#include <string>
#include <vector>

#include "ejit/trace.h"

namespace ejit::detail {

/// Compiles `trace` as one kernel when every op lowers, else as steps of kernels and
/// interpreter ops. Fails (result.error) only when no op of the trace can be compiled, or,
/// with flags.disk_only, when some kernel is not in the disk cache.
/// `strict`: the results equal the interpreter's bit for bit (see CompileOptions::strict).
CompileResult compile_cpu_steps(const Trace& trace, const CpuCompileFlags& flags, bool strict = false);
/// The same for several traces at once: all their kernels compile as one module (the
/// compile's whole time is the first result's milliseconds).
std::vector<CompileResult> compile_cpu_steps(const std::vector<const Trace*>& traces, const CpuCompileFlags& flags,
                                             bool strict = false);

struct ExportManifest;

/// For an export: each trace cut into steps as compile_cpu_steps cuts them, and every kernel
/// of every trace in one position-independent object for `cpu` (an LLVM CPU name; "" for
/// this machine's). Fills `manifest`'s entries, kernel symbols, CPU and features, and
/// `object` (empty when no op compiles); "" on success, else why not. `strict`: as
/// compile_cpu_steps.
std::string compile_cpu_export(const std::vector<const Trace*>& traces, const std::string& cpu, bool strict,
                               ExportManifest& manifest, std::string& object);

}  // namespace ejit::detail
