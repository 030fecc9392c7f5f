// ejit-opt knows the upstream dialects and passes the lowering pipelines use, with
// their interface models (one-shot bufferization of ejit's future lowering targets).
// RUN: ejit-opt %s | ejit-opt | FileCheck %s
// RUN: ejit-opt %s -one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s --check-prefix=BUF
// RUN: ejit-opt --help | FileCheck %s --check-prefix=HELP

// HELP-DAG: --ejit-explicit-broadcast
// HELP-DAG: --one-shot-bufferize
// HELP-DAG: --linalg-fuse-elementwise-ops
// HELP-DAG: --convert-linalg-to-loops

// CHECK-LABEL: func.func @upstream
// CHECK: arith.constant
// CHECK: tensor.empty
// CHECK: linalg.fill
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: scf.for
// CHECK: affine.apply
// CHECK: vector.broadcast
// CHECK: memref.alloc
// CHECK: llvm.mlir.constant
// BUF-LABEL: func.func @upstream
// BUF: memref.alloc
// BUF: linalg.fill
// BUF-SAME: outs(%{{.*}} : memref<4xf32>)
#map = affine_map<(d0) -> (d0)>
func.func @upstream(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c0 = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%c0 : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %g = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %y = math.exp %in : f32
    linalg.yield %y : f32
  }  -> tensor<4xf32>
  %lb = arith.constant 0 : index
  %ub = arith.constant 4 : index
  %st = arith.constant 1 : index
  scf.for %i = %lb to %ub step %st {
    %j = affine.apply affine_map<(d0) -> (d0 * 2)>(%i)
  }
  %v = vector.broadcast %c0 : f32 to vector<8xf32>
  %m = memref.alloc() : memref<4xf32>
  memref.dealloc %m : memref<4xf32>
  %k = llvm.mlir.constant(1 : i32) : i32
  return %g : tensor<4xf32>
}
