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

// A value read by the take and returned too is still computed in full for the return;
// the take reads %arg0 and computes its few elements itself.
// CHECK-LABEL: func.func @take_of_returned
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: linalg.generic
// CHECK: tensor.extract %arg0
// CHECK: math.exp
// CHECK: return
func.func @take_of_returned(%t: tensor<500x8xf32>, %i: tensor<4xi64>) -> (tensor<4x8xf32>, tensor<500x8xf32>) {
  %0 = ejit.exp %t : tensor<500x8xf32> -> tensor<500x8xf32>
  %1 = ejit.take %0, %i {axis = 0 : i64} : tensor<500x8xf32>, tensor<4xi64> -> tensor<4x8xf32>
  return %1, %0 : tensor<4x8xf32>, tensor<500x8xf32>
}

// Values that meet again (v[k] = v[k-1] + v[k-2]): fusion merges what it may, and the take's
// extract is expanded one level at most, never once per path through the graph.
// CHECK-LABEL: func.func @take_of_paths
// CHECK-COUNT-1: tensor.extract
// CHECK-NOT: tensor.extract
// CHECK: return
func.func @take_of_paths(%t: tensor<500x8xf32>, %i: tensor<4xi64>) -> tensor<4x8xf32> {
  %v0 = ejit.exp %t : tensor<500x8xf32> -> tensor<500x8xf32>
  %v1 = ejit.sin %t : tensor<500x8xf32> -> tensor<500x8xf32>
  %v2 = ejit.add %v1, %v0 : tensor<500x8xf32>, tensor<500x8xf32> -> tensor<500x8xf32>
  %v3 = ejit.add %v2, %v1 : tensor<500x8xf32>, tensor<500x8xf32> -> tensor<500x8xf32>
  %v4 = ejit.add %v3, %v2 : tensor<500x8xf32>, tensor<500x8xf32> -> tensor<500x8xf32>
  %v5 = ejit.add %v4, %v3 : tensor<500x8xf32>, tensor<500x8xf32> -> tensor<500x8xf32>
  %v6 = ejit.add %v5, %v4 : tensor<500x8xf32>, tensor<500x8xf32> -> tensor<500x8xf32>
  %v7 = ejit.add %v6, %v5 : tensor<500x8xf32>, tensor<500x8xf32> -> tensor<500x8xf32>
  %v8 = ejit.add %v7, %v6 : tensor<500x8xf32>, tensor<500x8xf32> -> tensor<500x8xf32>
  %r = ejit.take %v8, %i {axis = 0 : i64} : tensor<500x8xf32>, tensor<4xi64> -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}
