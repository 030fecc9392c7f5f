// `ejit dump --stage=ptx`: the GPU program of a trace — its steps and launches, and the
// NVPTX of its kernels (no GPU needed). `--device=cuda --stage=gpu`: the outlined kernels.
// RUN: %ejit dump %ejit_src/examples/traces/chain.mlir --stage=ptx | FileCheck %s
// RUN: %ejit dump %ejit_src/examples/traces/softmax.mlir --stage=ptx | FileCheck %s --check-prefix=SOFTMAX
// RUN: env EJIT_CUDA_ARCH=sm_80 %ejit dump %ejit_src/examples/traces/chain.mlir --stage=ptx | FileCheck %s --check-prefix=ARCH
// RUN: %ejit dump %ejit_src/examples/traces/chain.mlir --device=cuda --stage=gpu | FileCheck %s --check-prefix=GPU
// RUN: %ejit dump %ejit_src/examples/traces/chain.mlir --device=cuda --stage=loops | FileCheck %s --check-prefix=LOOPS
// RUN: %ejit dump %ejit_src/examples/traces/mlp.mlir --stage=ptx | FileCheck %s --check-prefix=ALLGPU
// RUN: %ejit dump %ejit_src/examples/traces/train_step.mlir --stage=ptx | FileCheck %s --check-prefix=ALLGPU

// The whole chain is one kernel: 1M elements in 4096 blocks of 256 threads; its
// parameters are four memref descriptors (7 + 7 + 5 + 7 values).
// CHECK: // GPU program for sm_90: 1 steps
// CHECK-NEXT: step 0: fused kernels (1 launches) for mul
// CHECK-NEXT: launch kernel_kernel grid (4096, 1, 1) block (256, 1, 1), 26 parameters
// CHECK: // ---- PTX module 0
// CHECK: .target sm_90
// CHECK: .visible .entry kernel_kernel(
// CHECK: ld.global.f32
// CHECK: st.global.f32

// Softmax: one kernel, a block per row (row max, row sum of exp, division: each combined
// across the block with warp shuffles and shared memory); nothing runs on the host.
// SOFTMAX: GPU program for sm_90: 1 steps
// SOFTMAX-NEXT: step 0: softmax as one kernel, a block per row (256 rows of 1024)
// SOFTMAX-NEXT: launch row_softmax grid (256, 1, 1) block (256, 1, 1), 11 parameters
// SOFTMAX-NOT: on the host
// SOFTMAX: .visible .entry row_softmax(
// SOFTMAX: shfl.sync.bfly
// SOFTMAX: bar.sync
// SOFTMAX: shfl.sync.bfly

// ARCH: .target sm_80

// GPU: func.func @kernel(
// GPU: gpu.launch_func @kernel_kernel::@kernel_kernel blocks in
// GPU: gpu.module @kernel_kernel
// GPU: gpu.func @kernel_kernel({{.*}}) kernel
// GPU: gpu.block_id x
// GPU: gpu.thread_id x

// The parallel loop is collapsed to one dimension of 1024 * 1024 and tiled by 256.
// LOOPS: scf.parallel (%{{.*}}) = (%c0) to (%c1048576) step (%c256)
// LOOPS-NEXT: scf.parallel (%{{.*}}) = (%c0) to (%c256) step (%c1)

// An MLP forward and an SGD step with its backward pass: every step on the GPU (sizes that
// are not multiples of 256 leave a partial last block, bounded by an affine.min).
// ALLGPU: // GPU program for sm_90
// ALLGPU-NOT: on the host
// ALLGPU: .visible .entry
