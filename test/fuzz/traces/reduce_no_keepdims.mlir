// EXPECT: not valid ejit IR: {DIR}reduce_no_keepdims.mlir:3:8: 'ejit.max' op requires attribute 'keepdims'
func.func @f(%a: tensor<2xf32>) -> tensor<f32> {
  %0 = "ejit.max"(%a) {axes = array<i64: 0>} : (tensor<2xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
