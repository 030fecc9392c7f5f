// EXPECT: not valid ejit IR: {DIR}op_region.mlir:3:8: 'ejit.exp' op requires zero regions
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "ejit.exp"(%a) ({
    return %a : tensor<2xf32>
  }) : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
