// `ejit dump`: each compiler stage of the example traces (examples/traces/, recorded by
// examples/record_traces).
// RUN: %ejit dump %ejit_src/examples/traces/softmax.mlir --stage=ejit | FileCheck %s --check-prefix=EJIT
// RUN: %ejit dump %ejit_src/examples/traces/softmax.mlir | FileCheck %s --check-prefix=EJIT
// RUN: %ejit dump %ejit_src/examples/traces/softmax.mlir --stage=linalg | FileCheck %s --check-prefix=LINALG
// RUN: %ejit dump %ejit_src/examples/traces/chain.mlir --stage=fused | FileCheck %s --check-prefix=FUSED
// RUN: %ejit dump %ejit_src/examples/traces/softmax.mlir --stage=loops | FileCheck %s --check-prefix=LOOPS
// RUN: %ejit dump %ejit_src/examples/traces/softmax.mlir --stage llvm-dialect | FileCheck %s --check-prefix=LLVMDIALECT
// RUN: %ejit dump %ejit_src/examples/traces/layer_norm.mlir --stage=llvm | FileCheck %s --check-prefix=LLVM
// RUN: %ejit dump %ejit_src/examples/traces/chain.mlir --stage=asm | FileCheck %s --check-prefix=ASM
// RUN: %ejit dump %ejit_src/examples/traces/mlp.mlir --stage=all | FileCheck %s --check-prefix=ALL
// RUN: env EJIT_DUMP=asm %ejit run %ejit_src/examples/traces/chain.mlir --mode=compiled --repeat=0 2>&1 >/dev/null \
// RUN:   | FileCheck %s --check-prefix=DUMPASM

// EJIT: func.func private @trace(%arg0: tensor<256x1024xf32>) -> tensor<256x1024xf32>
// EJIT: ejit.max %arg0 {axes = array<i64: 1>, keepdims = false}
// EJIT: ejit.exp
// EJIT: func.func @kernel(

// LINALG-NOT: ejit.
// LINALG: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// LINALG: math.exp

// The elementwise chain fuses into one linalg.generic.
// FUSED: func.func @kernel(
// FUSED-COUNT-1: linalg.generic
// FUSED-NOT: linalg.generic

// LOOPS: func.func @kernel(%arg0: index, %arg1: index
// LOOPS: scf.parallel
// LOOPS: memref.store

// LLVMDIALECT: llvm.func @kernel(
// LLVMDIALECT-NOT: scf.
// LLVMDIALECT: llvm.fmul

// LLVM: target triple = "x86_64
// LLVM: define internal {{.*}}void @kernel(
// LLVM: fmul {{.*}}<{{[0-9]+}} x float>

// ASM: .text
// ASM: kernel:
// ASM: {{v[a-z0-9]+ps}} {{.*}}%{{[yz]mm[0-9]+}}

// ALL: // ----- stage ejit -----
// ALL: kernels; between them the interpreter runs: matmul runs on the BLAS
// ALL: ejit.relu
// ALL: // ----- stage linalg -----
// ALL: linalg.generic
// ALL: // ----- stage fused -----
// ALL: // ----- stage loops -----
// ALL: // ----- stage llvm-dialect -----
// ALL: // ----- stage llvm -----
// ALL: // ----- stage asm -----
// ALL: kernel:

// DUMPASM: // ----- EJIT_DUMP stage asm -----
// DUMPASM: kernel:
