func.func @mlp(%arg0: tensor<32x64xf32>, %arg1: tensor<64x128xf32>, %arg2: tensor<128xf32>, %arg3: tensor<128x10xf32>, %arg4: tensor<10xf32>) -> (tensor<32x10xf32>) {
  %5 = ejit.matmul %arg0, %arg1 : tensor<32x64xf32>, tensor<64x128xf32> -> tensor<32x128xf32>
  %6 = ejit.add %5, %arg2 : tensor<32x128xf32>, tensor<128xf32> -> tensor<32x128xf32>
  %7 = ejit.relu %6 : tensor<32x128xf32> -> tensor<32x128xf32>
  %8 = ejit.matmul %7, %arg3 : tensor<32x128xf32>, tensor<128x10xf32> -> tensor<32x10xf32>
  %9 = ejit.add %8, %arg4 : tensor<32x10xf32>, tensor<10xf32> -> tensor<32x10xf32>
  %10 = ejit.max %9 {axes = array<i64: 1>, keepdims = false} : tensor<32x10xf32> -> tensor<32xf32>
  %11 = ejit.reshape %10 : tensor<32xf32> -> tensor<32x1xf32>
  %12 = ejit.sub %9, %11 : tensor<32x10xf32>, tensor<32x1xf32> -> tensor<32x10xf32>
  %13 = ejit.exp %12 : tensor<32x10xf32> -> tensor<32x10xf32>
  %14 = ejit.sum %13 {axes = array<i64: 1>, keepdims = false} : tensor<32x10xf32> -> tensor<32xf32>
  %15 = ejit.reshape %14 : tensor<32xf32> -> tensor<32x1xf32>
  %16 = ejit.div %13, %15 : tensor<32x10xf32>, tensor<32x1xf32> -> tensor<32x10xf32>
  return %16 : tensor<32x10xf32>
}
