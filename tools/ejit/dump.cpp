// ejit dump: a trace file's IR at one compiler stage (or all of them).
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.h"
#include "ejit/jit.h"

namespace ejit::tool {

const char* const kDumpHelp = R"(usage: ejit dump FILE.mlir [--stage=S] [--device=cpu|cuda]

Compiles the trace in FILE.mlir (ejit dialect, as Trace::save writes it) for the CPU (or,
with --device=cuda, for the GPU; no GPU is needed) and prints its IR at stage S (default:
ejit):
  ejit          the trace after canonicalization, wrapped in the memref ABI function @kernel
  linalg        lowered to linalg/tensor/arith/math
  fused         after elementwise fusion
  loops         bufferized, as parallel loops on memrefs
  llvm-dialect  the MLIR LLVM dialect
  llvm          LLVM IR after LLVM's optimizations
  asm           host assembly (x86-64 for this CPU) of that LLVM IR
  all           every stage, each after a "// ----- stage NAME -----" line
  ptx           the GPU program of the trace: its steps (fused kernels, block reductions,
                cuBLAS matmuls, host fallbacks) and their NVPTX assembly ($EJIT_CUDA_ARCH,
                default sm_90); needs no GPU (`ptxas` from the CUDA toolkit checks it)
  gpu           (--device=cuda) the kernels outlined into gpu.modules, beside the host
                launches the executor's plan is read from

With --device=cuda the stages are those of the GPU program, per step: ejit, linalg, fused,
loops (collapsed, tiled by 256), gpu and ptx.

The trace is compiled as jit() compiles it: ops without a CPU lowering (matmul, which runs
on the BLAS; take, gather, argmax, ...) run on the interpreter between compiled kernels,
and each stage shows every kernel. EJIT_CODEGEN_MATMUL=1 compiles matmul as loops. A stage
that exists is printed even if a later stage fails; the failure is then an error.
)";

namespace {

std::string stage_list() {
  std::string s;
  for (int i = 0; i < kNumStages; ++i) s += std::string(stage_name(static_cast<Stage>(i))) + ", ";
  return s + "all";
}

}  // namespace

int cmd_dump(const Args& a) {
  const std::string& file = a.file();
  const std::string stage = a.get("stage", "ejit");
  std::vector<Stage> stages;
  for (int i = 0; i < kNumStages; ++i)
    if (stage == "all" || stage == stage_name(static_cast<Stage>(i))) stages.push_back(static_cast<Stage>(i));
  if (stages.empty()) throw UsageError(fmt::format("unknown stage '{}' (expected one of {})", stage, stage_list()));

  Trace trace = load_trace(file);
  const std::string device = a.get("device", "cpu");
  if (device != "cpu" && device != "cuda") throw UsageError(fmt::format("unknown device '{}' (expected cpu or cuda)", device));
  const bool want_asm = stage == "all" || stage == "asm", want_ptx = stage == "all" || stage == "ptx";
  const Compiled r = compile(trace, {.target = device == "cuda" ? Target::CUDA : Target::CPU,
                                     .keep_ir = true,
                                     .keep_asm = want_asm,
                                     .keep_ptx = want_ptx});
  if (stage == "all") {  // only the stages this back end has
    std::vector<Stage> made;
    for (Stage s : stages)
      if (!r.ir(s).empty() || (device == "cpu" && s != Stage::Gpu)) made.push_back(s);
    stages = made;
  }
  bool missing = false;
  for (Stage s : stages) {
    const std::string& text = r.ir(s);
    if (text.empty()) {
      missing = true;
      break;
    }
    if (stage == "all") fmt::print("// ----- stage {} -----\n", stage_name(s));
    fmt::print("{}{}", text, text.back() == '\n' ? "" : "\n");
  }
  std::fflush(stdout);
  const std::string why = fmt::format("{}: {}", file, r.error().empty() ? "compilation failed" : r.error());
  if (missing || (stage == "all" && !r.ok())) throw Error(why);
  if (!r.ok()) fmt::print(stderr, "ejit: note: a later stage failed: {}\n", why);
  return 0;
}

}  // namespace ejit::tool
