// EXPECT: {DIR}op_result_encoding.mlir:4:8: the result of 'ejit.cast' has type tensor<2xf32, "enc">: a trace's tensors have no encoding
// The verifier takes tensors with an encoding; the trace does not.
func.func @f(%a: tensor<2xf32>) -> tensor<2xi32> {
  %0 = ejit.cast %a : tensor<2xf32> -> tensor<2xf32, "enc">
  %1 = ejit.cast %0 : tensor<2xf32, "enc"> -> tensor<2xi32>
  return %1 : tensor<2xi32>
}
