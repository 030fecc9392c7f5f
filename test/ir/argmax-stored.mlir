// RUN: ejit-opt %s --ejit-cpu-pipeline=stop-after=fused | FileCheck %s
// argmax's two passes (the extreme, then the first position holding it) compare elements
// for equality: a producer is computed once and stored, never copied into both passes (a
// vector loop in one and a scalar remainder in the other could differ in the last bit, and
// then no position would match).

// CHECK-LABEL: func.func @trace
// CHECK: math.exp
// CHECK-NOT: math.exp
// CHECK: iterator_types = ["parallel", "reduction"]
// CHECK-NOT: math.exp
// CHECK: iterator_types = ["parallel", "reduction"]
// CHECK-NOT: math.exp
func.func @trace(%x: tensor<64x100xf32>) -> tensor<64xi64> {
  %0 = ejit.exp %x : tensor<64x100xf32> -> tensor<64x100xf32>
  %1 = ejit.argmax %0 {axes = array<i64: 1>, keepdims = false} : tensor<64x100xf32> -> tensor<64xi64>
  return %1 : tensor<64xi64>
}
