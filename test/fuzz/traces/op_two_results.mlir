// EXPECT: not valid ejit IR: {DIR}op_two_results.mlir:3:10: 'ejit.exp' op requires one result
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0:2 = "ejit.exp"(%a) : (tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>)
  return %0#0 : tensor<2xf32>
}
