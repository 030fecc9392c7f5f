// Round trip of the hand-written ops (cast, where, constant, reductions, matmul, shape
// and indexing ops), in the exact text the trace exporter writes.
// RUN: ejit-opt %s | ejit-opt | FileCheck %s
// RUN: %python %S/op_table_coverage.py %ejit_src/include/ejit/ops.def %s REDUCE

// CHECK-LABEL: func.func @cast_where_constant
// CHECK-SAME: (%[[I:.*]]: tensor<4xi32>, %[[C:.*]]: tensor<2x1xi1>, %[[A:.*]]: tensor<3xf32>, %[[B:.*]]: tensor<2x3xf32>)
func.func @cast_where_constant(%i: tensor<4xi32>, %c: tensor<2x1xi1>, %a: tensor<3xf32>,
                               %b: tensor<2x3xf32>)
    -> (tensor<4xf32>, tensor<4xi1>, tensor<2x3xf32>, tensor<2xf32>, tensor<2x2xi64>, tensor<i1>) {
  // CHECK-NEXT: ejit.cast %[[I]] : tensor<4xi32> -> tensor<4xf32>
  %0 = ejit.cast %i : tensor<4xi32> -> tensor<4xf32>
  // CHECK-NEXT: ejit.cast %[[I]] : tensor<4xi32> -> tensor<4xi1>
  %1 = ejit.cast %i : tensor<4xi32> -> tensor<4xi1>
  // CHECK-NEXT: ejit.where %[[C]], %[[A]], %[[B]] : tensor<2x1xi1>, tensor<3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
  %2 = ejit.where %c, %a, %b : tensor<2x1xi1>, tensor<3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK-NEXT: ejit.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
  %3 = ejit.constant dense<[1.0, 2.0]> : tensor<2xf32>
  // CHECK-NEXT: ejit.constant dense<{{\[}}[1, 2], [3, 4]]> : tensor<2x2xi64>
  %4 = ejit.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi64>
  // CHECK-NEXT: ejit.constant dense<true> : tensor<i1>
  %5 = ejit.constant dense<true> : tensor<i1>
  return %0, %1, %2, %3, %4, %5 : tensor<4xf32>, tensor<4xi1>, tensor<2x3xf32>, tensor<2xf32>,
      tensor<2x2xi64>, tensor<i1>
}

// CHECK-LABEL: func.func @reductions
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>, %[[I:.*]]: tensor<2x3xi32>, %[[B:.*]]: tensor<5xi1>)
func.func @reductions(%x: tensor<2x3x4xf32>, %i: tensor<2x3xi32>, %b: tensor<5xi1>)
    -> (tensor<3xf32>, tensor<1x3x1xf32>, tensor<2xi64>, tensor<i64>, tensor<2x3xf32>,
        tensor<2x1xi32>, tensor<i1>, tensor<2x4xi64>, tensor<2x1xi64>) {
  // CHECK-NEXT: ejit.sum %[[X]] {axes = array<i64: 0, 2>, keepdims = false} : tensor<2x3x4xf32> -> tensor<3xf32>
  %0 = ejit.sum %x {axes = array<i64: 0, 2>, keepdims = false} : tensor<2x3x4xf32> -> tensor<3xf32>
  // CHECK-NEXT: ejit.sum %[[X]] {axes = array<i64: 0, 2>, keepdims = true} : tensor<2x3x4xf32> -> tensor<1x3x1xf32>
  %1 = ejit.sum %x {axes = array<i64: 0, 2>, keepdims = true} : tensor<2x3x4xf32> -> tensor<1x3x1xf32>
  // CHECK-NEXT: ejit.prod %[[I]] {axes = array<i64: 1>, keepdims = false} : tensor<2x3xi32> -> tensor<2xi64>
  %2 = ejit.prod %i {axes = array<i64: 1>, keepdims = false} : tensor<2x3xi32> -> tensor<2xi64>
  // CHECK-NEXT: ejit.sum %[[B]] {axes = array<i64: 0>, keepdims = false} : tensor<5xi1> -> tensor<i64>
  %3 = ejit.sum %b {axes = array<i64: 0>, keepdims = false} : tensor<5xi1> -> tensor<i64>
  // CHECK-NEXT: ejit.max %[[X]] {axes = array<i64: 2>, keepdims = false} : tensor<2x3x4xf32> -> tensor<2x3xf32>
  %4 = ejit.max %x {axes = array<i64: 2>, keepdims = false} : tensor<2x3x4xf32> -> tensor<2x3xf32>
  // CHECK-NEXT: ejit.min %[[I]] {axes = array<i64: 1>, keepdims = true} : tensor<2x3xi32> -> tensor<2x1xi32>
  %5 = ejit.min %i {axes = array<i64: 1>, keepdims = true} : tensor<2x3xi32> -> tensor<2x1xi32>
  // CHECK-NEXT: ejit.max %[[B]] {axes = array<i64: 0>, keepdims = false} : tensor<5xi1> -> tensor<i1>
  %6 = ejit.max %b {axes = array<i64: 0>, keepdims = false} : tensor<5xi1> -> tensor<i1>
  // CHECK-NEXT: ejit.argmax %[[X]] {axes = array<i64: 1>, keepdims = false} : tensor<2x3x4xf32> -> tensor<2x4xi64>
  %7 = ejit.argmax %x {axes = array<i64: 1>, keepdims = false} : tensor<2x3x4xf32> -> tensor<2x4xi64>
  // CHECK-NEXT: ejit.argmin %[[I]] {axes = array<i64: 1>, keepdims = true} : tensor<2x3xi32> -> tensor<2x1xi64>
  %8 = ejit.argmin %i {axes = array<i64: 1>, keepdims = true} : tensor<2x3xi32> -> tensor<2x1xi64>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8 : tensor<3xf32>, tensor<1x3x1xf32>, tensor<2xi64>,
      tensor<i64>, tensor<2x3xf32>, tensor<2x1xi32>, tensor<i1>, tensor<2x4xi64>, tensor<2x1xi64>
}

// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[A:.*]]: tensor<2x3x4xf32>, %[[B:.*]]: tensor<4x5xf32>, %[[C:.*]]: tensor<3x1x2x4xi64>, %[[D:.*]]: tensor<5x4x6xi64>)
func.func @matmul(%a: tensor<2x3x4xf32>, %b: tensor<4x5xf32>, %c: tensor<3x1x2x4xi64>,
                  %d: tensor<5x4x6xi64>) -> (tensor<2x3x5xf32>, tensor<3x5x2x6xi64>) {
  // CHECK-NEXT: ejit.matmul %[[A]], %[[B]] : tensor<2x3x4xf32>, tensor<4x5xf32> -> tensor<2x3x5xf32>
  %0 = ejit.matmul %a, %b : tensor<2x3x4xf32>, tensor<4x5xf32> -> tensor<2x3x5xf32>
  // CHECK-NEXT: ejit.matmul %[[C]], %[[D]] : tensor<3x1x2x4xi64>, tensor<5x4x6xi64> -> tensor<3x5x2x6xi64>
  %1 = ejit.matmul %c, %d : tensor<3x1x2x4xi64>, tensor<5x4x6xi64> -> tensor<3x5x2x6xi64>
  return %0, %1 : tensor<2x3x5xf32>, tensor<3x5x2x6xi64>
}

