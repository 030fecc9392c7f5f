// The front half of compilation that the CPU and GPU back ends share: the trace as MLIR
// text, the shared MLIR context, and the passes from the ejit dialect to bufferized
// parallel loops.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "ejit/stage.h"
#include "ejit/trace.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

namespace ejit::detail {

/// One compile at a time: the context and the pass registry are shared. Hold it while
/// using compiler_context().
std::mutex& compiler_mutex();
mlir::MLIRContext& compiler_context();

/// The trace as a private function plus @kernel(inputs..., outputs...) on memrefs that
/// calls it and writes each result into its output buffer.
std::string module_text(const Trace& t);
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
/// Runs a textual pass pipeline (no builtin.module anchor) on m; parse errors go to diagnostics.
bool run_pipeline(mlir::ModuleOp m, const std::string& pipeline, std::string& diagnostics);

/// ejit -> linalg -> fused -> bufferized parallel loops, calling stage_done after the ejit,
/// linalg and fused stages. for_gpu leaves out deallocations (the GPU executor frees
/// temporaries after its last launch). On failure, `error` names the stage.
bool lower_to_loops(mlir::ModuleOp module, bool for_gpu, const std::function<void(Stage, mlir::Operation*)>& stage_done,
                    std::string& error, std::string& diagnostics);

/// Whether a node runs on the interpreter inside a compiled function (no lowering, or a
/// library call that beats generated code, like matmul on the BLAS); the reason, or "".
std::string interpreter_reason(const Trace& trace, const TraceNode& node);

}  // namespace ejit::detail
