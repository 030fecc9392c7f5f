// EXPECT: not valid ejit IR: {DIR}reduce_bad_keepdims.mlir:3:8: 'ejit.argmax' op attribute 'keepdims' failed to satisfy constraint
func.func @f(%a: tensor<2xf32>) -> tensor<i64> {
  %0 = "ejit.argmax"(%a) {axes = array<i64: 0>, keepdims = 1 : i32} : (tensor<2xf32>) -> tensor<i64>
  return %0 : tensor<i64>
}
