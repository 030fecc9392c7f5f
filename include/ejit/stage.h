// The compiler's stages: where `ejit dump --stage`, EJIT_DUMP and ir() look, and where a
// registered pipeline (ejit-opt --ejit-cpu-pipeline=stop-after=...) stops.
#pragma once

namespace ejit {

/// Stages of the compiler whose IR can be dumped (EJIT_DUMP=ejit,linalg,fused,loops,llvm-dialect,llvm,asm,
/// ptx,gpu or all). Asm is the host assembly of the optimized LLVM module; it costs a second code
/// generation, so it is produced only when asked (EJIT_DUMP, `ejit dump --stage=asm`, ir()).
/// Ptx is the GPU program of the same trace (its steps and the NVPTX assembly of its kernels);
/// Gpu is its kernels outlined into gpu.modules beside the host launches they are read from.
/// For a trace compiled for the CPU both are made only when asked; they need no GPU.
enum class Stage { Ejit, Linalg, Fused, Loops, LLVMDialect, LLVM, Asm, PTX, Gpu };
inline constexpr int kNumStages = 9;

/// The stage's name as EJIT_DUMP spells it ("ejit", ..., "llvm-dialect", "llvm", "asm", "ptx", "gpu").
constexpr const char* stage_name(Stage s) {
  constexpr const char* names[] = {"ejit", "linalg", "fused", "loops", "llvm-dialect", "llvm", "asm", "ptx", "gpu"};
  return names[static_cast<int>(s)];
}

}  // namespace ejit
