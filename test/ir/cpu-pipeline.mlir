// RUN: ejit-opt %s --ejit-cpu-pipeline | FileCheck %s
// RUN: ejit-opt %s --ejit-cpu-pipeline=stop-after=fused | FileCheck %s --check-prefix=FUSED
// RUN: ejit-opt %s --ejit-cpu-pipeline=stop-after=loops | FileCheck %s --check-prefix=LOOPS
// RUN: not ejit-opt %s --ejit-cpu-pipeline=stop-after=ptx 2>&1 | FileCheck %s --check-prefix=BAD
// The JIT's CPU pipeline, registered (lib/pipeline: the JIT runs the same passes, stage by
// stage), takes an ejit function down to the LLVM dialect; stop-after picks the last stage.

// CHECK-LABEL: llvm.func @relu_scale
// CHECK: llvm.fcmp "olt"
// CHECK: llvm.select
// CHECK: llvm.fmul
// CHECK-NOT: ejit.
// CHECK-NOT: linalg.

// The relu and the multiply fuse into one linalg.generic on tensors.
// FUSED-LABEL: func.func @relu_scale
// FUSED: linalg.generic
// FUSED-NOT: linalg.generic
// FUSED: return

// LOOPS-LABEL: func.func @relu_scale
// LOOPS: scf.parallel
// LOOPS-NOT: linalg.

// BAD: stop-after=ptx names no stage of the CPU pipeline
func.func @relu_scale(%x: tensor<16xf32>) -> tensor<16xf32> {
  %two = ejit.constant dense<2.000000e+00> : tensor<f32>
  %0 = ejit.relu %x : tensor<16xf32> -> tensor<16xf32>
  %1 = ejit.mul %0, %two : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  return %1 : tensor<16xf32>
}
