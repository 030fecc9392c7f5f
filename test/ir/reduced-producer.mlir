// RUN: ejit-opt %s --ejit-cpu-pipeline=stop-after=fused --split-input-file | FileCheck %s
// RUN: ejit-opt %s --ejit-gpu-pipeline=stop-after=fused --split-input-file | FileCheck %s --check-prefix=GPU
// A costly elementwise value read by a row reduction and by a later elementwise op is
// computed once (ProducerInReduction.h): softmax's row sum also stores exp(x - max), and the
// division reads it in place. GPU reductions are kernels of their own: not there.

// CHECK-LABEL: func.func @softmax
// CHECK: %[[R:.*]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: math.exp
// CHECK: linalg.yield %{{.*}}, %{{.*}} : f32, f32
// CHECK-NEXT: } -> (tensor<4xf32>, tensor<4x8xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[R]]#0 : tensor<4xf32>) outs(%[[R]]#1 : tensor<4x8xf32>)
// CHECK-NOT: math.exp
// CHECK: arith.divf
// CHECK-NOT: math.exp
// CHECK: return
// GPU-LABEL: func.func @softmax
// GPU-COUNT-2: math.exp
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

// -----

// A cheap value (abs) is computed twice, as before: storing it costs more than it saves.
// CHECK-LABEL: func.func @cheap
// CHECK-NOT: :2 = linalg.generic
// CHECK-COUNT-2: math.absf
func.func @cheap(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = ejit.abs %x : tensor<4x8xf32> -> tensor<4x8xf32>
  %s = ejit.sum %0 {axes = array<i64: 1>, keepdims = false} : tensor<4x8xf32> -> tensor<4xf32>
  %1 = ejit.reshape %s : tensor<4xf32> -> tensor<4x1xf32>
  %2 = ejit.div %0, %1 : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}

// -----

// The in-place division has several readers: none gets a copy of it (each copy would divide
// the stored values again); they read its result.
// CHECK-LABEL: func.func @readers
// CHECK: %[[R:.*]]:2 = linalg.generic
// CHECK: %[[D:.*]] = linalg.generic {{.*}} outs(%[[R]]#1 : tensor<4x8xf32>)
// CHECK: arith.divf
// CHECK: linalg.generic {{.*}} ins(%[[D]] : tensor<4x8xf32>) outs({{.*}}, {{.*}} : tensor<4x8xf32>, tensor<4x8xf32>)
// CHECK-NOT: arith.divf
// CHECK: linalg.generic {{.*}} ins(%[[D]] : tensor<4x8xf32>) outs({{.*}} : tensor<4xf32>)
// CHECK-NOT: arith.divf
// CHECK: return
func.func @readers(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4xf32>, tensor<4x8xf32>) {
  %two = ejit.constant dense<2.000000e+00> : tensor<f32>
  %0 = ejit.exp %x : tensor<4x8xf32> -> tensor<4x8xf32>
  %s = ejit.sum %0 {axes = array<i64: 1>, keepdims = false} : tensor<4x8xf32> -> tensor<4xf32>
  %1 = ejit.reshape %s : tensor<4xf32> -> tensor<4x1xf32>
  %2 = ejit.div %0, %1 : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xf32>
  %3 = ejit.mul %2, %two : tensor<4x8xf32>, tensor<f32> -> tensor<4x8xf32>
  %4 = ejit.max %2 {axes = array<i64: 1>, keepdims = false} : tensor<4x8xf32> -> tensor<4xf32>
  %5 = ejit.tanh %2 : tensor<4x8xf32> -> tensor<4x8xf32>
  return %3, %4, %5 : tensor<4x8xf32>, tensor<4xf32>, tensor<4x8xf32>
}

// -----

// The exp of a log_softmax that a training step also returns (for its backward pass) and
// scales: the row sum computes it once and stores it; the result and the scaling read the
// stored value (the two readers other than the sum need not be one elementwise op).
// CHECK-LABEL: func.func @returned
// CHECK: %[[R:.*]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: math.exp
// CHECK: linalg.generic {{.*}} ins({{.*}}%[[R]]#1 : {{.*}})
// CHECK-NOT: math.exp
// CHECK: return %[[R]]#1,
func.func @returned(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %two = ejit.constant dense<2.000000e+00> : tensor<f32>
  %0 = ejit.exp %x : tensor<4x8xf32> -> tensor<4x8xf32>
  %s = ejit.sum %0 {axes = array<i64: 1>, keepdims = false} : tensor<4x8xf32> -> tensor<4xf32>
  %1 = ejit.reshape %s : tensor<4xf32> -> tensor<4x1xf32>
  %l = ejit.log %1 : tensor<4x1xf32> -> tensor<4x1xf32>
  %2 = ejit.sub %x, %l : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xf32>
  %3 = ejit.mul %0, %two : tensor<4x8xf32>, tensor<f32> -> tensor<4x8xf32>
  return %0, %2, %3 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}
