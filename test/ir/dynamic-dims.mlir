// RUN: ejit-opt %s --ejit-cpu-pipeline=stop-after=loops --split-input-file | FileCheck %s
// Dynamic dims (jit()'s): a row softmax over a dynamic number of rows still runs on chunks
// of rows; its row extent is read at run time from dim 0 of buffer 0 (ejit.row_extent =
// dynamic_extent(0, 0) = -1).

// CHECK-LABEL: func.func @kernel(%arg0: index, %arg1: index, %arg2: memref<?x64xf32>, %arg3: memref<64xf32>)
// CHECK-SAME: ejit.row_extent = -1 : i64
// CHECK: memref.alloc(%{{.*}}) {{.*}} : memref<?xf32>
// CHECK: scf.parallel (%{{.*}}) = (%arg0) to (%arg1)
// CHECK-NOT: scf.parallel (%{{.*}}) = (%c0)
func.func @kernel(%arg0: tensor<?x64xf32>, %arg1: tensor<64xf32>) -> (tensor<?x64xf32>) {
  %0 = ejit.max %arg0 {axes = array<i64: 1>, keepdims = false} : tensor<?x64xf32> -> tensor<?xf32>
  %1 = ejit.reshape %0 : tensor<?xf32> -> tensor<?x1xf32>
  %2 = ejit.sub %arg0, %1 : tensor<?x64xf32>, tensor<?x1xf32> -> tensor<?x64xf32>
  %3 = ejit.exp %2 : tensor<?x64xf32> -> tensor<?x64xf32>
  %4 = ejit.sum %3 {axes = array<i64: 1>, keepdims = false} : tensor<?x64xf32> -> tensor<?xf32>
  %5 = ejit.reshape %4 : tensor<?xf32> -> tensor<?x1xf32>
  %6 = ejit.div %3, %5 : tensor<?x64xf32>, tensor<?x1xf32> -> tensor<?x64xf32>
  %7 = ejit.mul %6, %arg1 : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  return %7 : tensor<?x64xf32>
}

// -----

// Layer norm: loops bounded by dim 0 of a view of a temporary (expand_shape of a row sum)
// still split; the bound is traced back to dim 0 of the input.
// CHECK-LABEL: func.func @kernel(%arg0: index, %arg1: index, %arg2: memref<?x64xf32>)
// CHECK-SAME: ejit.row_extent = -1 : i64
// CHECK: memref.expand_shape
// CHECK: scf.parallel (%{{.*}}) = (%arg0) to (%arg1)
// CHECK-NOT: scf.parallel (%{{.*}}) = (%c0)
func.func @kernel(%arg0: tensor<?x64xf32>) -> (tensor<?x64xf32>) {
  %c = ejit.constant dense<6.400000e+01> : tensor<f32>
  %0 = ejit.sum %arg0 {axes = array<i64: 1>, keepdims = false} : tensor<?x64xf32> -> tensor<?xf32>
  %1 = ejit.div %0, %c : tensor<?xf32>, tensor<f32> -> tensor<?xf32>
  %2 = ejit.reshape %1 : tensor<?xf32> -> tensor<?x1xf32>
  %3 = ejit.sub %arg0, %2 : tensor<?x64xf32>, tensor<?x1xf32> -> tensor<?x64xf32>
  %4 = ejit.mul %3, %3 : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %5 = ejit.sum %4 {axes = array<i64: 1>, keepdims = false} : tensor<?x64xf32> -> tensor<?xf32>
  %6 = ejit.div %5, %c : tensor<?xf32>, tensor<f32> -> tensor<?xf32>
  %7 = ejit.reshape %6 : tensor<?xf32> -> tensor<?x1xf32>
  %8 = ejit.sqrt %7 : tensor<?x1xf32> -> tensor<?x1xf32>
  %9 = ejit.div %3, %8 : tensor<?x64xf32>, tensor<?x1xf32> -> tensor<?x64xf32>
  return %9 : tensor<?x64xf32>
}
