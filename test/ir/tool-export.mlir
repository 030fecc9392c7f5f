// `ejit export`: traces into one shared library; `ejit run` on the library checks its code
// against the interpreter running the trace inside it.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %ejit export %ejit_src/examples/traces/mlp.mlir -o %t/mlp.so | FileCheck %s --check-prefix=EXPORT
// RUN: %ejit run %t/mlp.so --repeat=1 | FileCheck %s --check-prefix=LOADED
// RUN: %ejit run %t/mlp.so --mode=interp --repeat=1 | FileCheck %s --check-prefix=INTERP
// Two traces: two signatures, picked with --signature.
// RUN: %ejit export %ejit_src/examples/traces/softmax.mlir %ejit_src/examples/traces/layer_norm.mlir -o %t/two.so \
// RUN:   --name=norms --cpu=x86-64-v2 | FileCheck %s --check-prefix=TWO
// RUN: %ejit run %t/two.so --signature=1 --repeat=1 | FileCheck %s --check-prefix=SECOND
// A GPU library needs no GPU to be written.
// RUN: %ejit export %ejit_src/examples/traces/softmax.mlir -o %t/gpu.so --target=cuda | FileCheck %s --check-prefix=GPU
// Errors: one line, exit 2.
// RUN: not %ejit export %ejit_src/examples/traces/mlp.mlir 2>&1 | FileCheck %s --check-prefix=NO-OUTPUT
// RUN: not %ejit export -o %t/x.so 2>&1 | FileCheck %s --check-prefix=NO-TRACE
// RUN: not %ejit export %ejit_src/examples/traces/mlp.mlir -o %t/x.so --target=tpu 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not %ejit export %ejit_src/examples/traces/mlp.mlir -o %t/x.so --cpu=pentium9000 2>&1 | FileCheck %s --check-prefix=CPU
// RUN: not %ejit export %ejit_src/examples/traces/mlp.mlir -o %t/x.so --strict=yes 2>&1 | FileCheck %s --check-prefix=STRICT
// RUN: not %ejit run %t/two.so --signature=2 2>&1 | FileCheck %s --check-prefix=SIGNATURE
// RUN: not %ejit run %ejit_src/examples/traces/mlp.mlir --signature=1 2>&1 | FileCheck %s --check-prefix=NOT-LIBRARY
// RUN: head -c 1000 %t/mlp.so > %t/truncated.so && not %ejit run %t/truncated.so 2>&1 | FileCheck %s --check-prefix=TRUNCATED

// EXPORT: mlp.so: mlp (1 signature, {{[0-9]+}} bytes of code) for cpu
// EXPORT-NEXT: (f32(32,64), f32(64,128), f32(128,), f32(128,10), f32(10,)): {{[0-9]+}} kernels, {{[0-9]+}} interpreter steps
// LOADED: loaded mlp ({{.*}}) for cpu
// LOADED: out0 (32,10) f32 {{.*}} yes
// INTERP: out0: (32,10) f32
// TWO: two.so: norms (2 signatures, {{.*}}) for cpu x86-64-v2
// TWO-NEXT: (f32(256,1024)): 1 kernel
// TWO-NEXT: (f32(256,1024), f32(1024,), f32(1024,)): 1 kernel
// SECOND: 3 inputs
// SECOND: out0 (256,1024) f32 {{.*}} yes
// GPU: gpu.so: softmax (1 signature, {{[0-9]+}} bytes of code) for cuda sm_{{[0-9]+}}
// NO-OUTPUT: ejit: error: 'ejit export' needs -o NAME.so
// NO-TRACE: ejit: error: 'ejit export' needs at least one trace file
// TARGET: ejit: error: --target=tpu: expected cpu or cuda
// CPU: ejit: error: [export] LLVM knows no CPU 'pentium9000'
// STRICT: ejit: error: --strict=yes: expected 0 or 1
// SIGNATURE: ejit: error: --signature=2: {{.*}}two.so has 2 signature(s)
// NOT-LIBRARY: ejit: error: --signature: only for libraries written by ejit export
// TRUNCATED: ejit: error: [load_compiled] {{.*}}truncated.so: not a library exported by ejit
