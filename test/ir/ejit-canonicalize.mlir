// ejit-canonicalize is upstream's canonicalize with the JIT context's pattern set kept. Each
// split below gets a fresh context (perhaps at a freed one's address): each must still fold.
// RUN: ejit-opt %s --split-input-file --pass-pipeline='builtin.module(ejit-canonicalize)' | FileCheck %s

// CHECK-LABEL: func.func @first
// CHECK-NEXT: return %arg0
func.func @first(%x: i64) -> i64 {
  %c0 = arith.constant 0 : i64
  %unused = arith.constant 7 : i64
  %y = arith.addi %x, %c0 : i64
  return %y : i64
}

// -----

// CHECK-LABEL: func.func @second
// CHECK-NEXT: %[[C:.*]] = arith.constant 6 : index
// CHECK-NEXT: return %[[C]]
func.func @second() -> index {
  %a = arith.constant 2 : index
  %b = arith.constant 3 : index
  %m = arith.muli %a, %b : index
  return %m : index
}

// -----

// CHECK-LABEL: func.func @third
// CHECK-NEXT: return %arg0
func.func @third(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r = ejit.reshape %x : tensor<4xf32> -> tensor<2x2xf32>
  %s = ejit.reshape %r : tensor<2x2xf32> -> tensor<4xf32>
  return %s : tensor<4xf32>
}
