// EJIT_STRICT=1: compiled code computes exactly what the interpreter computes, so `ejit run
// --mode=compare` shows a max abs (and rel) error of 0 for every output of the example traces.
// RUN: env EJIT_CACHE_DIR=off EJIT_STRICT=1 %ejit run %ejit_src/examples/traces/chain.mlir --mode=compare --repeat=1 | FileCheck %s
// RUN: env EJIT_CACHE_DIR=off EJIT_STRICT=1 %ejit run %ejit_src/examples/traces/layer_norm.mlir --mode=compare --repeat=1 | FileCheck %s
// RUN: env EJIT_CACHE_DIR=off EJIT_STRICT=1 %ejit run %ejit_src/examples/traces/mlp.mlir --mode=compare --repeat=1 | FileCheck %s
// RUN: env EJIT_CACHE_DIR=off EJIT_STRICT=1 %ejit run %ejit_src/examples/traces/softmax.mlir --mode=compare --repeat=1 | FileCheck %s
// RUN: env EJIT_CACHE_DIR=off EJIT_STRICT=1 %ejit run %ejit_src/examples/traces/train_step.mlir --mode=compare --repeat=1 | FileCheck %s --check-prefixes=CHECK,TWO
// RUN: env EJIT_CACHE_DIR=off EJIT_STRICT=yes not %ejit run %ejit_src/examples/traces/softmax.mlir 2>&1 | FileCheck %s --check-prefix=BAD

// CHECK: max abs err
// CHECK-NEXT: {{^out0 +\([0-9,]*\) +f32 +0 +0 }}
// TWO-NEXT: {{^out1 +\([0-9,]*\) +f32 +0 +0 }}
// CHECK-NOT: out{{[0-9]}}

// BAD: ejit: error: {{.*}}EJIT_STRICT=yes is not 0 or 1
