// LLVM's half of the CPU compiler: the optimization pipeline run on a kernel's LLVM IR.
#pragma once

#include <string>

namespace llvm {
class Module;
class TargetMachine;
}  // namespace llvm

namespace ejit::detail {

/// The LLVM pass pipeline for a kernel at EJIT_OPT_LEVEL (PassBuilder's textual syntax):
/// 0 none, 1 cleanup and loop-invariant code motion, 2 (the default) that plus vectorization
/// and unrolling, 3 LLVM's whole -O3 pipeline. `first_tier` (CompileOptions::fast_codegen):
/// level 2 without unrolling, whose code the full compile replaces anyway.
std::string llvm_pipeline(unsigned opt_level, bool first_tier = false);

/// Runs llvm_pipeline(opt_level, first_tier) on `module` for the host `tm`; "" on success,
/// else why.
std::string optimize_llvm(llvm::Module& module, llvm::TargetMachine& tm, unsigned opt_level, bool first_tier = false);

}  // namespace ejit::detail
