// RUN: env EJIT_STREAMING_MB=32 ejit-opt %s --ejit-cpu-pipeline=stop-after=loops --split-input-file | FileCheck %s
// Streaming stores with dynamic sizes (lib/pipeline/StreamingStores.h): the kernels as the
// JIT writes them (a trace called by @kernel, which writes into its output buffers). A
// memory-bound loop runs in two versions picked per call by the sizes: streamed when the
// buffers hold 32 MiB or more (EJIT_STREAMING_MB) and the outputs it writes 8 MiB or more.

// CHECK-LABEL: func.func @kernel(%arg0: index, %arg1: index, %arg2: memref<?xf32>, %arg3: memref<?xf32>, %arg4: memref<?xf32>, %arg5: memref<?xf32>)
// CHECK: memref.assume_alignment %arg5, 64
// CHECK: %[[DIM:.*]] = memref.dim %arg2, %c0
// CHECK: %[[LO:.*]] = arith.andi %{{.*}}, %c-16
// CHECK: %[[UP:.*]] = arith.andi %{{.*}}, %c-16
// CHECK: %[[HI:.*]] = arith.minui %[[UP]], %[[DIM]]
// CHECK: %[[TOTAL:.*]] = arith.cmpi uge, %{{.*}}, %c33554432
// CHECK: %[[OUT:.*]] = arith.cmpi uge, %{{.*}}, %c8388608
// CHECK: %[[BIG:.*]] = arith.andi %[[TOTAL]], %[[OUT]] : i1
// CHECK: scf.if %[[BIG]] {
// CHECK-NEXT: llvm.call_intrinsic "llvm.sideeffect"()
// CHECK-NEXT: scf.parallel (%{{.*}}) = (%[[LO]]) to (%[[HI]])
// CHECK: memref.store %{{.*}}, %arg5
// CHECK: } else {
// CHECK-NOT: llvm.sideeffect
// CHECK: scf.parallel (%{{.*}}) = (%[[LO]]) to (%[[HI]])
// CHECK: memref.store %{{.*}}, %arg5
// CHECK-NOT: llvm.sideeffect
// CHECK: return
module {
  func.func private @trace(%arg0: tensor<?xf32>, %arg1: tensor<?xf32>, %arg2: tensor<?xf32>) -> tensor<?xf32> {
    %0 = ejit.mul %arg0, %arg1 : tensor<?xf32>, tensor<?xf32> -> tensor<?xf32>
    %1 = ejit.add %0, %arg2 : tensor<?xf32>, tensor<?xf32> -> tensor<?xf32>
    return %1 : tensor<?xf32>
  }
  func.func @kernel(%arg0: memref<?xf32>, %arg1: memref<?xf32>, %arg2: memref<?xf32>, %arg3: memref<?xf32>) {
    %0 = bufferization.to_tensor %arg0 restrict : memref<?xf32>
    %1 = bufferization.to_tensor %arg1 restrict : memref<?xf32>
    %2 = bufferization.to_tensor %arg2 restrict : memref<?xf32>
    %3 = call @trace(%0, %1, %2) : (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
    bufferization.materialize_in_destination %3 in restrict writable %arg3 : (tensor<?xf32>, memref<?xf32>) -> ()
    return
  }
}

// -----

// exp(a*b) computes more than it moves: one version, ordinary stores, bounds as they are.
// CHECK-LABEL: func.func @kernel(
// CHECK-NOT: assume_alignment
// CHECK-NOT: scf.if
// CHECK-NOT: llvm.sideeffect
// CHECK: scf.parallel (%{{.*}}) = (%arg0) to (%arg1)
// CHECK: math.exp
// CHECK: return
module {
  func.func private @trace(%arg0: tensor<?xf32>, %arg1: tensor<?xf32>) -> tensor<?xf32> {
    %0 = ejit.mul %arg0, %arg1 : tensor<?xf32>, tensor<?xf32> -> tensor<?xf32>
    %1 = ejit.exp %0 : tensor<?xf32> -> tensor<?xf32>
    return %1 : tensor<?xf32>
  }
  func.func @kernel(%arg0: memref<?xf32>, %arg1: memref<?xf32>, %arg2: memref<?xf32>) {
    %0 = bufferization.to_tensor %arg0 restrict : memref<?xf32>
    %1 = bufferization.to_tensor %arg1 restrict : memref<?xf32>
    %2 = call @trace(%0, %1) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
    bufferization.materialize_in_destination %2 in restrict writable %arg2 : (tensor<?xf32>, memref<?xf32>) -> ()
    return
  }
}
