func.func @layer_norm(%arg0: tensor<256x1024xf32>, %arg1: tensor<1024xf32>, %arg2: tensor<1024xf32>) -> (tensor<256x1024xf32>) {
  %3 = ejit.sum %arg0 {axes = array<i64: 1>, keepdims = false} : tensor<256x1024xf32> -> tensor<256xf32>
  %4 = ejit.reshape %3 : tensor<256xf32> -> tensor<256x1xf32>
  %5 = ejit.constant dense<1.02400000000000000e+03> : tensor<f64>
  %6 = ejit.cast %5 : tensor<f64> -> tensor<f32>
  %7 = ejit.div %4, %6 : tensor<256x1xf32>, tensor<f32> -> tensor<256x1xf32>
  %8 = ejit.sub %arg0, %7 : tensor<256x1024xf32>, tensor<256x1xf32> -> tensor<256x1024xf32>
  %9 = ejit.mul %8, %8 : tensor<256x1024xf32>, tensor<256x1024xf32> -> tensor<256x1024xf32>
  %10 = ejit.sum %9 {axes = array<i64: 1>, keepdims = false} : tensor<256x1024xf32> -> tensor<256xf32>
  %11 = ejit.reshape %10 : tensor<256xf32> -> tensor<256x1xf32>
  %12 = ejit.constant dense<1.02400000000000000e+03> : tensor<f64>
  %13 = ejit.cast %12 : tensor<f64> -> tensor<f32>
  %14 = ejit.div %11, %13 : tensor<256x1xf32>, tensor<f32> -> tensor<256x1xf32>
  %15 = ejit.constant dense<1.00000000000000008e-05> : tensor<f64>
  %16 = ejit.cast %15 : tensor<f64> -> tensor<f32>
  %17 = ejit.add %14, %16 : tensor<256x1xf32>, tensor<f32> -> tensor<256x1xf32>
  %18 = ejit.rsqrt %17 : tensor<256x1xf32> -> tensor<256x1xf32>
  %19 = ejit.mul %8, %18 : tensor<256x1024xf32>, tensor<256x1xf32> -> tensor<256x1024xf32>
  %20 = ejit.mul %19, %arg1 : tensor<256x1024xf32>, tensor<1024xf32> -> tensor<256x1024xf32>
  %21 = ejit.add %20, %arg2 : tensor<256x1024xf32>, tensor<1024xf32> -> tensor<256x1024xf32>
  return %21 : tensor<256x1024xf32>
}
