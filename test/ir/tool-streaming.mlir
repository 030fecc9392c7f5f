// Streaming stores (lib/pipeline/StreamingStores.h): a CPU kernel whose buffers hold
// EJIT_STREAMING_MB or more (by default twice the last-level cache; set to 32 here), and whose loop moves more memory than it computes, writes
// its outputs with non-temporal stores and ends with a store fence. This trace, a*b + c on
// 2^21 floats, is exactly 32 MiB.
// DEFINE: %{stream32} = env EJIT_STREAMING_MB=32 %ejit
// RUN: %{stream32} dump %s --stage=loops | FileCheck %s --check-prefix=LOOPS
// RUN: %{stream32} dump %s --stage=asm | FileCheck %s --check-prefix=ASM
// Half the size: nothing is marked and every store is an ordinary one.
// RUN: sed -e 's/2097152/1048576/g' %s > %t.small.mlir
// RUN: %{stream32} dump %t.small.mlir --stage=loops | FileCheck %s --check-prefix=UNMARKED
// RUN: %{stream32} dump %t.small.mlir --stage=asm | FileCheck %s --check-prefixes=ORDINARY,NOPREFETCH
// EJIT_STREAMING_MB sets the threshold (16 MiB: the small one streams), 0 turns it off, and
// anything but a number of MiB is an error.
// RUN: env EJIT_STREAMING_MB=16 %ejit dump %t.small.mlir --stage=asm | FileCheck %s --check-prefix=ASM
// RUN: env EJIT_STREAMING_MB=0 %ejit dump %s --stage=asm | FileCheck %s --check-prefix=ORDINARY
// RUN: not env EJIT_STREAMING_MB=32MB %ejit dump %s --stage=asm 2>&1 | FileCheck %s --check-prefix=BADMB
// RUN: not env EJIT_STREAMING_MB=-1 %ejit dump %s --stage=asm 2>&1 | FileCheck %s --check-prefix=NEGMB
// BADMB: EJIT_STREAMING_MB=32MB is not a number of MiB
// NEGMB: EJIT_STREAMING_MB=-1 is not a number of MiB from 0 to 2^30
// An extent that is not a multiple of 16 streams too (the last call ends at the extent).
// RUN: sed -e 's/2097152/2097160/g' %s > %t.odd.mlir
// RUN: %{stream32} dump %t.odd.mlir --stage=asm | FileCheck %s --check-prefix=ASM
// Two dims: rows of 1024 start aligned, so no rounding of [lo, hi) is needed.
// RUN: sed -e 's/2097152/2048x1024/g' %s > %t.rows.mlir
// RUN: %{stream32} dump %t.rows.mlir --stage=loops | FileCheck %s --check-prefix=ROWS
// RUN: %{stream32} dump %t.rows.mlir --stage=asm | FileCheck %s --check-prefix=ASM
// exp(a*b) computes more than it moves (11 ops per 12 bytes): streaming was measured no
// faster there, and slower for more work per byte (the W1 chain). It is marked to prefetch
// instead: its loop reads 2 KiB ahead (faster for the W1 chain). An 8-op polynomial
// (a*b + c, times a, minus b, times c, plus a, squared) moves more than it computes.
// RUN: sed -e 's/ejit.add %0, %c :.*$/ejit.exp %0 : tensor<2097152xf32> -> tensor<2097152xf32>/' %s > %t.exp.mlir
// RUN: %{stream32} dump %t.exp.mlir --stage=loops | FileCheck %s --check-prefix=COMPUTES
// RUN: %{stream32} dump %t.exp.mlir --stage=asm | FileCheck %s --check-prefixes=ORDINARY,PREFETCH
// RUN: %{stream32} dump %t.exp.mlir --stage=llvm | FileCheck %s --check-prefix=PREFETCH-IR
// Half its size: no prefetch.
// RUN: sed -e 's/2097152/1048576/g' %t.exp.mlir > %t.exp-small.mlir
// RUN: %{stream32} dump %t.exp-small.mlir --stage=asm | FileCheck %s --check-prefixes=ORDINARY,NOPREFETCH
// RUN: sed -e 's/^  return %1 /  %2 = ejit.mul %1, %a : tensor<2097152xf32>, tensor<2097152xf32> -> tensor<2097152xf32>\n  %3 = ejit.sub %2, %b : tensor<2097152xf32>, tensor<2097152xf32> -> tensor<2097152xf32>\n  %4 = ejit.mul %3, %c : tensor<2097152xf32>, tensor<2097152xf32> -> tensor<2097152xf32>\n  %5 = ejit.add %4, %a : tensor<2097152xf32>, tensor<2097152xf32> -> tensor<2097152xf32>\n  %6 = ejit.mul %5, %5 : tensor<2097152xf32>, tensor<2097152xf32> -> tensor<2097152xf32>\n  return %6 /' %s > %t.poly.mlir
// RUN: %{stream32} dump %t.poly.mlir --stage=asm | FileCheck %s --check-prefix=ASM
// pow(a, b) + c passes the MLIR half's estimate (11 ops per 16 bytes) and is marked, but its
// vector loop calls a math function (pow is not expanded inline): the LLVM half keeps
// ordinary stores.
// RUN: sed -e 's/ejit.mul %a, %b/ejit.pow %a, %b/' %s > %t.heavy.mlir
// RUN: %{stream32} dump %t.heavy.mlir --stage=loops | FileCheck %s --check-prefix=LOOPS
// RUN: %{stream32} dump %t.heavy.mlir --stage=asm | FileCheck %s --check-prefix=ORDINARY
// Softmax over 4096 rows (32 MiB) stores exp(x - max) and scales it in place: an output
// the kernel reads back stays in cache (its loops that compute prefetch). Layer norm's
// output is written once: it streams.
// RUN: sed -e 's/256/4096/g' %ejit_src/examples/traces/softmax.mlir > %t.softmax.mlir
// RUN: %{stream32} dump %t.softmax.mlir --stage=loops | FileCheck %s --check-prefix=COMPUTES
// RUN: sed -e 's/256/4096/g' %ejit_src/examples/traces/layer_norm.mlir > %t.layer_norm.mlir
// RUN: %{stream32} dump %t.layer_norm.mlir --stage=loops | FileCheck %s --check-prefix=ROWS