// CHECK-LABEL: func.func @shape_ops
// CHECK-SAME: (%[[V:.*]]: tensor<6xf32>, %[[M:.*]]: tensor<2x3xf32>, %[[R:.*]]: tensor<3xf32>, %[[X:.*]]: tensor<5x3xf32>, %[[N:.*]]: tensor<2x1xf32>, %[[S:.*]]: tensor<f32>)
func.func @shape_ops(%v: tensor<6xf32>, %m: tensor<2x3xf32>, %r: tensor<3xf32>,
                     %x: tensor<5x3xf32>, %n: tensor<2x1xf32>, %s: tensor<f32>)
    -> (tensor<2x3xf32>, tensor<3x2xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<5x3xf32>,
        tensor<0x3xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<3x5xf32>, tensor<1x1xf32>,
        tensor<4x5xf32>) {
  // CHECK-NEXT: ejit.reshape %[[V]] : tensor<6xf32> -> tensor<2x3xf32>
  %0 = ejit.reshape %v : tensor<6xf32> -> tensor<2x3xf32>
  // CHECK-NEXT: ejit.permute %[[M]] {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  %1 = ejit.permute %m {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  // CHECK-NEXT: ejit.broadcast_to %[[R]] : tensor<3xf32> -> tensor<2x3xf32>
  %2 = ejit.broadcast_to %r : tensor<3xf32> -> tensor<2x3xf32>
  // CHECK-NEXT: ejit.slice %[[X]] {axis = 0 : i64, start = 1 : i64, step = 2 : i64} : tensor<5x3xf32> -> tensor<2x3xf32>
  %3 = ejit.slice %x {axis = 0 : i64, start = 1 : i64, step = 2 : i64} : tensor<5x3xf32> -> tensor<2x3xf32>
  // CHECK-NEXT: ejit.slice %[[X]] {axis = 0 : i64, start = 4 : i64, step = -1 : i64} : tensor<5x3xf32> -> tensor<5x3xf32>
  %4 = ejit.slice %x {axis = 0 : i64, start = 4 : i64, step = -1 : i64} : tensor<5x3xf32> -> tensor<5x3xf32>
  // CHECK-NEXT: ejit.slice %[[X]] {axis = 0 : i64, start = 5 : i64, step = 1 : i64} : tensor<5x3xf32> -> tensor<0x3xf32>
  %5 = ejit.slice %x {axis = 0 : i64, start = 5 : i64, step = 1 : i64} : tensor<5x3xf32> -> tensor<0x3xf32>
  // CHECK-NEXT: ejit.concat %[[M]], %[[N]] {axis = 1 : i64} : tensor<2x3xf32>, tensor<2x1xf32> -> tensor<2x4xf32>
  %6 = ejit.concat %m, %n {axis = 1 : i64} : tensor<2x3xf32>, tensor<2x1xf32> -> tensor<2x4xf32>
  // CHECK-NEXT: ejit.concat %[[N]], %[[N]], %[[N]], %[[N]] {axis = 1 : i64} : tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2x4xf32>
  %7 = ejit.concat %n, %n, %n, %n {axis = 1 : i64} : tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2x4xf32>
  // The printer sorts attributes by name (high before low); both orders parse.
  // CHECK-NEXT: ejit.pad %[[M]] {high = array<i64: 0, 2>, low = array<i64: 1, 0>, value = 0.000000e+00 : f64} : tensor<2x3xf32> -> tensor<3x5xf32>
  %8 = ejit.pad %m {low = array<i64: 1, 0>, high = array<i64: 0, 2>, value = 0.0 : f64} : tensor<2x3xf32> -> tensor<3x5xf32>
  // CHECK-NEXT: ejit.reshape %[[S]] : tensor<f32> -> tensor<1x1xf32>
  %9 = ejit.reshape %s : tensor<f32> -> tensor<1x1xf32>
  // CHECK-NEXT: ejit.pad %[[M]] {high = array<i64: 1, 1>, low = array<i64: 1, 1>, value = -1.500000e+00 : f64} : tensor<2x3xf32> -> tensor<4x5xf32>
  %10 = ejit.pad %m {low = array<i64: 1, 1>, high = array<i64: 1, 1>, value = -1.5 : f64} : tensor<2x3xf32> -> tensor<4x5xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10 : tensor<2x3xf32>, tensor<3x2xf32>,
      tensor<2x3xf32>, tensor<2x3xf32>, tensor<5x3xf32>, tensor<0x3xf32>, tensor<2x4xf32>,
      tensor<2x4xf32>, tensor<3x5xf32>, tensor<1x1xf32>, tensor<4x5xf32>
}

// CHECK-LABEL: func.func @indexing
// CHECK-SAME: (%[[X:.*]]: tensor<5x3xf32>, %[[I:.*]]: tensor<2x2xi64>, %[[M:.*]]: tensor<2x3xf32>, %[[G:.*]]: tensor<2x1xi64>, %[[H:.*]]: tensor<1x4xi32>)
func.func @indexing(%x: tensor<5x3xf32>, %i: tensor<2x2xi64>, %m: tensor<2x3xf32>,
                    %g: tensor<2x1xi64>, %h: tensor<1x4xi32>)
    -> (tensor<2x2x3xf32>, tensor<5x2x2xf32>, tensor<2x1xf32>, tensor<2x4xf32>) {
  // CHECK-NEXT: ejit.take %[[X]], %[[I]] {axis = 0 : i64} : tensor<5x3xf32>, tensor<2x2xi64> -> tensor<2x2x3xf32>
  %0 = ejit.take %x, %i {axis = 0 : i64} : tensor<5x3xf32>, tensor<2x2xi64> -> tensor<2x2x3xf32>
  // CHECK-NEXT: ejit.take %[[X]], %[[I]] {axis = 1 : i64} : tensor<5x3xf32>, tensor<2x2xi64> -> tensor<5x2x2xf32>
  %1 = ejit.take %x, %i {axis = 1 : i64} : tensor<5x3xf32>, tensor<2x2xi64> -> tensor<5x2x2xf32>
  // CHECK-NEXT: ejit.gather %[[M]], %[[G]] {axis = 1 : i64} : tensor<2x3xf32>, tensor<2x1xi64> -> tensor<2x1xf32>
  %2 = ejit.gather %m, %g {axis = 1 : i64} : tensor<2x3xf32>, tensor<2x1xi64> -> tensor<2x1xf32>
  // The non-axis dims broadcast: x's 2 against the indices' 1.
  // CHECK-NEXT: ejit.gather %[[M]], %[[H]] {axis = 1 : i64} : tensor<2x3xf32>, tensor<1x4xi32> -> tensor<2x4xf32>
  %3 = ejit.gather %m, %h {axis = 1 : i64} : tensor<2x3xf32>, tensor<1x4xi32> -> tensor<2x4xf32>
  return %0, %1, %2, %3 : tensor<2x2x3xf32>, tensor<5x2x2xf32>, tensor<2x1xf32>, tensor<2x4xf32>
}

