// EXPECT: not valid ejit IR: {DIR}op_after_return.mlir:3:3: 'func.return' op must be the last operation in the parent block
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  return %a : tensor<2xf32>
  %0 = ejit.exp %a : tensor<2xf32> -> tensor<2xf32>
}