// The output (and only the output) is promised 64-byte aligned, and each call's first row
// is rounded up to a multiple of 16, its end too (at most the extent).
// LOOPS: func.func @kernel(%arg0: index, %arg1: index, %arg2: memref<2097152xf32>, %arg3: memref<2097152xf32>, %arg4: memref<2097152xf32>, %arg5: memref<2097152xf32>) attributes {passthrough = ["ejit-prefetch", "ejit-streaming-stores"]}
// LOOPS-DAG: %[[ADD:.*]] = arith.addi %arg0, %c15
// LOOPS-DAG: %[[LO:.*]] = arith.andi %[[ADD]], %c-16
// LOOPS-DAG: %[[ADD1:.*]] = arith.addi %arg1, %c15
// LOOPS-DAG: %[[UP:.*]] = arith.andi %[[ADD1]], %c-16
// LOOPS-DAG: %[[HI:.*]] = arith.minui %[[UP]], %c2097152
// LOOPS-DAG: memref.assume_alignment %arg5, 64
// LOOPS-NOT: memref.assume_alignment
// LOOPS: scf.parallel (%{{.*}}) = (%[[LO]]) to (%[[HI]])

// ASM: kernel:
// ASM-NOT: prefetch
// ASM: {{v?}}movntps
// ASM: sfence
// ASM: retq

// COMPUTES: func.func @kernel({{.*}}) attributes {passthrough = ["ejit-prefetch"]}
// COMPUTES-NOT: assume_alignment
// COMPUTES-NOT: minui

// PREFETCH: kernel:
// PREFETCH: prefetcht0
// PREFETCH-IR: %[[AHEAD:.*]] = getelementptr i8, ptr %{{.*}}, i64 2048
// PREFETCH-IR-NEXT: call void @llvm.prefetch.p0(ptr %[[AHEAD]], i32 0, i32 3, i32 1)
// PREFETCH-IR-NEXT: load <{{[0-9]+}} x float>
// NOPREFETCH-NOT: prefetch

// UNMARKED-NOT: passthrough
// UNMARKED-NOT: assume_alignment
// UNMARKED-NOT: minui

// ORDINARY-NOT: movnt
// ORDINARY-NOT: sfence

// ROWS: func.func @kernel({{.*}}) attributes {passthrough = ["ejit-prefetch", "ejit-streaming-stores"]}
// ROWS-NOT: minui
// ROWS: memref.assume_alignment %arg5, 64 : memref<{{2048|4096}}x1024xf32>
// ROWS-NOT: minui

func.func @triad(%a: tensor<2097152xf32>, %b: tensor<2097152xf32>, %c: tensor<2097152xf32>) -> (tensor<2097152xf32>) {
  %0 = ejit.mul %a, %b : tensor<2097152xf32>, tensor<2097152xf32> -> tensor<2097152xf32>
  %1 = ejit.add %0, %c : tensor<2097152xf32>, tensor<2097152xf32> -> tensor<2097152xf32>
  return %1 : tensor<2097152xf32>
}
