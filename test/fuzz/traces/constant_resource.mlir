// EXPECT: {DIR}constant_resource.mlir:3:8: ejit.constant's value is not a dense<...> attribute of numbers
func.func @f() -> tensor<2xf32> {
  %0 = ejit.constant dense_resource<blob> : tensor<2xf32>
  return %0 : tensor<2xf32>
}
