// What ejit-opt needs to run the JIT's pipelines: MLIR-only declarations (no ejit runtime
// headers), implemented in Pipeline.cpp.
#pragma once

namespace mlir {
class DialectRegistry;
}  // namespace mlir

namespace ejit::detail {

/// Registers ejit-cpu-pipeline and ejit-gpu-pipeline (stop-after=STAGE picks the last stage).
void register_pipelines();
/// The dialects, interface models and LLVM IR translations the pipelines use.
void register_compiler_dialects(mlir::DialectRegistry& registry);
/// LLVM's host and NVPTX targets.
void initialize_llvm_targets();

}  // namespace ejit::detail
