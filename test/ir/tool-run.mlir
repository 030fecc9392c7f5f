// `ejit run`: interpreted vs compiled on the example traces, .npy inputs and outputs.
// RUN: %ejit run %ejit_src/examples/traces/layer_norm.mlir --mode=compare --repeat 2 | FileCheck %s
// RUN: %ejit run %ejit_src/examples/traces/mlp.mlir --repeat=1 --seed 7 | FileCheck %s --check-prefix=MLP
// RUN: %ejit run %ejit_src/examples/traces/train_step.mlir --repeat=1 | FileCheck %s --check-prefix=TRAIN
// RUN: rm -rf %t && %ejit run %ejit_src/examples/traces/softmax.mlir --mode=interp --repeat=1 --outputs %t \
// RUN:   | FileCheck %s --check-prefix=INTERP
// RUN: %ejit run %ejit_src/examples/traces/softmax.mlir --mode=compiled --repeat=1 --inputs %t/out0.npy \
// RUN:   --outputs %t/compiled | FileCheck %s --check-prefix=COMPILED
// RUN: ls %t/compiled | FileCheck %s --check-prefix=FILES
// Every LLVM pipeline level computes the same (2 is the default; 3 is LLVM's whole -O3), and
// EJIT_CHECK_KERNELS verifies the IR after every pass.
// RUN: env EJIT_CACHE_DIR=off EJIT_OPT_LEVEL=0 %ejit run %ejit_src/examples/traces/train_step.mlir --repeat=1 | FileCheck %s --check-prefix=TRAIN
// RUN: env EJIT_CACHE_DIR=off EJIT_OPT_LEVEL=1 %ejit run %ejit_src/examples/traces/train_step.mlir --repeat=1 | FileCheck %s --check-prefix=TRAIN
// RUN: env EJIT_CACHE_DIR=off EJIT_OPT_LEVEL=3 %ejit run %ejit_src/examples/traces/train_step.mlir --repeat=1 | FileCheck %s --check-prefix=TRAIN
// RUN: env EJIT_CACHE_DIR=off EJIT_CHECK_KERNELS=1 %ejit run %ejit_src/examples/traces/softmax.mlir --mode=compare --repeat=1 | FileCheck %s --check-prefix=SOFTMAX-CHECKED
// SOFTMAX-CHECKED: compiled
// The reference stays on the CPU whatever the default device (no GPU is needed for this).
// RUN: env EJIT_DEFAULT_DEVICE=cuda:0 %ejit run %ejit_src/examples/traces/layer_norm.mlir --repeat 1 | FileCheck %s
// Out of tolerance (here: none allowed at all) exits 1, with a note on stderr.
// RUN: not %ejit run %ejit_src/examples/traces/softmax.mlir --repeat=0 --rtol 0 --atol 0 2>&1 \
// RUN:   | FileCheck %s --check-prefix=STRICT

// CHECK: layer_norm.mlir: 3 inputs (random, seed 0), 1 output, 19 ops
// CHECK: {{compiled|loaded from the disk cache}} in
// CHECK: output shape dtype max abs err max rel err rtol atol within tolerance
// CHECK-NEXT: out0 (256,1024) f32 {{.*}} 1e-04 1e-05 yes
// CHECK: mode median ms/run speedup
// CHECK-NEXT: interp {{[0-9.]+}} 1.00x
// CHECK-NEXT: compiled {{[0-9.]+}} {{[0-9.]+}}x

// MLP: mlp.mlir: 5 inputs (random, seed 7), 1 output, 12 ops
// MLP: out0 (32,10) f32 {{.*}} yes

// TRAIN: out0 () f32 {{.*}} yes
// TRAIN-NEXT: out1 (32,10) f32 {{.*}} yes

// INTERP: out0: (256,1024) f32
// INTERP-NEXT: tensor({{\[\[}}
// INTERP: interp: {{[0-9.]+}} ms per run (median of 1)

// COMPILED: softmax.mlir: 1 input (from .npy files), 1 output, 7 ops
// COMPILED: out0: (256,1024) f32
// COMPILED: compiled: {{[0-9.]+}} ms per run

// FILES: out0.npy

// STRICT: out0 {{.*}} NO
// STRICT: ejit: 1 of 1 output out of tolerance
