// EXPECT: {DIR}rank_17.mlir:2:1: @f result 0 has type tensor<1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1xf32>: rank 17 exceeds the maximum rank 16
func.func @f(%a: tensor<1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1xf32>) -> tensor<1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1xf32> {
  return %a : tensor<1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1xf32>
}
