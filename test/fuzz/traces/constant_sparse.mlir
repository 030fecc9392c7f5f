// EXPECT: {DIR}constant_sparse.mlir:3:8: ejit.constant's value is not a dense<...> attribute of numbers
func.func @f() -> tensor<2xf32> {
  %0 = ejit.constant sparse<[[0]], [1.0]> : tensor<2xf32>
  return %0 : tensor<2xf32>
}
