// RUN: ejit-opt %s --convert-ejit-to-linalg --verify-diagnostics --split-input-file
// An op without a lowering makes the conversion fail and names the op.

// matmul stays on the BLAS (eagerly) unless asked (EJIT_CODEGEN_MATMUL=1, or the pass option codegen-matmul=1).
func.func @matmul(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{failed to legalize operation 'ejit.matmul'}}
  %0 = ejit.matmul %a, %b : tensor<2x3xf32>, tensor<3x2xf32> -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

// A slice along a dynamic dim does not lower (its size would depend on clamping); along a
// static dim it does (to-linalg.mlir's tests, the runtime tests).
func.func @dynamic_slice(%arg0: tensor<?x4xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{failed to legalize operation 'ejit.slice'}}
  %0 = ejit.slice %arg0 {axis = 0 : i64, start = 0 : i64, step = 2 : i64} : tensor<?x4xf32> -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// Matmul, take and gather run on the BLAS or the interpreter: never with dynamic dims here.
func.func @dynamic_matmul(%arg0: tensor<?x4xf32>, %arg1: tensor<4x3xf32>) -> tensor<?x3xf32> {
  // expected-error @+1 {{'ejit.matmul' op does not take dynamic dims yet}}
  %0 = ejit.matmul %arg0, %arg1 : tensor<?x4xf32>, tensor<4x3xf32> -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

// A dynamic broadcast_to needs to be told where its sizes come from.
func.func @dynamic_broadcast(%arg0: tensor<8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{'ejit.broadcast_to' op does not take dynamic dims yet}}
  %0 = ejit.broadcast_to %arg0 : tensor<8xf32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// A malformed ejit.dim_sizes (an argument the function does not have) fails the lowering.
func.func @bad_dim_sizes(%arg0: tensor<8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{failed to legalize operation 'ejit.broadcast_to'}}
  %0 = ejit.broadcast_to %arg0 {ejit.dim_sizes = array<i64: 3, 0, 1, 0, 1>} : tensor<8xf32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// So does a dim the argument does not have.
func.func @bad_dim(%arg0: tensor<8xf32>, %arg1: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{failed to legalize operation 'ejit.broadcast_to'}}
  %0 = ejit.broadcast_to %arg0 {ejit.dim_sizes = array<i64: 1, 7, 1, 0, 1>} : tensor<8xf32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// And a size divided by 0.
func.func @bad_divisor(%arg0: tensor<8xf32>, %arg1: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{failed to legalize operation 'ejit.broadcast_to'}}
  %0 = ejit.broadcast_to %arg0 {ejit.dim_sizes = array<i64: 1, 0, 1, 0, 0>} : tensor<8xf32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// A slice to a dynamic length needs its ejit.dim_sizes.
func.func @slice_without_length(%arg0: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{failed to legalize operation 'ejit.slice'}}
  %0 = ejit.slice %arg0 {axis = 0 : i64, start = 1 : i64, step = 1 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}
