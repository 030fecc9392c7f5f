// Lowerings out of the ejit dialect.
#ifndef EJIT_CONVERSION_PASSES_TD
#define EJIT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertEjitToLinalg : Pass<"convert-ejit-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lowers ejit ops to linalg, tensor, arith and math on tensors";
  let description = [{
    Elementwise ops become `linalg.generic` ops with parallel loops (broadcast operands
    are collapsed so their indexing maps stay projected permutations), reductions
    `linalg.generic` ops with reduction loops over a `linalg.fill`ed init (argmax and
    argmin two: the extreme, then the first position holding it), matmul
    `linalg.matmul`/`linalg.batch_matmul`, shape ops tensor reshapes, `linalg.transpose`
    and slices, take and gather `linalg.generic` ops that read their source with
    `tensor.extract` (along a static dim). Fails, naming the op, on an op without a
    lowering (host calls, broadcast-batch matmul, take or gather along a dynamic dim). Matmul is lowered only where the module has the
    unit attribute `ejit.codegen_matmul` (the GPU back end, or EJIT_CODEGEN_MATMUL=1) or the
    pass option says so: elsewhere it stays on the BLAS.
  }];
  let options = [
    Option<"codegenMatmul", "codegen-matmul", "bool", /*default=*/"false",
           "Lower matmul to loops even without the module's ejit.codegen_matmul attribute">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect"];
}

def EjitAccurateTrig : Pass<"ejit-accurate-trig"> {
  let summary = "Rewrites f32 math.sin and math.cos as accurate, vectorizable arith";
  let description = [{
    The argument is reduced by pi/2 in f64 with a three-part Cody-Waite split of fused
    multiply-adds, then sin and cos of the remainder (as a high and a low f32 part) are the
    interpreter's compensated f32 polynomials, and the
    quadrant picks one and its sign. Within 1 ulp of f32 for |x| < 2^50, NaN for inf and NaN;
    upstream's polynomial approximation reduces with a single-precision pi/2 instead.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect"];
}

#endif // EJIT_CONVERSION_PASSES_TD
