// `ejit cache`: the on-disk kernel cache that `ejit run` and jit() fill.
// RUN: rm -rf %t && env EJIT_CACHE_DIR=%t %ejit cache stats | FileCheck %s --check-prefix=EMPTY
// RUN: env EJIT_CACHE_DIR=%t %ejit run %ejit_src/examples/traces/chain.mlir --mode=compiled --repeat=0 > /dev/null
// RUN: env EJIT_CACHE_DIR=%t %ejit cache stats | FileCheck %s --check-prefix=ONE
// RUN: env EJIT_CACHE_DIR=%t %ejit run %ejit_src/examples/traces/chain.mlir --mode=compiled --repeat=0 \
// RUN:   | FileCheck %s --check-prefix=LOADED
//
// The same binary started by another path (a symlink) is the same build: it loads the kernel.
// RUN: rm -rf %t.bin && mkdir -p %t.bin && ln -s %ejit %t.bin/other-name
// RUN: env EJIT_CACHE_DIR=%t %t.bin/other-name run %ejit_src/examples/traces/chain.mlir --mode=compiled --repeat=0 \
// RUN:   | FileCheck %s --check-prefix=LOADED
//
// Files that ejit did not write survive `clear`, in the folder and in its entries' sub-folder.
// RUN: echo precious > %t/precious_build_output.o && echo mine > %t/kernels-v2/notes.meta
// RUN: echo gpu > %t/kernels-v2/0123.gpu && echo x > %t/kernels-v2/0123456789abcdef0123456789abcdeg.entry
// RUN: env EJIT_CACHE_DIR=%t %ejit cache clear | FileCheck %s --check-prefix=CLEAR
// RUN: env EJIT_CACHE_DIR=%t %ejit cache stats | FileCheck %s --check-prefix=EMPTY
// RUN: ls %t %t/kernels-v2 | FileCheck %s --check-prefix=KEPT
// RUN: env EJIT_CACHE_DIR=off %ejit cache stats | FileCheck %s --check-prefix=OFF
//
// EJIT_CODEGEN_MATMUL changes the code without changing the trace: it is part of the key.
// RUN: env EJIT_CACHE_DIR=%t %ejit run %ejit_src/examples/traces/mlp.mlir --mode=compiled --repeat=0 > /dev/null
// RUN: env EJIT_CACHE_DIR=%t EJIT_CODEGEN_MATMUL=1 %ejit run %ejit_src/examples/traces/mlp.mlir --mode=compiled \
// RUN:   --repeat=0 | FileCheck %s --check-prefix=LOOPS
// RUN: not %ejit cache bogus 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not %ejit cache 2>&1 | FileCheck %s --check-prefix=NONE

// LOOPS-NOT: loaded from the disk cache
// LOOPS: compiled in
// EMPTY: kernels: 0
// ONE: kernels: 1
// LOADED: loaded from the disk cache
// CLEAR: removed 1 kernels
// KEPT-DAG: precious_build_output.o
// KEPT-DAG: notes.meta
// KEPT-DAG: 0123.gpu
// KEPT-DAG: 0123456789abcdef0123456789abcdeg.entry
// OFF: disk cache: off
// BAD: ejit: error: unknown cache action 'bogus' (expected stats or clear)
// NONE: ejit: error: ejit cache needs an action: stats or clear
