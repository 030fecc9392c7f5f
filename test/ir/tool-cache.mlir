// `ejit cache`: the on-disk kernel cache that `ejit run` and jit() fill.
// RUN: rm -rf %t && env EJIT_CACHE_DIR=%t %ejit cache stats | FileCheck %s --check-prefix=EMPTY
// RUN: env EJIT_CACHE_DIR=%t %ejit run %ejit_src/examples/traces/chain.mlir --mode=compiled --repeat=0 > /dev/null
// RUN: env EJIT_CACHE_DIR=%t %ejit cache stats | FileCheck %s --check-prefix=ONE
// RUN: env EJIT_CACHE_DIR=%t %ejit run %ejit_src/examples/traces/chain.mlir --mode=compiled --repeat=0 \
// RUN:   | FileCheck %s --check-prefix=LOADED
// RUN: env EJIT_CACHE_DIR=%t %ejit cache clear | FileCheck %s --check-prefix=CLEAR
// RUN: env EJIT_CACHE_DIR=%t %ejit cache stats | FileCheck %s --check-prefix=EMPTY
// RUN: env EJIT_CACHE_DIR=off %ejit cache stats | FileCheck %s --check-prefix=OFF
// RUN: not %ejit cache bogus 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not %ejit cache 2>&1 | FileCheck %s --check-prefix=NONE

// EMPTY: kernels: 0
// ONE: kernels: 1
// LOADED: loaded from the disk cache
// CLEAR: removed 1 kernels
// OFF: disk cache: off
// BAD: ejit: error: unknown cache action 'bogus' (expected stats or clear)
// NONE: ejit: error: ejit cache needs an action: stats or clear
