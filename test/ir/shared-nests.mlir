// RUN: ejit-opt %s --ejit-cpu-pipeline=stop-after=loops | FileCheck %s
// RUN: ejit-opt %s --ejit-cpu-pipeline=stop-after=llvm-dialect | FileCheck %s --check-prefix=LLVM
// Shared nests (lib/pipeline/SharedNests.h): a kernel that runs whole (its nests have no
// common row count) and repeats one elementwise body on buffers of other shapes (an
// optimizer's update, p - g * lr, of three parameters) calls one function per body. 2-D
// nests run as one 1-D loop over their buffers collapsed to 1-D; a body that appears once
// (here p2's update fused with g2 * g2) stays in the kernel.

// A kernel of a few hundred iterations is small (CpuPipeline.h: a first tier keeps its loops
// scalar), and so are its shared nests.
// CHECK-LABEL: func.func @kernel(
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[P0:.*]] = memref.collapse_shape %arg2 {{\[\[}}0, 1]] : memref<4x8xf32> into memref<32xf32>
// CHECK: %[[P0D:.*]] = memref.cast %[[P0]] : memref<32xf32> to memref<?xf32>
// CHECK: call @kernel_nest0(%[[C32]], %[[P0D]], %{{.*}}, %arg8, %{{.*}}) : (index, memref<?xf32>, memref<?xf32>, memref<f32>, memref<?xf32>) -> ()
// CHECK: %[[P1D:.*]] = memref.cast %arg4 : memref<8xf32> to memref<?xf32>
// CHECK: call @kernel_nest0(%{{.*}}, %[[P1D]], %{{.*}}, %arg8, %{{.*}})
// CHECK-NOT: call
// CHECK: %[[C15:.*]] = arith.constant 15 : index
// CHECK: scf.parallel (%[[I:.*]]) = (%{{.*}}) to (%[[C15]])
// CHECK: memref.load %{{.*}}[%[[I]]] : memref<15xf32>
// CHECK: arith.mulf %[[G:.*]], %[[G]] : f32
// CHECK: return
// CHECK: func.func private @kernel_nest0(%[[N:.*]]: index, %[[P:.*]]: memref<?xf32>, %[[GR:.*]]: memref<?xf32>, %[[LR:.*]]: memref<f32>, %[[OUT:.*]]: memref<?xf32>) attributes {ejit.shared_nest, passthrough = ["ejit-small-kernel"]}
// CHECK: scf.parallel (%[[J:.*]]) = (%{{.*}}) to (%[[N]])
// CHECK-DAG: memref.load %[[P]][%[[J]]]
// CHECK-DAG: memref.load %[[GR]][%[[J]]]
// CHECK-DAG: memref.load %[[LR]][]
// CHECK: memref.store %{{.*}}, %[[OUT]][%[[J]]]
// CHECK-NOT: func.func

// LLVM: llvm.call @kernel_nest0(
// LLVM: llvm.call @kernel_nest0(
// LLVM: llvm.func internal @kernel_nest0(%{{.*}}: i64, %{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: i64
// LLVM-SAME: passthrough = ["ejit-small-kernel"]
// LLVM-NOT: ejit.shared_nest
module {
  func.func private @trace(%p0: tensor<4x8xf32>, %g0: tensor<4x8xf32>, %p1: tensor<8xf32>, %g1: tensor<8xf32>, %p2: tensor<3x5xf32>, %g2: tensor<3x5xf32>, %lr: tensor<f32>) -> (tensor<4x8xf32>, tensor<8xf32>, tensor<3x5xf32>, tensor<3x5xf32>) {
    %0 = ejit.mul %g0, %lr : tensor<4x8xf32>, tensor<f32> -> tensor<4x8xf32>
    %1 = ejit.sub %p0, %0 : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
    %2 = ejit.mul %g1, %lr : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
    %3 = ejit.sub %p1, %2 : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
    %4 = ejit.mul %g2, %lr : tensor<3x5xf32>, tensor<f32> -> tensor<3x5xf32>
    %5 = ejit.sub %p2, %4 : tensor<3x5xf32>, tensor<3x5xf32> -> tensor<3x5xf32>
    %6 = ejit.mul %g2, %g2 : tensor<3x5xf32>, tensor<3x5xf32> -> tensor<3x5xf32>
    return %1, %3, %5, %6 : tensor<4x8xf32>, tensor<8xf32>, tensor<3x5xf32>, tensor<3x5xf32>
  }
  func.func @kernel(%a0: memref<4x8xf32>, %a1: memref<4x8xf32>, %a2: memref<8xf32>, %a3: memref<8xf32>, %a4: memref<3x5xf32>, %a5: memref<3x5xf32>, %a6: memref<f32>, %o0: memref<4x8xf32>, %o1: memref<8xf32>, %o2: memref<3x5xf32>, %o3: memref<3x5xf32>) {
    %0 = bufferization.to_tensor %a0 restrict : memref<4x8xf32>
    %1 = bufferization.to_tensor %a1 restrict : memref<4x8xf32>
    %2 = bufferization.to_tensor %a2 restrict : memref<8xf32>
    %3 = bufferization.to_tensor %a3 restrict : memref<8xf32>
    %4 = bufferization.to_tensor %a4 restrict : memref<3x5xf32>
    %5 = bufferization.to_tensor %a5 restrict : memref<3x5xf32>
    %6 = bufferization.to_tensor %a6 restrict : memref<f32>
    %r:4 = call @trace(%0, %1, %2, %3, %4, %5, %6) : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<3x5xf32>, tensor<3x5xf32>, tensor<f32>) -> (tensor<4x8xf32>, tensor<8xf32>, tensor<3x5xf32>, tensor<3x5xf32>)
    bufferization.materialize_in_destination %r#0 in restrict writable %o0 : (tensor<4x8xf32>, memref<4x8xf32>) -> ()
    bufferization.materialize_in_destination %r#1 in restrict writable %o1 : (tensor<8xf32>, memref<8xf32>) -> ()
    bufferization.materialize_in_destination %r#2 in restrict writable %o2 : (tensor<3x5xf32>, memref<3x5xf32>) -> ()
    bufferization.materialize_in_destination %r#3 in restrict writable %o3 : (tensor<3x5xf32>, memref<3x5xf32>) -> ()
    return
  }
}
