// LOADS: constants of every dtype, splat and not.
func.func @f() -> (tensor<3xf32>, tensor<2x2xi1>, tensor<2xi64>, tensor<2xf64>, tensor<2xi32>, tensor<f32>) {
  %0 = ejit.constant dense<-0.0> : tensor<3xf32>
  %1 = ejit.constant dense<[[true, false], [false, true]]> : tensor<2x2xi1>
  %2 = ejit.constant dense<-9223372036854775807> : tensor<2xi64>
  %3 = ejit.constant dense<[1.5, 2.5]> : tensor<2xf64>
  %4 = ejit.constant dense<7> : tensor<2xi32>
  %5 = ejit.constant dense<3.0> : tensor<f32>
  return %0, %1, %2, %3, %4, %5 : tensor<3xf32>, tensor<2x2xi1>, tensor<2xi64>, tensor<2xf64>, tensor<2xi32>, tensor<f32>
}
