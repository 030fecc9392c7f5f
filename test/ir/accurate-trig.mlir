// f32 sin/cos become an f64 Cody-Waite reduction (three FMAs) and polynomials; f64 ones and
// other ops are left alone.
// RUN: ejit-opt %s --ejit-accurate-trig | FileCheck %s

// CHECK-LABEL: func.func @sin_f32
// CHECK-NOT: math.sin
// CHECK: %[[XD:.*]] = arith.extf %{{.*}} : f32 to f64
// CHECK: %[[SHIFTED:.*]] = arith.addf
// CHECK: math.fma %{{.*}}, %{{.*}}, %[[XD]] : f64
// CHECK: math.fma
// CHECK: math.fma
// CHECK: arith.bitcast %[[SHIFTED]] : f64 to i64
// CHECK: arith.truncf %{{.*}} : f64 to f32
// CHECK-NOT: math.sin
func.func @sin_f32(%x: f32) -> f32 {
  %0 = math.sin %x : f32
  return %0 : f32
}

// CHECK-LABEL: func.func @cos_vector
// CHECK-NOT: math.cos
// CHECK: arith.extf %{{.*}} : vector<8xf32> to vector<8xf64>
// CHECK: arith.truncf %{{.*}} : vector<8xf64> to vector<8xf32>
func.func @cos_vector(%x: vector<8xf32>) -> vector<8xf32> {
  %0 = math.cos %x : vector<8xf32>
  return %0 : vector<8xf32>
}

// CHECK-LABEL: func.func @f64_kept
// CHECK: math.sin %{{.*}} : f64
// CHECK: math.cos %{{.*}} : f64
func.func @f64_kept(%x: f64) -> (f64, f64) {
  %0 = math.sin %x : f64
  %1 = math.cos %x : f64
  return %0, %1 : f64, f64
}
