// EXPECT: {DIR}reduce_keepdims.mlir:3:8: keepdims reductions are not part of recorded traces
func.func @f(%a: tensor<2x3xf32>) -> tensor<2x1xf32> {
  %0 = ejit.sum %a {axes = array<i64: 1>, keepdims = true} : tensor<2x3xf32> -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}
