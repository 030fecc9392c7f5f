// EXPECT: not valid ejit IR: {DIR}use_before_def.mlir:3:8: operand #0 does not dominate this use
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0 = ejit.exp %1 : tensor<2xf32> -> tensor<2xf32>
  %1 = ejit.exp %a : tensor<2xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
