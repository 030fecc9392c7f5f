// Compiles a Trace to native CPU code: ejit -> linalg -> fused -> loops -> LLVM -> ORC JIT.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "ejit/jit.h"
#include "ejit/trace.h"

namespace ejit::detail {

/// A compiled trace: call run() with the trace's inputs; outputs are freshly allocated.
class CpuExecutable {
 public:
  virtual ~CpuExecutable() = default;
  virtual std::vector<Tensor> run(const std::vector<Tensor>& inputs) const = 0;
};

struct CompileResult {
  std::unique_ptr<CpuExecutable> executable;  // null when compilation failed
  std::string error;                           // why, naming the op
  std::array<std::string, kNumStages> ir;      // per Stage, when requested
  double milliseconds = 0;
  bool from_disk_cache = false;                // loaded from the on-disk cache, not compiled
};

/// Compiles `trace`; keeps the IR of each stage when keep_ir (or EJIT_DUMP asks for it).
/// The host assembly (Stage::Asm) costs a second code generation: it is produced when
/// keep_asm or EJIT_DUMP names it, and kept when keep_ir.
/// (Stage::PTX comes from the GPU back end: see compile_trace and GpuProgram.h.)
CompileResult compile_for_cpu(const Trace& trace, bool keep_ir, bool keep_asm = false);

}  // namespace ejit::detail
