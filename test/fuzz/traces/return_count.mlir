// EXPECT: not valid ejit IR: {DIR}return_count.mlir:3:3: 'func.return' op has 2 operands, but enclosing function (@f) returns 1
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  return %a, %a : tensor<2xf32>, tensor<2xf32>
}
