// EXPECT: not valid ejit IR: {DIR}reduce_bad_axes.mlir:3:8: 'ejit.sum' op attribute 'axes' failed to satisfy constraint
func.func @f(%a: tensor<2xf32>) -> tensor<f32> {
  %0 = "ejit.sum"(%a) {axes = [0], keepdims = false} : (tensor<2xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
