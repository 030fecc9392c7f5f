// RUN: ejit-opt %s --ejit-cpu-pipeline=stop-after=fused | FileCheck %s
// RUN: ejit-opt %s --ejit-gpu-pipeline=stop-after=fused | FileCheck %s --check-prefix=GPU
// Independent elementwise ops over one iteration space become one linalg.generic with a
// result each (CPU only: GPU kernels take their buffers as launch parameters). An op that
// reads a sibling's result through another op (the reduction) stays out of its group, and
// ops over another shape group on their own. An input that several ops read through the
// same map is one operand of the fused op (x, read by tanh and sin). exp, a result that the
// row sum also reads, is computed once, by the row sum, which stores it (ProducerInReduction.h).

// CHECK-LABEL: func.func @siblings
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%{{[a-z0-9_]+}} : tensor<4x8xf32>) outs(
// CHECK: math.tanh
// CHECK: math.sin
// CHECK: -> (tensor<4x8xf32>, tensor<4x8xf32>)
// CHECK: linalg.generic
// CHECK-SAME: "reduction"
// CHECK: math.exp
// CHECK-NOT: math.exp
// CHECK: -> (tensor<4xf32>, tensor<4x8xf32>)
// CHECK: linalg.generic
// CHECK: -> tensor<4x8xf32>
// CHECK-NOT: linalg.generic
// CHECK: return

// GPU-LABEL: func.func @siblings
// GPU-COUNT-5: linalg.generic
// GPU-NOT: linalg.generic
func.func @siblings(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %0 = ejit.exp %x : tensor<4x8xf32> -> tensor<4x8xf32>
  %1 = ejit.tanh %x : tensor<4x8xf32> -> tensor<4x8xf32>
  %2 = ejit.sin %x : tensor<4x8xf32> -> tensor<4x8xf32>
  %r = ejit.sum %0 {axes = array<i64: 1>, keepdims = false} : tensor<4x8xf32> -> tensor<4xf32>
  %s = ejit.reshape %r : tensor<4xf32> -> tensor<4x1xf32>
  %3 = ejit.div %x, %s : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xf32>
  return %0, %1, %2, %3 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}
