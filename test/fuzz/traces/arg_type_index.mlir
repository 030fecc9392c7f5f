// EXPECT: {DIR}arg_type_index.mlir:3:14: @f argument 0 has type index
// (an argument that no op uses and the function does not return)
func.func @f(%a: index, %b: tensor<2xf32>) -> tensor<2xf32> {
  return %b : tensor<2xf32>
}
