// RUN: ejit-opt %s --ejit-cpu-pipeline=stop-after=llvm-dialect --split-input-file | FileCheck %s
// Outlined transcendentals (lib/pipeline/OutlineMath.h): an op that a kernel applies three
// times or more (tanh) calls one function, made on f32 and on vector<4xf32> and
// vector<8xf32>; the scalar one names the vector ones for LLVM's loop vectorizer. Ops
// applied fewer times (exp twice, log once) stay inline.

// CHECK-LABEL: llvm.func @f(
// CHECK-NOT: @f_exp
// CHECK: llvm.call @f_tanh_f32(%{{.*}}) : (f32) -> f32
// CHECK-NOT: @f_exp
// CHECK: llvm.call @f_tanh_f32(%{{.*}}) : (f32) -> f32
// CHECK-NOT: @f_log
// CHECK: llvm.call @f_tanh_f32(%{{.*}}) : (f32) -> f32
// CHECK: llvm.func internal @f_tanh_f32_v4(%{{.*}}: vector<4xf32>) -> vector<4xf32> attributes {memory = #llvm.memory_effects<other = none, argMem = none, inaccessibleMem = none>, no_unwind, passthrough = {{\[\[}}"ejit-math", "vector"]]
// CHECK-NOT: vector.
// CHECK: llvm.intr.fma(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<4xf32>, vector<4xf32>, vector<4xf32>) -> vector<4xf32>
// CHECK: llvm.func internal @f_tanh_f32_v8(%{{.*}}: vector<8xf32>) -> vector<8xf32>
// CHECK: llvm.intr.fma(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<8xf32>, vector<8xf32>, vector<8xf32>) -> vector<8xf32>
// CHECK: llvm.func internal @f_tanh_f32(%{{.*}}: f32) -> f32 attributes {memory = #llvm.memory_effects<other = none, argMem = none, inaccessibleMem = none>, no_unwind, passthrough = {{\[\[}}"ejit-math", "scalar"], ["vector-function-abi-variant", "_ZGV_LLVM_N4v_f_tanh_f32(f_tanh_f32_v4),_ZGV_LLVM_N8v_f_tanh_f32(f_tanh_f32_v8)"]]
// CHECK-NOT: llvm.func internal
func.func @f(%arg0: tensor<100xf32>) -> tensor<100xf32> {
  %0 = ejit.tanh %arg0 : tensor<100xf32> -> tensor<100xf32>
  %1 = ejit.exp %0 : tensor<100xf32> -> tensor<100xf32>
  %2 = ejit.tanh %1 : tensor<100xf32> -> tensor<100xf32>
  %3 = ejit.log %2 : tensor<100xf32> -> tensor<100xf32>
  %4 = ejit.exp %3 : tensor<100xf32> -> tensor<100xf32>
  %5 = ejit.tanh %4 : tensor<100xf32> -> tensor<100xf32>
  return %5 : tensor<100xf32>
}

// -----

// f64 math is not expanded (libm calls, which the vectorizer leaves scalar): not outlined.
// CHECK-LABEL: llvm.func @g(
// CHECK-NOT: llvm.func internal
func.func @g(%arg0: tensor<100xf64>) -> tensor<100xf64> {
  %0 = ejit.tanh %arg0 : tensor<100xf64> -> tensor<100xf64>
  %1 = ejit.tanh %0 : tensor<100xf64> -> tensor<100xf64>
  %2 = ejit.tanh %1 : tensor<100xf64> -> tensor<100xf64>
  return %2 : tensor<100xf64>
}

// -----

// sin and cos are outlined even when used once: their functions carry libm's name, which
// computes them for |x| > 2^40 (backend/cpu/math_calls.h adds that branch in LLVM IR).
// CHECK-LABEL: llvm.func @h(
// CHECK: llvm.call @h_sin_f32(%{{.*}}) : (f32) -> f32
// CHECK: llvm.func internal @h_sin_f32_v4(
// CHECK-SAME: passthrough = {{\[\[}}"ejit-math-libm", "sinf"], ["ejit-math", "vector"]]
// CHECK: llvm.func internal @h_sin_f32(
// CHECK-SAME: passthrough = {{\[\[}}"ejit-math-libm", "sinf"], ["ejit-math", "scalar"], ["vector-function-abi-variant"
func.func @h(%arg0: tensor<100xf32>) -> tensor<100xf32> {
  %0 = ejit.sin %arg0 : tensor<100xf32> -> tensor<100xf32>
  return %0 : tensor<100xf32>
}
