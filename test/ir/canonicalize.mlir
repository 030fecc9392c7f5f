// Folders: constant folding of elementwise ops on splats (with the op table's
// semantics), and the identity / composition folds of the shape ops.
// RUN: ejit-opt %s -canonicalize | FileCheck %s
// The JIT's canonicalizer (pattern set built once per context) folds the same way:
// RUN: ejit-opt %s -ejit-canonicalize | FileCheck %s

// CHECK-LABEL: func.func @fold_unary_float
// CHECK-DAG: %[[E:.*]] = ejit.constant dense<2.71828175> : tensor<2x2xf32>
// CHECK-DAG: %[[G:.*]] = ejit.constant dense<1.95449972> : tensor<2xf32>
// CHECK-DAG: %[[R:.*]] = ejit.constant dense<5.000000e-01> : tensor<3xf64>
// CHECK-NOT: ejit.exp
// CHECK-NOT: ejit.gelu
// CHECK-NOT: ejit.rsqrt
// CHECK: return %[[E]], %[[G]], %[[R]]
func.func @fold_unary_float() -> (tensor<2x2xf32>, tensor<2xf32>, tensor<3xf64>) {
  %one = ejit.constant dense<1.0> : tensor<2x2xf32>
  %0 = ejit.exp %one : tensor<2x2xf32> -> tensor<2x2xf32>
  %two = ejit.constant dense<2.0> : tensor<2xf32>
  %1 = ejit.gelu %two : tensor<2xf32> -> tensor<2xf32>
  %four = ejit.constant dense<4.0> : tensor<3xf64>
  %2 = ejit.rsqrt %four : tensor<3xf64> -> tensor<3xf64>
  return %0, %1, %2 : tensor<2x2xf32>, tensor<2xf32>, tensor<3xf64>
}

// Integers wrap (abs of INT_MIN is INT_MIN), round is half to even, predicates give i1.
// CHECK-LABEL: func.func @fold_unary_numeric_predicate
// CHECK-DAG: %[[ABS:.*]] = ejit.constant dense<-2147483648> : tensor<4xi32>
// CHECK-DAG: %[[ROUND:.*]] = ejit.constant dense<2.000000e+00> : tensor<3xf64>
// CHECK-DAG: %[[NAN:.*]] = ejit.constant dense<true> : tensor<2xi1>
// CHECK-DAG: %[[FIN:.*]] = ejit.constant dense<false> : tensor<2xi1>
// CHECK-DAG: %[[NOT:.*]] = ejit.constant dense<false> : tensor<i1>
// CHECK: return %[[ABS]], %[[ROUND]], %[[NAN]], %[[FIN]], %[[NOT]]
func.func @fold_unary_numeric_predicate()
    -> (tensor<4xi32>, tensor<3xf64>, tensor<2xi1>, tensor<2xi1>, tensor<i1>) {
  %min = ejit.constant dense<-2147483648> : tensor<4xi32>
  %0 = ejit.abs %min : tensor<4xi32> -> tensor<4xi32>
  %half = ejit.constant dense<2.5> : tensor<3xf64>
  %1 = ejit.round %half : tensor<3xf64> -> tensor<3xf64>
  %nan = ejit.constant dense<0x7FC00000> : tensor<2xf32>
  %2 = ejit.isnan %nan : tensor<2xf32> -> tensor<2xi1>
  %3 = ejit.isfinite %nan : tensor<2xf32> -> tensor<2xi1>
  %true = ejit.constant dense<true> : tensor<i1>
  %4 = ejit.logical_not %true : tensor<i1> -> tensor<i1>
  return %0, %1, %2, %3, %4 : tensor<4xi32>, tensor<3xf64>, tensor<2xi1>, tensor<2xi1>, tensor<i1>
}

