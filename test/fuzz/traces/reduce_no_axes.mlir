// EXPECT: not valid ejit IR: {DIR}reduce_no_axes.mlir:3:8: 'ejit.sum' op requires attribute 'axes'
func.func @f(%a: tensor<2xf32>) -> tensor<f32> {
  %0 = "ejit.sum"(%a) {keepdims = false} : (tensor<2xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
