// EXPECT: not valid ejit IR: {DIR}no_terminator.mlir:3:8: block with no terminator
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0 = ejit.exp %a : tensor<2xf32> -> tensor<2xf32>
}
