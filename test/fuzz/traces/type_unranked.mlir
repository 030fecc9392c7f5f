// EXPECT: {DIR}type_unranked.mlir:2:1: @f result 0 has type tensor<*xf32>: a trace's values are ranked tensors of static shape
func.func @f(%a: tensor<*xf32>) -> tensor<*xf32> {
  return %a : tensor<*xf32>
}
