// EXPECT: 2 functions have a body (@f at {DIR}two_bodies.mlir:2:1, @g at {DIR}two_bodies.mlir:5:1)
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  return %a : tensor<2xf32>
}
func.func @g(%a: tensor<2xf32>) -> tensor<2xf32> {
  return %a : tensor<2xf32>
}