// index_add: updates of take's result shape added into x.
// CHECK-LABEL: func.func @index_add
// CHECK-NEXT: ejit.index_add %arg0, %arg1, %arg2 {axis = 1 : i64} : tensor<5x3xf32>, tensor<2x2xi32>, tensor<5x2x2xf32> -> tensor<5x3xf32>
func.func @index_add(%x: tensor<5x3xf32>, %i: tensor<2x2xi32>, %u: tensor<5x2x2xf32>) -> tensor<5x3xf32> {
  %0 = ejit.index_add %x, %i, %u {axis = 1 : i64} : tensor<5x3xf32>, tensor<2x2xi32>, tensor<5x2x2xf32> -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// scatter_add: updates of gather's result shape (x's 1 broadcast against the indices' 4)
// added into x.
// CHECK-LABEL: func.func @scatter_add
// CHECK-NEXT: ejit.scatter_add %arg0, %arg1, %arg2 {axis = 1 : i64} : tensor<1x3xf32>, tensor<4x2xi64>, tensor<4x2xf32> -> tensor<1x3xf32>
func.func @scatter_add(%x: tensor<1x3xf32>, %i: tensor<4x2xi64>, %u: tensor<4x2xf32>) -> tensor<1x3xf32> {
  %0 = ejit.scatter_add %x, %i, %u {axis = 1 : i64} : tensor<1x3xf32>, tensor<4x2xi64>, tensor<4x2xf32> -> tensor<1x3xf32>
  return %0 : tensor<1x3xf32>
}

// A recorded trace as the exporter writes it.
// CHECK-LABEL: func.func @trace
// CHECK: ejit.mul
// CHECK: ejit.exp
// CHECK: ejit.tanh
// CHECK: ejit.constant dense<5.000000e-01> : tensor<f32>
// CHECK: ejit.mul
// CHECK: ejit.add
// CHECK: return
func.func @trace(%arg0: tensor<1024x1024xf32>, %arg1: tensor<1024x1024xf32>) -> (tensor<1024x1024xf32>) {
  %0 = ejit.mul %arg0, %arg1 : tensor<1024x1024xf32>, tensor<1024x1024xf32> -> tensor<1024x1024xf32>
  %1 = ejit.exp %0 : tensor<1024x1024xf32> -> tensor<1024x1024xf32>
  %2 = ejit.tanh %arg0 : tensor<1024x1024xf32> -> tensor<1024x1024xf32>
  %3 = ejit.constant dense<0.5> : tensor<f32>
  %4 = ejit.mul %2, %3 : tensor<1024x1024xf32>, tensor<f32> -> tensor<1024x1024xf32>
  %5 = ejit.add %1, %4 : tensor<1024x1024xf32>, tensor<1024x1024xf32> -> tensor<1024x1024xf32>
  return %5 : tensor<1024x1024xf32>
}

// Host calls: a callee name, any operands (none too), one result per op.
// CHECK-LABEL: func.func @host_calls
// CHECK-SAME: (%[[X:.*]]: tensor<8xf32>)
func.func @host_calls(%x: tensor<8xf32>) -> (tensor<f32>, tensor<f32>, tensor<2xi64>) {
  // CHECK-NEXT: ejit.host_call "min_max"(%[[X]]) {index = 0 : i64} : (tensor<8xf32>) -> tensor<f32>
  %0 = ejit.host_call "min_max"(%x) {index = 0 : i64} : (tensor<8xf32>) -> tensor<f32>
  // CHECK-NEXT: ejit.host_call "min_max"(%[[X]]) {index = 1 : i64} : (tensor<8xf32>) -> tensor<f32>
  %1 = ejit.host_call "min_max"(%x) {index = 1 : i64} : (tensor<8xf32>) -> tensor<f32>
  // CHECK-NEXT: ejit.host_call "say \22hi\22"() {index = 0 : i64} : () -> tensor<2xi64>
  %2 = ejit.host_call "say \22hi\22"() {index = 0 : i64} : () -> tensor<2xi64>
  return %0, %1, %2 : tensor<f32>, tensor<f32>, tensor<2xi64>
}
