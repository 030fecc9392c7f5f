// RUN: ejit-opt %s --ejit-gpu-pipeline=stop-after=gpu | FileCheck %s
// RUN: ejit-opt %s --ejit-gpu-pipeline="stop-after=ptx chip=sm_80" | FileCheck %s --check-prefix=PTX
// The JIT's GPU pipeline, registered: the fused loop becomes one outlined kernel launched
// over blocks of threads, then PTX for the chosen chip (no GPU needed).

// CHECK-LABEL: func.func @relu_scale
// CHECK: gpu.launch_func @relu_scale_kernel::@relu_scale_kernel
// CHECK: gpu.module @relu_scale_kernel
// CHECK: gpu.func @relu_scale_kernel
// CHECK: arith.cmpf olt
// CHECK: arith.mulf
// CHECK: gpu.return

// PTX: gpu.binary @relu_scale_kernel
// PTX-SAME: .target sm_80
func.func @relu_scale(%x: tensor<4096xf32>) -> tensor<4096xf32> {
  %two = ejit.constant dense<2.000000e+00> : tensor<f32>
  %0 = ejit.relu %x : tensor<4096xf32> -> tensor<4096xf32>
  %1 = ejit.mul %0, %two : tensor<4096xf32>, tensor<f32> -> tensor<4096xf32>
  return %1 : tensor<4096xf32>
}
