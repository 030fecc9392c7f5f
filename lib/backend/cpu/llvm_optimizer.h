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
/// and unrolling, 3 LLVM's whole -O3 pipeline.
std::string llvm_pipeline(unsigned opt_level);

/// Runs llvm_pipeline(opt_level) on `module` for the host `tm`; "" on success, else why.
std::string optimize_llvm(llvm::Module& module, llvm::TargetMachine& tm, unsigned opt_level);

}  // namespace ejit::detail
