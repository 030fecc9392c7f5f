// RUN: ejit-opt %s --ejit-cpu-pipeline=stop-after=fused | FileCheck %s
// A take of a value the kernel computes elementwise reads that value's operands at the
// indices and computes the element there (ExtractFusion.h): no temporary of t * 2.

// CHECK-LABEL: func.func @take_of_scaled
// CHECK: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: %[[ROW:.*]] = arith.index_cast %{{.*}} : i64 to index
// CHECK: %[[V:.*]] = tensor.extract %arg0[%[[ROW]], %{{.*}}] : tensor<500x8xf32>
// CHECK: arith.mulf %[[V]]
// CHECK: return
func.func @take_of_scaled(%t: tensor<500x8xf32>, %i: tensor<4xi64>) -> tensor<4x8xf32> {
  %two = ejit.constant dense<2.000000e+00> : tensor<f32>
  %one = ejit.constant dense<1.000000e+00> : tensor<f32>
  %0 = ejit.mul %t, %two : tensor<500x8xf32>, tensor<f32> -> tensor<500x8xf32>
  %1 = ejit.take %0, %i {axis = 0 : i64} : tensor<500x8xf32>, tensor<4xi64> -> tensor<4x8xf32>
  %2 = ejit.add %1, %one : tensor<4x8xf32>, tensor<f32> -> tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}

// A value read by the take and returned too is still computed in full for the return.
// CHECK-LABEL: func.func @take_of_returned
// CHECK-COUNT-2: linalg.generic
// CHECK: return
func.func @take_of_returned(%t: tensor<500x8xf32>, %i: tensor<4xi64>) -> (tensor<4x8xf32>, tensor<500x8xf32>) {
  %0 = ejit.exp %t : tensor<500x8xf32> -> tensor<500x8xf32>
  %1 = ejit.take %0, %i {axis = 0 : i64} : tensor<500x8xf32>, tensor<4xi64> -> tensor<4x8xf32>
  return %1, %0 : tensor<4x8xf32>, tensor<500x8xf32>
}
