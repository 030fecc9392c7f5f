// EXPECT: {DIR}constant_encoding.mlir:3:8: ejit.constant's value has type tensor<2xf32, "enc">: a trace's tensors have no encoding
func.func @f() -> tensor<2xi32> {
  %0 = ejit.constant dense<1.0> : tensor<2xf32, "enc">
  %1 = ejit.cast %0 : tensor<2xf32, "enc"> -> tensor<2xi32>
  return %1 : tensor<2xi32>
}
