// Outlined sin (lib/pipeline/OutlineMath.h, lib/backend/cpu/math_calls.h) at every LLVM
// optimization level: the vector loop runs sin on vectors at levels 2 (the default) and 3
// (the outlined forms are inlined only after the vectorizer; at 3 they survive -O3's global
// DCE until then), and arguments above 2^40 still reach libm's sinf.
// RUN: env EJIT_CACHE_DIR=off EJIT_OPT_LEVEL=2 %ejit dump %s --stage=llvm | FileCheck %s --check-prefix=VECTOR
// RUN: env EJIT_CACHE_DIR=off EJIT_OPT_LEVEL=3 %ejit dump %s --stage=llvm | FileCheck %s --check-prefix=VECTOR
// RUN: env EJIT_CACHE_DIR=off EJIT_OPT_LEVEL=1 %ejit dump %s --stage=llvm | FileCheck %s --check-prefix=SCALAR
// RUN: env EJIT_CACHE_DIR=off EJIT_OPT_LEVEL=0 %ejit dump %s --stage=llvm | FileCheck %s --check-prefix=SCALAR

// VECTOR: fcmp ogt <{{[0-9]+}} x float> %{{.*}}, <float 0x4270000000000000
// VECTOR: call float @sinf(
// VECTOR-NOT: call <{{[0-9]+}} x float> @kernel_sin_f32
// SCALAR: fcmp ogt float %{{.*}}, 0x4270000000000000
// SCALAR: call float @sinf(
// SCALAR-NOT: define internal {{.*}} @kernel_sin_f32

func.func @s(%a: tensor<100000xf32>) -> (tensor<100000xf32>) {
  %k = ejit.constant dense<8.0> : tensor<f32>
  %0 = ejit.mul %a, %k : tensor<100000xf32>, tensor<f32> -> tensor<100000xf32>
  %1 = ejit.sin %0 : tensor<100000xf32> -> tensor<100000xf32>
  return %1 : tensor<100000xf32>
}
