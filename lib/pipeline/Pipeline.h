// The front half of compilation that the CPU and GPU back ends share: the trace as MLIR
// text, the shared MLIR context, and the passes from the ejit dialect to bufferized
// parallel loops.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "Registration.h"
#include "ejit/stage.h"
#include "ejit/trace.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

namespace ejit::detail {

/// One compile at a time: the context and the pass registry are shared. Hold it while
/// using compiler_context() (a compile's own threads use the other slots under it).
std::mutex& compiler_mutex();
/// The compiler's context; slot > 0: one of the contexts that a compile holding the lock
/// runs on threads of its own, one per thread (made on first use, kept for the process's
/// life; slots below kMaxCompilerContexts).
constexpr int kMaxCompilerContexts = 8;
mlir::MLIRContext& compiler_context(int slot = 0);

/// The trace as a private function plus @kernel(inputs..., outputs...) on memrefs that
/// calls it and writes each result into its output buffer.
std::string module_text(const Trace& t);
/// Several traces in one module: @kernel0, @kernel1, ... (just @kernel for one trace).
std::string module_text(const std::vector<const Trace*>& traces);
/// The name of kernel i of n in such a module.
std::string kernel_name(size_t i, size_t n);
/// "memref<2x3xf32>" for a trace value.
std::string memref_type(const ValueType& v);

/// Collects the context's diagnostics, "; "-separated, while alive.
class CollectDiagnostics {
 public:
  explicit CollectDiagnostics(mlir::MLIRContext& ctx)
      : handler_(&ctx, [this](mlir::Diagnostic& d) {
          text += (text.empty() ? "" : "; ") + d.str();
          return mlir::success();
        }) {}
  std::string text;

 private:
  mlir::ScopedDiagnosticHandler handler_;
};

/// Textual IR of an op.
std::string print(mlir::Operation* op);
/// True when $EJIT_DUMP names the stage (or "all").
bool dump_requested(Stage s);
/// Prints a stage's IR to stderr as EJIT_DUMP does ("// ----- EJIT_DUMP stage NAME{note} -----").
void dump_stage(Stage s, std::string_view text, std::string_view note = "");
/// Runs a textual pass pipeline (no builtin.module anchor) on m; errors, a parse error too, go to
/// the context's diagnostics.
bool run_pipeline(mlir::ModuleOp m, const std::string& pipeline);

/// Where the pipeline goes: the CPU (ends in the LLVM dialect) or the GPU (ends in PTX).
struct PipelineOptions {
  bool gpu = false;
  std::string chip = "sm_90";  // the GPU's ptx stage
};

/// The stages a target's pipeline runs, in order: ejit, linalg, fused, loops, then
/// llvm-dialect (CPU), or gpu and ptx (GPU). LLVM's stages (llvm, asm) come after it.
const std::vector<Stage>& pipeline_stages(bool gpu);
/// Adds the passes that take a module from the stage before `stage` to `stage`. The JIT runs
/// these stage by stage (to dump between them); ejit-opt's registered pipelines run the same
/// passes (--ejit-cpu-pipeline=stop-after=STAGE).
void add_stage_passes(mlir::OpPassManager& pm, Stage stage, const PipelineOptions& options);
/// Runs the stages from `first` to `last` of the target's pipeline on `module`, calling
/// stage_done after each; on failure `error` names the stage (the context's diagnostics say more).
bool run_stages(mlir::ModuleOp module, const PipelineOptions& options, Stage first, Stage last,
                const std::function<void(Stage, mlir::Operation*)>& stage_done, std::string& error);

/// Adds a module pass that runs `fn` (a step that is not an upstream pass), and a textual
/// pass pipeline (one that does not parse becomes a pass that fails, saying why).
void add_module_pass(mlir::OpPassManager& pm, std::string argument, std::function<mlir::LogicalResult(mlir::ModuleOp)> fn);
void add_passes(mlir::OpPassManager& pm, const std::string& pipeline);

/// Replaces `copy` (a memref.copy of rank >= 1) by a parallel loop of loads and stores over
/// every element, or, with `rows_from`/`rows_to` given, over rows [rows_from, rows_to) of dim 0.
void copy_as_parallel_loop(mlir::Operation* copy, mlir::Value rows_from = {}, mlir::Value rows_to = {});

/// Whether a node runs on the interpreter inside a compiled function (no lowering, or a
/// library call that beats generated code, like matmul on the BLAS); the reason, or "".
/// `strict` (CompileOptions::strict): also every op whose compiled result could differ from
/// the interpreter's in the last bit (transcendentals, float reductions, generated matmuls).
std::string interpreter_reason(const Trace& trace, const TraceNode& node, bool strict = false);

}  // namespace ejit::detail
