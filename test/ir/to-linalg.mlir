// RUN: ejit-opt %s --convert-ejit-to-linalg=codegen-matmul=1 --split-input-file | FileCheck %s
// The ejit -> linalg lowering: one check group per op family.

// CHECK-LABEL: func.func @unary
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK: math.exp
// CHECK-NOT: ejit.
func.func @unary(%arg0: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %0 = ejit.exp %arg0 : tensor<4x3xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// Broadcast operands are collapsed, so every indexing map is a projected permutation.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @broadcast
// CHECK: %[[C:.*]] = tensor.collapse_shape %arg1 {{\[\[}}0, 1]] : tensor<4x1xf32> into tensor<4xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ROW]], #[[COL]], #[[ID]]]
// CHECK-SAME: ins(%arg0, %[[C]] : tensor<3xf32>, tensor<4xf32>)
// CHECK: arith.addf
func.func @broadcast(%arg0: tensor<3xf32>, %arg1: tensor<4x1xf32>) -> tensor<4x3xf32> {
  %0 = ejit.add %arg0, %arg1 : tensor<3xf32>, tensor<4x1xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func.func @int_mod
// CHECK: arith.remsi
// CHECK: arith.select
func.func @int_mod(%arg0: tensor<5xi32>, %arg1: tensor<5xi32>) -> tensor<5xi32> {
  %0 = ejit.mod %arg0, %arg1 : tensor<5xi32>, tensor<5xi32> -> tensor<5xi32>
  return %0 : tensor<5xi32>
}

// -----

// Reductions: a filled init and a reduction loop; integer sums accumulate in i64.
// CHECK-LABEL: func.func @sum_rows
// CHECK: %[[Z:.*]] = arith.constant 0 : i64
// CHECK: linalg.fill ins(%[[Z]] : i64)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.extsi
// CHECK: arith.addi
func.func @sum_rows(%arg0: tensor<4x3xi32>) -> tensor<4xi64> {
  %0 = ejit.sum %arg0 {axes = array<i64: 1>, keepdims = false} : tensor<4x3xi32> -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

// CHECK-LABEL: func.func @max_cols
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: iterator_types = ["reduction", "parallel"]
// CHECK: arith.maximumf
func.func @max_cols(%arg0: tensor<4x3xf32>) -> tensor<3xf32> {
  %0 = ejit.max %arg0 {axes = array<i64: 0>, keepdims = false} : tensor<4x3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// argmax: the largest element (NaN wins), then the least position holding it or a NaN.
// CHECK-LABEL: func.func @argmax_rows
// CHECK: %[[EXT:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: %[[LEN:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK: linalg.fill ins(%[[LEN]] : i64)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%arg0, %[[EXT]] : tensor<4x3xf32>, tensor<4xf32>)
// CHECK: linalg.index 1
// CHECK: arith.cmpf oeq
// CHECK: arith.cmpf uno
// CHECK: arith.minsi
func.func @argmax_rows(%arg0: tensor<4x3xf32>) -> tensor<4xi64> {
  %0 = ejit.argmax %arg0 {axes = array<i64: 1>, keepdims = false} : tensor<4x3xf32> -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

// argmin of integers over a dynamic dim: comparisons of integers, the length from tensor.dim.
// CHECK-LABEL: func.func @argmin_dynamic
// CHECK: arith.minsi
// CHECK: tensor.dim %arg0, %{{.*}} : tensor<?x5xi32>
// CHECK: linalg.index 0
// CHECK: arith.cmpi eq
func.func @argmin_dynamic(%arg0: tensor<?x5xi32>) -> tensor<5xi64> {
  %0 = ejit.argmin %arg0 {axes = array<i64: 0>, keepdims = false} : tensor<?x5xi32> -> tensor<5xi64>
  return %0 : tensor<5xi64>
}

// -----

// take: one element of x per element of the result, at the index the indices give
// (negative ones from the end, clamped: the executor checks them before the kernel runs).
// CHECK-DAG: #[[IDX:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @take_rows
// CHECK: linalg.generic {indexing_maps = [#[[IDX]], #{{.*}}]
// CHECK-SAME: ins(%arg1 : tensor<2x2xi64>)
// CHECK: arith.cmpi slt
// CHECK: arith.minsi
// CHECK: arith.maxsi
// CHECK: %[[ROW:.*]] = arith.index_cast
// CHECK: %[[COL:.*]] = linalg.index 2
// CHECK: tensor.extract %arg0[%[[ROW]], %[[COL]]] : tensor<5x3xf32>
func.func @take_rows(%x: tensor<5x3xf32>, %i: tensor<2x2xi64>) -> tensor<2x2x3xf32> {
  %0 = ejit.take %x, %i {axis = 0 : i64} : tensor<5x3xf32>, tensor<2x2xi64> -> tensor<2x2x3xf32>
  return %0 : tensor<2x2x3xf32>
}

// -----

// A number of indices that varies: the result's dynamic dim is theirs.
// CHECK-LABEL: func.func @take_dynamic
// CHECK: %[[N:.*]] = tensor.dim %arg1, %{{.*}} : tensor<?xi32>
// CHECK: tensor.empty(%[[N]]) : tensor<?x3xf32>
// CHECK: tensor.extract %arg0
func.func @take_dynamic(%x: tensor<5x3xf32>, %i: tensor<?xi32>) -> tensor<?x3xf32> {
  %0 = ejit.take %x, %i {axis = 0 : i64} : tensor<5x3xf32>, tensor<?xi32> -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

// A table whose rows vary: negative indices and the clamp use its size of the call.
// CHECK-LABEL: func.func @take_along_dynamic
// CHECK: %[[ROWS:.*]] = tensor.dim %arg0, %{{.*}} : tensor<?x3xf32>
// CHECK: %[[N:.*]] = arith.index_cast %[[ROWS]] : index to i64
// CHECK: linalg.generic
// CHECK: arith.addi %{{.*}}, %[[N]] : i64
// CHECK: arith.subi %[[N]], %{{.*}} : i64
// CHECK: tensor.extract %arg0
func.func @take_along_dynamic(%x: tensor<?x3xf32>, %i: tensor<4xi64>) -> tensor<4x3xf32> {
  %0 = ejit.take %x, %i {axis = 0 : i64} : tensor<?x3xf32>, tensor<4xi64> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// cross_entropy's gather over a batch that varies: the rows' size from x, the class dim static.
// CHECK-LABEL: func.func @gather_dynamic_batch
// CHECK: %[[B:.*]] = tensor.dim %arg0, %{{.*}} : tensor<?x10xf32>
// CHECK: tensor.empty(%[[B]]) : tensor<?x1xf32>
// CHECK: tensor.extract %arg0
func.func @gather_dynamic_batch(%x: tensor<?x10xf32>, %i: tensor<?x1xi64>) -> tensor<?x1xf32> {
  %0 = ejit.gather %x, %i {axis = 1 : i64} : tensor<?x10xf32>, tensor<?x1xi64> -> tensor<?x1xf32>
  return %0 : tensor<?x1xf32>
}

// -----

// gather along the columns, i32 indices broadcasting along the rows.
// CHECK-LABEL: func.func @gather_columns
// CHECK: tensor.collapse_shape %arg1
// CHECK: arith.extsi %{{.*}} : i32 to i64
// CHECK: %[[COL:.*]] = arith.index_cast
// CHECK: tensor.extract %arg0[%{{.*}}, %[[COL]]] : tensor<4x6xf32>
func.func @gather_columns(%x: tensor<4x6xf32>, %i: tensor<1x2xi32>) -> tensor<4x2xf32> {
  %0 = ejit.gather %x, %i {axis = 1 : i64} : tensor<4x6xf32>, tensor<1x2xi32> -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

// CHECK-LABEL: func.func @shapes
// CHECK: tensor.collapse_shape
// CHECK: tensor.expand_shape
// CHECK: linalg.transpose
// CHECK: linalg.matmul
func.func @shapes(%arg0: tensor<2x3xf32>, %arg1: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %0 = ejit.reshape %arg0 : tensor<2x3xf32> -> tensor<3x2xf32>
  %1 = ejit.permute %0 {perm = array<i64: 1, 0>} : tensor<3x2xf32> -> tensor<2x3xf32>
  %2 = ejit.matmul %1, %0 : tensor<2x3xf32>, tensor<3x2xf32> -> tensor<2x2xf32>
  return %2 : tensor<2x2xf32>
}

// -----

// Casts saturate and map NaN to 0, as the interpreter does.
// CHECK-LABEL: func.func @cast
// CHECK: arith.cmpf uno
// CHECK: arith.fptosi
// CHECK: arith.select
func.func @cast(%arg0: tensor<4xf32>) -> tensor<4xi32> {
  %0 = ejit.cast %arg0 : tensor<4xf32> -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// A negative step reads x[start + step * i]: a generic with that affine map (extract_slice
// has no negative strides).
// CHECK: #[[REV:.*]] = affine_map<(d0, d1) -> (d0 * -2 + 4, d1)>
// CHECK: func.func @reversed_slice
// CHECK: linalg.generic {indexing_maps = [#[[REV]], #{{.*}}], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%{{.*}} : tensor<5x3xf32>) outs(%{{.*}} : tensor<3x3xf32>)
func.func @reversed_slice(%x: tensor<5x3xf32>) -> tensor<3x3xf32> {
  %0 = ejit.slice %x {axis = 0 : i64, start = 4 : i64, step = -2 : i64} : tensor<5x3xf32> -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

// Dynamic dims (jit()'s): the result's sizes come from the operands' dims.
// CHECK-LABEL: func.func @dynamic_rows
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[N:.*]] = tensor.dim %arg0, %[[C0]] : tensor<?x64xf32>
// CHECK: tensor.empty(%[[N]]) : tensor<?xf32>
// CHECK: tensor.expand_shape {{.*}} output_shape [%{{.*}}, 1] : tensor<?xf32> into tensor<?x1xf32>
// CHECK: tensor.empty(%{{.*}}) : tensor<?x64xf32>
// CHECK: linalg.transpose
// CHECK-NOT: = ejit.
func.func @dynamic_rows(%arg0: tensor<?x64xf32>, %arg1: tensor<64xf32>) -> tensor<64x?xf32> {
  %0 = ejit.max %arg0 {axes = array<i64: 1>, keepdims = false} : tensor<?x64xf32> -> tensor<?xf32>
  %1 = ejit.reshape %0 : tensor<?xf32> -> tensor<?x1xf32>
  %2 = ejit.sub %arg0, %1 : tensor<?x64xf32>, tensor<?x1xf32> -> tensor<?x64xf32>
  %3 = ejit.mul %2, %arg1 : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  %4 = ejit.permute %3 {perm = array<i64: 1, 0>} : tensor<?x64xf32> -> tensor<64x?xf32>
  return %4 : tensor<64x?xf32>
}

// -----

// A dynamic broadcast_to target dim no operand has: its size comes from a function argument
// (ejit.dim_sizes = [argument, dim, mul, add, div] per dynamic dim: (size * mul + add) / div).
// CHECK-LABEL: func.func @dynamic_broadcast
// CHECK: %[[N:.*]] = tensor.dim %arg1, %{{.*}} : tensor<?x8xf32>
// CHECK: tensor.empty(%[[N]]) : tensor<?x8xf32>
// CHECK: linalg.generic
func.func @dynamic_broadcast(%arg0: tensor<8xf32>, %arg1: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %0 = ejit.broadcast_to %arg0 {ejit.dim_sizes = array<i64: 1, 0, 1, 0, 1>} : tensor<8xf32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// Slices and pads along static dims of a tensor with a dynamic dim.
// CHECK-LABEL: func.func @dynamic_columns
// CHECK: %[[N:.*]] = tensor.dim %arg0, %{{.*}} : tensor<?x10xf32>
// CHECK: tensor.extract_slice %arg0[0, 0] [%[[N]], 5] [1, 2] : tensor<?x10xf32> to tensor<?x5xf32>
// CHECK: linalg.fill
// CHECK: tensor.insert_slice
func.func @dynamic_columns(%arg0: tensor<?x10xf32>) -> tensor<?x6xf32> {
  %0 = ejit.slice %arg0 {axis = 1 : i64, start = 0 : i64, step = 2 : i64} : tensor<?x10xf32> -> tensor<?x5xf32>
  %1 = ejit.pad %0 {low = array<i64: 0, 1>, high = array<i64: 0, 0>, value = 0.0 : f64} : tensor<?x5xf32> -> tensor<?x6xf32>
  return %1 : tensor<?x6xf32>
}

// -----

// Along a dynamic dim: a slice's length from ejit.dim_sizes (n - 2 rows of x[1:-1]), a
// pad's from its operand plus its widths, a concat's the sum of its pieces' (also their
// offsets), and a flattening reshape through a 1-D collapse.
// CHECK-LABEL: func.func @dynamic_rows
// CHECK: %[[N:.*]] = tensor.dim %arg0, %{{.*}} : tensor<?x4xf32>
// CHECK: %[[M2:.*]] = arith.constant -2 : index
// CHECK: %[[L:.*]] = arith.addi %[[N]], %[[M2]] : index
// CHECK: %[[S:.*]] = tensor.extract_slice %arg0[1, 0] [%[[L]], 4] [1, 1] : tensor<?x4xf32> to tensor<?x4xf32>
// CHECK: %[[SN:.*]] = tensor.dim %[[S]], %{{.*}} : tensor<?x4xf32>
// CHECK: %[[C3:.*]] = arith.constant 3 : index
// CHECK: %[[P:.*]] = arith.addi %[[SN]], %[[C3]] : index
// CHECK: tensor.empty(%[[P]]) : tensor<?x4xf32>
// CHECK: linalg.fill
// CHECK: %[[PAD:.*]] = tensor.insert_slice %[[S]] into %{{.*}}[2, 0] [%{{.*}}, 4] [1, 1]
// CHECK: %[[PN:.*]] = tensor.dim %[[PAD]], %{{.*}} : tensor<?x4xf32>
// CHECK: %[[XN:.*]] = tensor.dim %arg0, %{{.*}} : tensor<?x4xf32>
// CHECK: %[[CN:.*]] = arith.addi %[[PN]], %[[XN]] : index
// CHECK: %[[E:.*]] = tensor.empty(%[[CN]]) : tensor<?x4xf32>
// CHECK: %[[C1:.*]] = tensor.insert_slice %[[PAD]] into %[[E]][0, 0] [%[[PN]], 4] [1, 1]
// CHECK: %[[C2:.*]] = tensor.insert_slice %arg0 into %[[C1]][%[[PN]], 0] [%[[XN]], 4] [1, 1]
// CHECK: tensor.collapse_shape %[[C2]] {{\[\[}}0, 1]] : tensor<?x4xf32> into tensor<?xf32>
func.func @dynamic_rows(%arg0: tensor<?x4xf32>) -> tensor<?xf32> {
  %0 = ejit.slice %arg0 {axis = 0 : i64, start = 1 : i64, step = 1 : i64, ejit.dim_sizes = array<i64: 0, 0, 1, -2, 1>} : tensor<?x4xf32> -> tensor<?x4xf32>
  %1 = ejit.pad %0 {low = array<i64: 2, 0>, high = array<i64: 1, 0>, value = 0.0 : f64} : tensor<?x4xf32> -> tensor<?x4xf32>
  %2 = ejit.concat %1, %arg0 {axis = 0 : i64} : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %3 = ejit.reshape %2 : tensor<?x4xf32> -> tensor<?xf32>
  return %3 : tensor<?xf32>
}

// -----

// Float maximum/minimum as the interpreter computes them: (a > b || a != a) ? a : b (NaN
// propagates; of two zeros the second wins, where arith.maximumf would pick +0).
// CHECK-LABEL: func.func @maximum_as_interpreter
// CHECK: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %{{.*}}: f32):
// CHECK-DAG: %[[GT:.*]] = arith.cmpf ogt, %[[A]], %[[B]] : f32
// CHECK-DAG: %[[NAN:.*]] = arith.cmpf uno, %[[A]], %[[A]] : f32
// CHECK: %[[C:.*]] = arith.ori %[[GT]], %[[NAN]] : i1
// CHECK: arith.select %[[C]], %[[A]], %[[B]] : f32
// CHECK-NOT: arith.maximumf
func.func @maximum_as_interpreter(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %0 = ejit.maximum %a, %b : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
