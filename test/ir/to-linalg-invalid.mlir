// RUN: ejit-opt %s --convert-ejit-to-linalg --verify-diagnostics
// An op without a lowering makes the conversion fail and names the op.

func.func @argmax(%arg0: tensor<4x3xf32>) -> tensor<4xi64> {
  // expected-error @+1 {{failed to legalize operation 'ejit.argmax'}}
  %0 = ejit.argmax %arg0 {axes = array<i64: 1>, keepdims = false} : tensor<4x3xf32> -> tensor<4xi64>
  return %0 : tensor<4xi64>
}
