// Passes on the ejit dialect. Lowerings to other dialects (ejit-to-linalg) are declared
// next to their code; this file holds the ones that stay within ejit.
#ifndef EJIT_PASSES_TD
#define EJIT_PASSES_TD

include "mlir/Pass/PassBase.td"

def EjitExplicitBroadcast : Pass<"ejit-explicit-broadcast"> {
  let summary = "Makes the implicit broadcasting of elementwise ops explicit";
  let description = [{
    Inserts an `ejit.broadcast_to` before every operand of an elementwise op
    (each op of the op table, and `ejit.where`) whose shape differs from the result
    shape, so that afterwards all operands of elementwise ops have the result's
    shape. A lowering then only needs identity indexing for elementwise ops plus one
    lowering of `ejit.broadcast_to`; elementwise fusion merges the two again.

    ```mlir
    %2 = ejit.add %0, %1 : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
    // becomes
    %b = ejit.broadcast_to %1 : tensor<3xf32> -> tensor<4x3xf32>
    %2 = ejit.add %0, %b : tensor<4x3xf32>, tensor<4x3xf32> -> tensor<4x3xf32>
    ```
  }];
  let dependentDialects = ["::mlir::ejit::EjitDialect"];
}

#endif // EJIT_PASSES_TD
