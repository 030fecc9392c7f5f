func.func @train_step(%arg0: tensor<64x32xf32>, %arg1: tensor<32x10xf32>, %arg2: tensor<64x10xf32>) -> (tensor<f32>, tensor<32x10xf32>) {
  %3 = ejit.matmul %arg0, %arg1 : tensor<64x32xf32>, tensor<32x10xf32> -> tensor<64x10xf32>
  %4 = ejit.max %3 {axes = array<i64: 1>, keepdims = false} : tensor<64x10xf32> -> tensor<64xf32>
  %5 = ejit.reshape %4 : tensor<64xf32> -> tensor<64x1xf32>
  %6 = ejit.sub %3, %5 : tensor<64x10xf32>, tensor<64x1xf32> -> tensor<64x10xf32>
  %7 = ejit.exp %6 : tensor<64x10xf32> -> tensor<64x10xf32>
  %8 = ejit.sum %7 {axes = array<i64: 1>, keepdims = false} : tensor<64x10xf32> -> tensor<64xf32>
  %9 = ejit.reshape %8 : tensor<64xf32> -> tensor<64x1xf32>
  %10 = ejit.log %9 : tensor<64x1xf32> -> tensor<64x1xf32>
  %11 = ejit.sub %6, %10 : tensor<64x10xf32>, tensor<64x1xf32> -> tensor<64x10xf32>
  %12 = ejit.mul %arg2, %11 : tensor<64x10xf32>, tensor<64x10xf32> -> tensor<64x10xf32>
  %13 = ejit.sum %12 {axes = array<i64: 1>, keepdims = false} : tensor<64x10xf32> -> tensor<64xf32>
  %14 = ejit.neg %13 : tensor<64xf32> -> tensor<64xf32>
  %15 = ejit.sum %14 {axes = array<i64: 0>, keepdims = false} : tensor<64xf32> -> tensor<f32>
  %16 = ejit.constant dense<6.40000000000000000e+01> : tensor<f64>
  %17 = ejit.cast %16 : tensor<f64> -> tensor<f32>
  %18 = ejit.div %15, %17 : tensor<f32>, tensor<f32> -> tensor<f32>
  %19 = ejit.constant dense<1.000000000e+00> : tensor<f32>
  %20 = ejit.div %19, %17 : tensor<f32>, tensor<f32> -> tensor<f32>
  %21 = ejit.reshape %20 : tensor<f32> -> tensor<1xf32>
  %22 = ejit.broadcast_to %21 : tensor<1xf32> -> tensor<64xf32>
  %23 = ejit.neg %22 : tensor<64xf32> -> tensor<64xf32>
  %24 = ejit.reshape %23 : tensor<64xf32> -> tensor<64x1xf32>
  %25 = ejit.broadcast_to %24 : tensor<64x1xf32> -> tensor<64x10xf32>
  %26 = ejit.mul %25, %arg2 : tensor<64x10xf32>, tensor<64x10xf32> -> tensor<64x10xf32>
  %27 = ejit.neg %26 : tensor<64x10xf32> -> tensor<64x10xf32>
  %28 = ejit.sum %27 {axes = array<i64: 1>, keepdims = false} : tensor<64x10xf32> -> tensor<64xf32>
  %29 = ejit.reshape %28 : tensor<64xf32> -> tensor<64x1xf32>
  %30 = ejit.div %29, %9 : tensor<64x1xf32>, tensor<64x1xf32> -> tensor<64x1xf32>
  %31 = ejit.reshape %30 : tensor<64x1xf32> -> tensor<64xf32>
  %32 = ejit.reshape %31 : tensor<64xf32> -> tensor<64x1xf32>
  %33 = ejit.broadcast_to %32 : tensor<64x1xf32> -> tensor<64x10xf32>
  %34 = ejit.mul %33, %7 : tensor<64x10xf32>, tensor<64x10xf32> -> tensor<64x10xf32>
  %35 = ejit.add %26, %34 : tensor<64x10xf32>, tensor<64x10xf32> -> tensor<64x10xf32>
  %36 = ejit.neg %35 : tensor<64x10xf32> -> tensor<64x10xf32>
  %37 = ejit.sum %36 {axes = array<i64: 1>, keepdims = false} : tensor<64x10xf32> -> tensor<64xf32>
  %38 = ejit.reshape %37 : tensor<64xf32> -> tensor<64x1xf32>
  %39 = ejit.reshape %38 : tensor<64x1xf32> -> tensor<64xf32>
  %40 = ejit.reshape %39 : tensor<64xf32> -> tensor<64x1xf32>
  %41 = ejit.reshape %4 : tensor<64xf32> -> tensor<64x1xf32>
  %42 = ejit.eq %3, %41 : tensor<64x10xf32>, tensor<64x1xf32> -> tensor<64x10xi1>
  %43 = ejit.cast %42 : tensor<64x10xi1> -> tensor<64x10xf32>
  %44 = ejit.sum %43 {axes = array<i64: 1>, keepdims = false} : tensor<64x10xf32> -> tensor<64xf32>
  %45 = ejit.reshape %44 : tensor<64xf32> -> tensor<64x1xf32>
  %46 = ejit.mul %40, %43 : tensor<64x1xf32>, tensor<64x10xf32> -> tensor<64x10xf32>
  %47 = ejit.div %46, %45 : tensor<64x10xf32>, tensor<64x1xf32> -> tensor<64x10xf32>
  %48 = ejit.add %35, %47 : tensor<64x10xf32>, tensor<64x10xf32> -> tensor<64x10xf32>
  %49 = ejit.permute %arg0 {perm = array<i64: 1, 0>} : tensor<64x32xf32> -> tensor<32x64xf32>
  %50 = ejit.matmul %49, %48 : tensor<32x64xf32>, tensor<64x10xf32> -> tensor<32x10xf32>
  %51 = ejit.constant dense<1.00000001490116119e-01> : tensor<f64>
  %52 = ejit.cast %51 : tensor<f64> -> tensor<f32>
  %53 = ejit.mul %50, %52 : tensor<32x10xf32>, tensor<f32> -> tensor<32x10xf32>
  %54 = ejit.sub %arg1, %53 : tensor<32x10xf32>, tensor<32x10xf32> -> tensor<32x10xf32>
  return %18, %54 : tensor<f32>, tensor<32x10xf32>
}
