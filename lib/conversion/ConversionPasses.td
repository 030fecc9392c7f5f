// Lowerings out of the ejit dialect.
#ifndef EJIT_CONVERSION_PASSES_TD
#define EJIT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertEjitToLinalg : Pass<"convert-ejit-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lowers ejit ops to linalg, tensor, arith and math on tensors";
  let description = [{
    Elementwise ops become `linalg.generic` ops with parallel loops (broadcast operands
    are collapsed so their indexing maps stay projected permutations), reductions
    `linalg.generic` ops with reduction loops over a `linalg.fill`ed init, matmul
    `linalg.matmul`/`linalg.batch_matmul`, shape ops tensor reshapes, `linalg.transpose`
    and slices. Fails, naming the op, on an op without a lowering yet (argmax, argmin,
    take, gather, negative-step slices, integer pow, broadcast-batch matmul).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect"];
}

#endif // EJIT_CONVERSION_PASSES_TD
