// `ejit` errors: one line on stderr, "ejit: error: ...", exit code 2 (never a crash).
// RUN: not %ejit dump %s 2>&1 | FileCheck %s --check-prefix=MALFORMED
// RUN: not %ejit run %s 2>&1 | FileCheck %s --check-prefix=MALFORMED
// RUN: not %ejit dump %s 2>&1 >/dev/null | count 1
// RUN: not %ejit dump %ejit_src/examples/traces/softmax.mlir --stage=bogus 2>&1 | FileCheck %s --check-prefix=STAGE
// RUN: not %ejit dump %t.does-not-exist.mlir 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not %ejit run %ejit_src/examples/traces/softmax.mlir --mode=fast 2>&1 | FileCheck %s --check-prefix=MODE
// RUN: not %ejit run %ejit_src/examples/traces/softmax.mlir --device=cuda 2>&1 | FileCheck %s --check-prefix=CUDA
// RUN: not %ejit run %ejit_src/examples/traces/softmax.mlir --fast 2>&1 | FileCheck %s --check-prefix=OPTION
// RUN: env EJIT_CACHE_DIR=off EJIT_OPT_LEVEL=O3 not %ejit run %ejit_src/examples/traces/softmax.mlir --mode=compiled 2>&1 | FileCheck %s --check-prefix=OPT-LEVEL
// RUN: not %ejit run %ejit_src/examples/traces/softmax.mlir --device=tpu 2>&1 | FileCheck %s --check-prefix=DEVICE
// RUN: not %ejit dump %ejit_src/examples/traces/softmax.mlir --device=tpu 2>&1 | FileCheck %s --check-prefix=DEVICE
// RUN: rm -rf %t && %ejit run %ejit_src/examples/traces/softmax.mlir --mode=interp --repeat=0 --outputs %t > /dev/null
// RUN: not %ejit run %ejit_src/examples/traces/layer_norm.mlir --inputs %t/out0.npy 2>&1 | FileCheck %s --check-prefix=COUNT
// RUN: not %ejit run %ejit_src/examples/traces/mlp.mlir --inputs %t/out0.npy,%t/out0.npy,%t/out0.npy,%t/out0.npy,%t/out0.npy 2>&1 \
// RUN:   | FileCheck %s --check-prefix=SHAPE
// RUN: not %ejit run %ejit_src/examples/traces/softmax.mlir --inputs %s 2>&1 | FileCheck %s --check-prefix=NPY
// RUN: not %ejit frobnicate 2>&1 | FileCheck %s --check-prefix=COMMAND
// RUN: not %ejit cache stats extra 2>&1 | FileCheck %s --check-prefix=CACHE
// RUN: %ejit --help | FileCheck %s --check-prefix=HELP
// RUN: %ejit dump --help | FileCheck %s --check-prefix=HELP-DUMP
// RUN: %ejit help run | FileCheck %s --check-prefix=RUNHELP

// STAGE: ejit: error: unknown stage 'bogus' (expected one of ejit, linalg, fused, loops, llvm-dialect, llvm, asm, ptx, gpu, all)
// MISSING: ejit: error: [load_trace] cannot open '{{.*}}does-not-exist.mlir'
// DEVICE: ejit: error: unknown device 'tpu' (expected cpu or cuda)
// CUDA: ejit: error: --device=cuda: no CUDA device: {{.+}}
// MODE: ejit: error: unknown mode 'fast' (expected interp, compiled or compare)
// OPTION: ejit: error: unknown option '--fast' for 'ejit run'
// COUNT: ejit: error: [run] the trace takes 3 inputs, --inputs gives 1
// SHAPE: ejit: error: [run] input 0 ('{{.*}}out0.npy') is (256,1024) f32, the trace takes (32,64) f32
// NPY: ejit: error: [npy] '{{.*}}tool-errors.mlir': not a .npy file
// COMMAND: ejit: error: unknown command 'frobnicate' (see ejit --help)
// CACHE: ejit: error: ejit cache stats: unexpected argument 'extra'
// HELP: usage: ejit <command> [options]
// HELP: dump FILE.mlir --stage=S
// HELP: run FILE.mlir --mode=M
// HELP-DUMP: usage: ejit dump FILE.mlir [--stage=S]
// RUNHELP: usage: ejit run FILE.mlir [--mode=interp|compiled|compare]
// RUNHELP: --rtol X --atol Y

// The malformed trace the first RUN lines read (the operand type differs from %a's).
// MALFORMED: ejit: error: [load_trace] not valid ejit IR: {{.*}}tool-errors.mlir:[[@LINE+2]]:17: use of value '%a' expects different type than prior uses
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0 = ejit.exp %a : tensor<3xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
// OPT-LEVEL: ejit: error: {{.*}}[options] EJIT_OPT_LEVEL=O3 is not 0, 1, 2 or 3
