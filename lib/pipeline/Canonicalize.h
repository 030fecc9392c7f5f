// ejit-canonicalize: MLIR's canonicalizer, with its pattern set built once per context.
#pragma once

namespace mlir {
class MLIRContext;
}  // namespace mlir

namespace ejit::detail {

/// Registers the ejit-canonicalize pass (for textual pipelines); idempotent.
void register_canonicalize_pass();
/// Marks a context that lives until the process ends (the JIT's): ejit-canonicalize builds
/// its pattern set once per set of loaded dialects and keeps it. In any other context (ejit-opt
/// makes one per input split, and a new one may reuse a freed one's address) it builds the
/// set at each initialization, as upstream's canonicalize does.
void keep_canonicalization_patterns(mlir::MLIRContext* context);

}  // namespace ejit::detail