// Binary ops fold splats of any broadcast shapes into a splat of the result shape.
// CHECK-LABEL: func.func @fold_binary
// CHECK-DAG: %[[MUL:.*]] = ejit.constant dense<6.000000e+00> : tensor<4x2xf32>
// CHECK-DAG: %[[LT:.*]] = ejit.constant dense<false> : tensor<2xi1>
// CHECK-DAG: %[[MOD:.*]] = ejit.constant dense<2> : tensor<3xi64>
// CHECK-DAG: %[[POW:.*]] = ejit.constant dense<27> : tensor<3xi64>
// CHECK-DAG: %[[NEGPOW:.*]] = ejit.constant dense<0> : tensor<3xi64>
// CHECK-DAG: %[[MAX:.*]] = ejit.constant dense<0x7FC00000> : tensor<2xf32>
// CHECK-DAG: %[[OR:.*]] = ejit.constant dense<true> : tensor<2xi1>
// CHECK-DAG: %[[WRAP:.*]] = ejit.constant dense<-2> : tensor<2xi32>
// CHECK-DAG: %[[AND:.*]] = ejit.constant dense<false> : tensor<2x2xi1>
// CHECK-DAG: %[[DIV:.*]] = ejit.constant dense<1.500000e+00> : tensor<2xf32>
// CHECK: return %[[MUL]], %[[LT]], %[[MOD]], %[[POW]], %[[NEGPOW]], %[[MAX]], %[[OR]], %[[WRAP]], %[[AND]], %[[DIV]]
func.func @fold_binary()
    -> (tensor<4x2xf32>, tensor<2xi1>, tensor<3xi64>, tensor<3xi64>, tensor<3xi64>,
        tensor<2xf32>, tensor<2xi1>, tensor<2xi32>, tensor<2x2xi1>, tensor<2xf32>) {
  %three = ejit.constant dense<3.0> : tensor<f32>
  %two = ejit.constant dense<2.0> : tensor<4x1xf32>
  %two2 = ejit.constant dense<2.0> : tensor<2xf32>
  %0 = ejit.mul %three, %two : tensor<f32>, tensor<4x1xf32> -> tensor<4x1xf32>
  %00 = ejit.broadcast_to %0 : tensor<4x1xf32> -> tensor<4x2xf32>
  %1 = ejit.lt %three, %two2 : tensor<f32>, tensor<2xf32> -> tensor<2xi1>
  %m7 = ejit.constant dense<-7> : tensor<3xi64>
  %p3 = ejit.constant dense<3> : tensor<3xi64>
  %2 = ejit.mod %m7, %p3 : tensor<3xi64>, tensor<3xi64> -> tensor<3xi64>
  %3 = ejit.pow %p3, %p3 : tensor<3xi64>, tensor<3xi64> -> tensor<3xi64>
  %4 = ejit.pow %p3, %m7 : tensor<3xi64>, tensor<3xi64> -> tensor<3xi64>
  %nan = ejit.constant dense<0x7FC00000> : tensor<2xf32>
  %5 = ejit.maximum %two2, %nan : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  %t = ejit.constant dense<true> : tensor<2xi1>
  %f = ejit.constant dense<false> : tensor<2x1xi1>
  %6 = ejit.add %t, %t : tensor<2xi1>, tensor<2xi1> -> tensor<2xi1>
  %big = ejit.constant dense<2147483647> : tensor<2xi32>
  %7 = ejit.add %big, %big : tensor<2xi32>, tensor<2xi32> -> tensor<2xi32>
  %8 = ejit.logical_and %t, %f : tensor<2xi1>, tensor<2x1xi1> -> tensor<2x2xi1>
  %9 = ejit.div %three, %two2 : tensor<f32>, tensor<2xf32> -> tensor<2xf32>
  return %00, %1, %2, %3, %4, %5, %6, %7, %8, %9 : tensor<4x2xf32>, tensor<2xi1>, tensor<3xi64>,
      tensor<3xi64>, tensor<3xi64>, tensor<2xf32>, tensor<2xi1>, tensor<2xi32>, tensor<2x2xi1>,
      tensor<2xf32>
}

// Non-splat constants are left alone.
// CHECK-LABEL: func.func @no_fold_dense
// CHECK: ejit.exp
// CHECK: ejit.add
func.func @no_fold_dense(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %c = ejit.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %0 = ejit.exp %c : tensor<2xf32> -> tensor<2xf32>
  %1 = ejit.add %x, %x : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  return %0, %1 : tensor<2xf32>, tensor<2xf32>
}

// CHECK-LABEL: func.func @reshape_folds
// CHECK-SAME: (%[[X:.*]]: tensor<6xf32>, %[[M:.*]]: tensor<2x3xf32>)
// CHECK-DAG: %[[C:.*]] = ejit.constant dense<{{\[}}[1, 2], [3, 4]]> : tensor<2x2xi64>
// CHECK-DAG: %[[R:.*]] = ejit.reshape %[[X]] : tensor<6xf32> -> tensor<3x2xf32>
// CHECK-NOT: ejit.reshape
// CHECK: return %[[R]], %[[X]], %[[M]], %[[C]]
func.func @reshape_folds(%x: tensor<6xf32>, %m: tensor<2x3xf32>)
    -> (tensor<3x2xf32>, tensor<6xf32>, tensor<2x3xf32>, tensor<2x2xi64>) {
  // reshape of reshape: one reshape.
  %0 = ejit.reshape %x : tensor<6xf32> -> tensor<2x3xf32>
  %1 = ejit.reshape %0 : tensor<2x3xf32> -> tensor<3x2xf32>
  // ... back to the original type: the operand.
  %2 = ejit.reshape %0 : tensor<2x3xf32> -> tensor<6xf32>
  // to the same type: the operand.
  %3 = ejit.reshape %m : tensor<2x3xf32> -> tensor<2x3xf32>
  // of a constant: a constant.
  %c = ejit.constant dense<[1, 2, 3, 4]> : tensor<4xi64>
  %4 = ejit.reshape %c : tensor<4xi64> -> tensor<2x2xi64>
  return %1, %2, %3, %4 : tensor<3x2xf32>, tensor<6xf32>, tensor<2x3xf32>, tensor<2x2xi64>
}

