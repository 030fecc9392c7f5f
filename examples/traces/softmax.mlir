func.func @softmax(%arg0: tensor<256x1024xf32>) -> (tensor<256x1024xf32>) {
  %1 = ejit.max %arg0 {axes = array<i64: 1>, keepdims = false} : tensor<256x1024xf32> -> tensor<256xf32>
  %2 = ejit.reshape %1 : tensor<256xf32> -> tensor<256x1xf32>
  %3 = ejit.sub %arg0, %2 : tensor<256x1024xf32>, tensor<256x1xf32> -> tensor<256x1024xf32>
  %4 = ejit.exp %3 : tensor<256x1024xf32> -> tensor<256x1024xf32>
  %5 = ejit.sum %4 {axes = array<i64: 1>, keepdims = false} : tensor<256x1024xf32> -> tensor<256xf32>
  %6 = ejit.reshape %5 : tensor<256xf32> -> tensor<256x1xf32>
  %7 = ejit.div %4, %6 : tensor<256x1024xf32>, tensor<256x1xf32> -> tensor<256x1024xf32>
  return %7 : tensor<256x1024xf32>
}
