// The one place that picks a back end for a trace: jit(), ejit::compile() and the tools
// all compile through compile_trace.
#pragma once

#include "../backend/common/executable.h"
#include "ejit/compile.h"

namespace ejit::detail {

CompileResult compile_trace(const Trace& trace, const CompileOptions& options);

}  // namespace ejit::detail
