// Compiles a Trace to native CPU code: ejit -> linalg -> fused -> loops -> LLVM -> ORC JIT.
#pragma once

#include <vector>

#include "../common/executable.h"
#include "ejit/trace.h"

namespace ejit::detail {

/// Compiles `trace` as one kernel; keeps the IR of each stage when keep_ir (or EJIT_DUMP asks
/// for it). The host assembly (Stage::Asm) costs a second code generation: it is produced
/// when keep_asm or EJIT_DUMP names it, and kept when keep_ir.
CompileResult compile_for_cpu(const Trace& trace, bool keep_ir, bool keep_asm = false);
/// Compiles several traces as one module (kernel0, kernel1, ...): one pipeline run, one LLVM
/// module, one code generation and one disk cache entry, instead of one each. The first
/// result holds the module's IR and times; when one kernel fails, every result has the error.
std::vector<CompileResult> compile_for_cpu(const std::vector<const Trace*>& traces, bool keep_ir, bool keep_asm = false);

}  // namespace ejit::detail
