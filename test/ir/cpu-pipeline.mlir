// RUN: ejit-opt %s --convert-ejit-to-linalg --linalg-fuse-elementwise-ops \
// RUN:   --eliminate-empty-tensors \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" \
// RUN:   --buffer-deallocation-pipeline --convert-linalg-to-parallel-loops --lower-affine --convert-scf-to-cf \
// RUN:   --expand-strided-metadata --convert-math-to-llvm --finalize-memref-to-llvm --convert-arith-to-llvm \
// RUN:   --convert-index-to-llvm --convert-func-to-llvm --convert-cf-to-llvm --reconcile-unrealized-casts \
// RUN: | FileCheck %s
// The CPU pipeline's passes (lib/jit/CpuCompiler.cpp runs the same, stage by stage) take
// an ejit function down to the LLVM dialect.

// CHECK-LABEL: llvm.func @relu_scale
// CHECK: llvm.fcmp "olt"
// CHECK: llvm.select
// CHECK: llvm.fmul
// CHECK-NOT: ejit.
// CHECK-NOT: linalg.
func.func @relu_scale(%x: tensor<16xf32>) -> tensor<16xf32> {
  %two = ejit.constant dense<2.000000e+00> : tensor<f32>
  %0 = ejit.relu %x : tensor<16xf32> -> tensor<16xf32>
  %1 = ejit.mul %0, %two : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  return %1 : tensor<16xf32>
}
