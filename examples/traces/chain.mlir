func.func @chain(%arg0: tensor<1024x1024xf32>, %arg1: tensor<1024x1024xf32>, %arg2: tensor<1024xf32>) -> (tensor<1024x1024xf32>) {
  %3 = ejit.mul %arg1, %arg1 : tensor<1024x1024xf32>, tensor<1024x1024xf32> -> tensor<1024x1024xf32>
  %4 = ejit.constant dense<1> : tensor<i64>
  %5 = ejit.cast %4 : tensor<i64> -> tensor<f32>
  %6 = ejit.add %5, %3 : tensor<f32>, tensor<1024x1024xf32> -> tensor<1024x1024xf32>
  %7 = ejit.div %arg0, %6 : tensor<1024x1024xf32>, tensor<1024x1024xf32> -> tensor<1024x1024xf32>
  %8 = ejit.tanh %arg2 : tensor<1024xf32> -> tensor<1024xf32>
  %9 = ejit.constant dense<5.00000000000000000e-01> : tensor<f64>
  %10 = ejit.cast %9 : tensor<f64> -> tensor<f32>
  %11 = ejit.mul %8, %10 : tensor<1024xf32>, tensor<f32> -> tensor<1024xf32>
  %12 = ejit.mul %arg0, %arg1 : tensor<1024x1024xf32>, tensor<1024x1024xf32> -> tensor<1024x1024xf32>
  %13 = ejit.exp %12 : tensor<1024x1024xf32> -> tensor<1024x1024xf32>
  %14 = ejit.add %13, %11 : tensor<1024x1024xf32>, tensor<1024xf32> -> tensor<1024x1024xf32>
  %15 = ejit.sub %14, %7 : tensor<1024x1024xf32>, tensor<1024x1024xf32> -> tensor<1024x1024xf32>
  return %15 : tensor<1024x1024xf32>
}
