// `ejit` on malformed traces (test/fuzz/traces, and generated ones): one located
// "[load_trace]" error line, exit code 2, never a crash. ejit-opt refuses deep nesting too.
// RUN: not %ejit dump %ejit_src/test/fuzz/traces/decl_only.mlir 2>&1 | FileCheck %s --check-prefix=DECL
// RUN: not %ejit run %ejit_src/test/fuzz/traces/two_bodies.mlir 2>&1 | FileCheck %s --check-prefix=TWO
// RUN: not %ejit dump %ejit_src/test/fuzz/traces/type_index.mlir 2>&1 | FileCheck %s --check-prefix=INDEX
// RUN: not %ejit dump %ejit_src/test/fuzz/traces/type_dynamic.mlir 2>&1 | FileCheck %s --check-prefix=DYNAMIC
// RUN: not %ejit dump %ejit_src/test/fuzz/traces/type_ui64.mlir 2>&1 | FileCheck %s --check-prefix=UI64
// RUN: not %ejit dump %ejit_src/test/fuzz/traces/two_blocks.mlir 2>&1 | FileCheck %s --check-prefix=BLOCKS
// RUN: not %ejit run %ejit_src/test/fuzz/traces/splat_huge.mlir 2>&1 | FileCheck %s --check-prefix=SPLAT
// RUN: not %ejit dump %ejit_src/test/fuzz/traces/no_ops.mlir 2>&1 | FileCheck %s --check-prefix=NOOPS
// RUN: not %ejit dump /dev/zero 2>&1 | FileCheck %s --check-prefix=DEVZERO
// RUN: rm -rf %t && mkdir -p %t
// RUN: not %ejit dump %t 2>&1 | FileCheck %s --check-prefix=DIR
// RUN: %python -c "print('func.func @f() attributes {x = ' + '[' * 100000 + ']' * 100000 + '} {\n  return\n}')" > %t/deep.mlir
// RUN: not %ejit dump %t/deep.mlir 2>&1 | FileCheck %s --check-prefix=DEEP
// RUN: not ejit-opt %t/deep.mlir 2>&1 | FileCheck %s --check-prefix=OPT-DEEP
// RUN: not ejit-opt < %t/deep.mlir 2>&1 | FileCheck %s --check-prefix=OPT-STDIN
// RUN: %python -c "print('#map = affine_map<(d0) -> (' + 'd0 + ' * 1000000 + 'd0)>')" > %t/chain.mlir
// RUN: not ejit-opt %t/chain.mlir 2>&1 | FileCheck %s --check-prefix=OPT-CHAIN

// DECL: ejit: error: [load_trace] no func.func with a body, only declarations (@decl at {{.*}}decl_only.mlir:2:1)
// TWO: ejit: error: [load_trace] 2 functions have a body (@f at {{.*}}two_bodies.mlir:2:1, @g at {{.*}}two_bodies.mlir:5:1); a trace is one func.func with a body
// INDEX: ejit: error: [load_trace] {{.*}}type_index.mlir:2:1: @f result 0 has type index: a trace's values are ranked tensors of static shape, such as tensor<2x3xf32>
// DYNAMIC: ejit: error: [load_trace] {{.*}}type_dynamic.mlir:2:1: @f result 0 has type tensor<4x?xf32>: a trace's shapes are static (no '?' dims)
// UI64: ejit: error: [load_trace] {{.*}}type_ui64.mlir:2:1: @f result 0 has type tensor<4xui64>: the element type is not one of i1, i32, i64, f32, f64
// BLOCKS: ejit: error: [load_trace] {{.*}}two_blocks.mlir:3:1: @f has 2 blocks; a trace is one block ending in func.return
// SPLAT: ejit: error: [load_trace] {{.*}}splat_huge.mlir:4:8: ejit.constant of 100000000000 elements (tensor<100000000000xf32>) takes the trace's constants past 268435456 (2^28) elements
// NOOPS: ejit: error: {{.*}}no_ops.mlir: [jit] no op of this trace compiles (the trace has no ops besides constants: its outputs are inputs or constants)
// DEVZERO: ejit: error: [load_trace] '/dev/zero' is not a regular file (a device, FIFO or socket)
// DIR: ejit: error: [load_trace] '{{.*}}' is a directory, not a trace file
// DEEP: ejit: error: [load_trace] {{.*}}deep.mlir:1:287: nesting deeper than 256
// OPT-DEEP: deep.mlir:1:287: error: nesting deeper than 256
// OPT-STDIN: <stdin>:1:287: error: nesting deeper than 256
// OPT-CHAIN: chain.mlir:1:1311: error: more operators in one expression than 256
