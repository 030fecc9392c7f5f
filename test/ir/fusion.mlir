// RUN: ejit-opt %s --convert-ejit-to-linalg --canonicalize --linalg-fuse-elementwise-ops | FileCheck %s
// The benchmark chain exp(a*b) + tanh(c)*0.5 - a/(1+b*b), broadcast c included, fuses
// into one loop nest; softmax keeps one nest per reduction plus the elementwise rest.

// CHECK-LABEL: func.func @chain
// CHECK-COUNT-1: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @chain(%a: tensor<8x16xf32>, %b: tensor<8x16xf32>, %c: tensor<16xf32>) -> tensor<8x16xf32> {
  %half = ejit.constant dense<5.000000e-01> : tensor<f32>
  %one = ejit.constant dense<1.000000e+00> : tensor<f32>
  %0 = ejit.mul %a, %b : tensor<8x16xf32>, tensor<8x16xf32> -> tensor<8x16xf32>
  %1 = ejit.exp %0 : tensor<8x16xf32> -> tensor<8x16xf32>
  %2 = ejit.tanh %c : tensor<16xf32> -> tensor<16xf32>
  %3 = ejit.mul %2, %half : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  %4 = ejit.add %1, %3 : tensor<8x16xf32>, tensor<16xf32> -> tensor<8x16xf32>
  %5 = ejit.mul %b, %b : tensor<8x16xf32>, tensor<8x16xf32> -> tensor<8x16xf32>
  %6 = ejit.add %one, %5 : tensor<f32>, tensor<8x16xf32> -> tensor<8x16xf32>
  %7 = ejit.div %a, %6 : tensor<8x16xf32>, tensor<8x16xf32> -> tensor<8x16xf32>
  %8 = ejit.sub %4, %7 : tensor<8x16xf32>, tensor<8x16xf32> -> tensor<8x16xf32>
  return %8 : tensor<8x16xf32>
}

// CHECK-LABEL: func.func @softmax
// CHECK-COUNT-4: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @softmax(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = ejit.max %x {axes = array<i64: 1>, keepdims = false} : tensor<4x8xf32> -> tensor<4xf32>
  %1 = ejit.reshape %0 : tensor<4xf32> -> tensor<4x1xf32>
  %2 = ejit.sub %x, %1 : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xf32>
  %3 = ejit.exp %2 : tensor<4x8xf32> -> tensor<4x8xf32>
  %4 = ejit.sum %3 {axes = array<i64: 1>, keepdims = false} : tensor<4x8xf32> -> tensor<4xf32>
  %5 = ejit.reshape %4 : tensor<4xf32> -> tensor<4x1xf32>
  %6 = ejit.div %3, %5 : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xf32>
  return %6 : tensor<4x8xf32>
}