// CHECK-LABEL: func.func @permute_folds
// CHECK-SAME: (%[[M:.*]]: tensor<2x3xf32>, %[[T:.*]]: tensor<2x3x4xf32>)
// CHECK-DAG: %[[C:.*]] = ejit.constant dense<1.000000e+00> : tensor<3x2xf32>
// CHECK-DAG: %[[P:.*]] = ejit.permute %[[T]] {perm = array<i64: 2, 1, 0>} : tensor<2x3x4xf32> -> tensor<4x3x2xf32>
// CHECK-NOT: ejit.permute
// CHECK: return %[[M]], %[[T]], %[[P]], %[[C]]
func.func @permute_folds(%m: tensor<2x3xf32>, %t: tensor<2x3x4xf32>)
    -> (tensor<2x3xf32>, tensor<2x3x4xf32>, tensor<4x3x2xf32>, tensor<3x2xf32>) {
  // identity perm: the operand.
  %0 = ejit.permute %m {perm = array<i64: 0, 1>} : tensor<2x3xf32> -> tensor<2x3xf32>
  // permutations that cancel: the operand.
  %1 = ejit.permute %t {perm = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  %2 = ejit.permute %1 {perm = array<i64: 1, 2, 0>} : tensor<4x2x3xf32> -> tensor<2x3x4xf32>
  // two permutations: one.
  %3 = ejit.permute %t {perm = array<i64: 1, 0, 2>} : tensor<2x3x4xf32> -> tensor<3x2x4xf32>
  %4 = ejit.permute %3 {perm = array<i64: 2, 0, 1>} : tensor<3x2x4xf32> -> tensor<4x3x2xf32>
  // of a splat: a splat.
  %c = ejit.constant dense<1.0> : tensor<2x3xf32>
  %5 = ejit.permute %c {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0, %2, %4, %5 : tensor<2x3xf32>, tensor<2x3x4xf32>, tensor<4x3x2xf32>, tensor<3x2xf32>
}

// CHECK-LABEL: func.func @broadcast_to_folds
// CHECK-SAME: (%[[R:.*]]: tensor<3xf32>, %[[M:.*]]: tensor<2x3xf32>)
// CHECK-DAG: %[[C:.*]] = ejit.constant dense<7> : tensor<2x3xi32>
// CHECK-DAG: %[[B:.*]] = ejit.broadcast_to %[[R]] : tensor<3xf32> -> tensor<5x2x3xf32>
// CHECK-NOT: ejit.broadcast_to
// CHECK: return %[[M]], %[[B]], %[[C]]
func.func @broadcast_to_folds(%r: tensor<3xf32>, %m: tensor<2x3xf32>)
    -> (tensor<2x3xf32>, tensor<5x2x3xf32>, tensor<2x3xi32>) {
  // to the same type: the operand.
  %0 = ejit.broadcast_to %m : tensor<2x3xf32> -> tensor<2x3xf32>
  // of a broadcast_to: one broadcast_to.
  %1 = ejit.broadcast_to %r : tensor<3xf32> -> tensor<2x3xf32>
  %2 = ejit.broadcast_to %1 : tensor<2x3xf32> -> tensor<5x2x3xf32>
  // of a splat: a splat.
  %c = ejit.constant dense<7> : tensor<1x3xi32>
  %3 = ejit.broadcast_to %c : tensor<1x3xi32> -> tensor<2x3xi32>
  return %0, %2, %3 : tensor<2x3xf32>, tensor<5x2x3xf32>, tensor<2x3xi32>
}

// CHECK-LABEL: func.func @identity_folds
// CHECK-SAME: (%[[M:.*]]: tensor<2x3xf32>
// CHECK-NOT: ejit.
// CHECK: return %[[M]], %[[M]], %[[M]], %[[M]]
func.func @identity_folds(%m: tensor<2x3xf32>)
    -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %0 = ejit.cast %m : tensor<2x3xf32> -> tensor<2x3xf32>
  %1 = ejit.slice %m {axis = 1 : i64, start = 0 : i64, step = 1 : i64} : tensor<2x3xf32> -> tensor<2x3xf32>
  %2 = ejit.concat %m {axis = 0 : i64} : tensor<2x3xf32> -> tensor<2x3xf32>
  %3 = ejit.pad %m {low = array<i64: 0, 0>, high = array<i64: 0, 0>, value = 1.0 : f64} : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0, %1, %2, %3 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// Slices that reverse or pick, and casts that convert, stay.
// CHECK-LABEL: func.func @no_identity
// CHECK: ejit.cast
// CHECK: ejit.slice
// CHECK: ejit.slice
func.func @no_identity(%m: tensor<2x3xf32>) -> (tensor<2x3xf64>, tensor<2x3xf32>, tensor<2x1xf32>) {
  %0 = ejit.cast %m : tensor<2x3xf32> -> tensor<2x3xf64>
  %1 = ejit.slice %m {axis = 1 : i64, start = 2 : i64, step = -1 : i64} : tensor<2x3xf32> -> tensor<2x3xf32>
  %2 = ejit.slice %m {axis = 1 : i64, start = 0 : i64, step = 1 : i64} : tensor<2x3xf32> -> tensor<2x1xf32>
  return %0, %1, %2 : tensor<2x3xf64>, tensor<2x3xf32>, tensor<2x1xf32>
}

// A slice from 0 by 1 along a dynamic dim: its ? may have fewer rows than the operand's
// (x[:-1]), so it stays; along a static dim of a dynamic tensor it folds.
// CHECK-LABEL: func.func @dynamic_slice
// CHECK-SAME: (%[[X:.*]]: tensor<?x3xf32>
// CHECK: %[[S:.*]] = ejit.slice %[[X]] {axis = 0
// CHECK-NOT: ejit.slice
// CHECK: return %[[S]], %[[X]]
func.func @dynamic_slice(%x: tensor<?x3xf32>) -> (tensor<?x3xf32>, tensor<?x3xf32>) {
  %0 = ejit.slice %x {axis = 0 : i64, start = 0 : i64, step = 1 : i64, ejit.dim_sizes = array<i64: 0, 0, 1, -1, 1>} : tensor<?x3xf32> -> tensor<?x3xf32>
  %1 = ejit.slice %x {axis = 1 : i64, start = 0 : i64, step = 1 : i64} : tensor<?x3xf32> -> tensor<?x3xf32>
  return %0, %1 : tensor<?x3xf32>, tensor<?x3xf32>
}

// where with a constant condition picks a value of the result's type.
// CHECK-LABEL: func.func @where_folds
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<3xf32>)
// CHECK: %[[W:.*]] = ejit.where
// CHECK-SAME: tensor<i1>, tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
// CHECK: return %[[A]], %[[W]]
func.func @where_folds(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %t = ejit.constant dense<true> : tensor<i1>
  %f = ejit.constant dense<false> : tensor<i1>
  %0 = ejit.where %t, %a, %b : tensor<i1>, tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  // %b would need a broadcast: kept.
  %1 = ejit.where %f, %a, %b : tensor<i1>, tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  return %0, %1 : tensor<2x3xf32>, tensor<2x3xf32>
}

// Unused ops are pure, so canonicalization erases them; equal constants are merged.
// CHECK-LABEL: func.func @dead_code
// CHECK-NEXT: %[[C:.*]] = ejit.constant dense<1.000000e+00> : tensor<2xf32>
// CHECK-NEXT: return %[[C]], %[[C]]
func.func @dead_code(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %0 = ejit.exp %x : tensor<2xf32> -> tensor<2xf32>
  %1 = ejit.sum %x {axes = array<i64: 0>, keepdims = false} : tensor<2xf32> -> tensor<f32>
  %c = ejit.constant dense<1.0> : tensor<2xf32>
  %d = ejit.constant dense<1.0> : tensor<2xf32>
  return %c, %d : tensor<2xf32>, tensor<2xf32>
}

// Host calls have effects: two identical calls stay two, and an unused one stays.
// CHECK-LABEL: func.func @host_calls_stay
func.func @host_calls_stay(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  // CHECK-COUNT-3: ejit.host_call "tick"
  %0 = ejit.host_call "tick"(%x) {index = 0 : i64} : (tensor<2xf32>) -> tensor<2xf32>
  %1 = ejit.host_call "tick"(%x) {index = 0 : i64} : (tensor<2xf32>) -> tensor<2xf32>
  %2 = ejit.host_call "tick"(%x) {index = 0 : i64} : (tensor<2xf32>) -> tensor<2xf32>
  return %0, %1 : tensor<2xf32>, tensor<2xf32>
}
