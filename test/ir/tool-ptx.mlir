// `ejit dump --stage=ptx`: the loops of a trace as NVPTX kernels (no GPU needed).
// RUN: %ejit dump %ejit_src/examples/traces/chain.mlir --stage=ptx | FileCheck %s
// RUN: %ejit dump %ejit_src/examples/traces/layer_norm.mlir --stage=ptx | FileCheck %s --check-prefix=MULTI
// RUN: env EJIT_CUDA_ARCH=sm_80 %ejit dump %ejit_src/examples/traces/chain.mlir --stage=ptx | FileCheck %s --check-prefix=ARCH

// CHECK: // ---- gpu module
// CHECK: .target sm_90
// CHECK: .visible .entry
// CHECK: ld.global.f32
// CHECK: st.global.f32

// MULTI-COUNT-6: .visible .entry

// ARCH: .target sm_80
