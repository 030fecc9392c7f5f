// The one place that picks a back end for a trace: jit(), ejit::compile() and the tools
// all compile through compile_trace.
#pragma once

#include "../backend/common/executable.h"
#include "ejit/compile.h"

namespace ejit::detail {

/// Never throws: a compiler failure of any kind is the result's error.
CompileResult compile_trace(const Trace& trace, const CompileOptions& options);
/// The trace's code from the disk cache at once (full code, or a first tier's when
/// options.fast_codegen), or a result without an executable: not cached, the cache is off,
/// not a CPU trace, or the compiler is busy (this never waits for it).
CompileResult load_from_disk_cache(const Trace& trace, const CompileOptions& options);
/// Several traces at once (the segments of a trace tree): on the CPU their kernels share one
/// module. No IR is kept (options' keep_* are ignored).
std::vector<CompileResult> compile_traces(const std::vector<const Trace*>& traces, const CompileOptions& options);

}  // namespace ejit::detail
