// ejit-explicit-broadcast: operands of elementwise ops get the result's shape through
// ejit.broadcast_to; operands that already have it are left alone.
// RUN: ejit-opt %s -ejit-explicit-broadcast | FileCheck %s
// RUN: ejit-opt %s -pass-pipeline='builtin.module(func.func(ejit-explicit-broadcast))' | FileCheck %s

// CHECK-LABEL: func.func @binary
// CHECK-SAME: (%[[A:.*]]: tensor<4x3xf32>, %[[R:.*]]: tensor<3xf32>, %[[C:.*]]: tensor<4x1xf32>)
// CHECK-NEXT: %[[BR:.*]] = ejit.broadcast_to %[[R]] : tensor<3xf32> -> tensor<4x3xf32>
// CHECK-NEXT: %[[ADD:.*]] = ejit.add %[[A]], %[[BR]] : tensor<4x3xf32>, tensor<4x3xf32> -> tensor<4x3xf32>
// CHECK-NEXT: %[[BC:.*]] = ejit.broadcast_to %[[C]] : tensor<4x1xf32> -> tensor<4x3xf32>
// CHECK-NEXT: %[[BR2:.*]] = ejit.broadcast_to %[[R]] : tensor<3xf32> -> tensor<4x3xf32>
// CHECK-NEXT: %[[LT:.*]] = ejit.lt %[[BC]], %[[BR2]] : tensor<4x3xf32>, tensor<4x3xf32> -> tensor<4x3xi1>
// CHECK-NEXT: %[[EXP:.*]] = ejit.exp %[[ADD]] : tensor<4x3xf32> -> tensor<4x3xf32>
// CHECK-NEXT: return %[[EXP]], %[[LT]]
func.func @binary(%a: tensor<4x3xf32>, %r: tensor<3xf32>, %c: tensor<4x1xf32>)
    -> (tensor<4x3xf32>, tensor<4x3xi1>) {
  %0 = ejit.add %a, %r : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
  %1 = ejit.lt %c, %r : tensor<4x1xf32>, tensor<3xf32> -> tensor<4x3xi1>
  %2 = ejit.exp %0 : tensor<4x3xf32> -> tensor<4x3xf32>
  return %2, %1 : tensor<4x3xf32>, tensor<4x3xi1>
}

// CHECK-LABEL: func.func @where
// CHECK-SAME: (%[[C:.*]]: tensor<2x1xi1>, %[[A:.*]]: tensor<3xf32>, %[[B:.*]]: tensor<2x3xf32>)
// CHECK-NEXT: %[[BC:.*]] = ejit.broadcast_to %[[C]] : tensor<2x1xi1> -> tensor<2x3xi1>
// CHECK-NEXT: %[[BA:.*]] = ejit.broadcast_to %[[A]] : tensor<3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: ejit.where %[[BC]], %[[BA]], %[[B]] : tensor<2x3xi1>, tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
func.func @where(%c: tensor<2x1xi1>, %a: tensor<3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = ejit.where %c, %a, %b : tensor<2x1xi1>, tensor<3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// Same shapes and non-elementwise ops: unchanged.
// CHECK-LABEL: func.func @unchanged
// CHECK-NOT: ejit.broadcast_to
// CHECK: ejit.mul
// CHECK-NOT: ejit.broadcast_to
// CHECK: ejit.matmul
func.func @unchanged(%a: tensor<4x3xf32>, %b: tensor<1x3x5xf32>) -> (tensor<4x3xf32>, tensor<1x4x5xf32>) {
  %0 = ejit.mul %a, %a : tensor<4x3xf32>, tensor<4x3xf32> -> tensor<4x3xf32>
  %1 = ejit.matmul %a, %b : tensor<4x3xf32>, tensor<1x3x5xf32> -> tensor<1x4x5xf32>
  return %0, %1 : tensor<4x3xf32>, tensor<1x4x5xf32>
}
