// Result type inference (InferTypeOpInterface): every op here but cast, reshape,
// broadcast_to, slice and constant infers its result type from its operands and
// attributes. Verifying a valid op also checks that the declared type is the inferred
// one, so each valid function below is a check of inference. A wrong declared type
// still gets the op verifier's message (the verifier runs before the comparison).
// RUN: ejit-opt %s --split-input-file --verify-diagnostics

func.func @elementwise(%a: tensor<4x1x3xf32>, %b: tensor<5x1xf32>, %i: tensor<2xi32>)
    -> (tensor<4x5x3xf32>, tensor<4x5x3xi1>, tensor<4x1x3xi1>, tensor<2xi32>, tensor<2xi1>) {
  %0 = ejit.add %a, %b : tensor<4x1x3xf32>, tensor<5x1xf32> -> tensor<4x5x3xf32>
  %1 = ejit.lt %a, %b : tensor<4x1x3xf32>, tensor<5x1xf32> -> tensor<4x5x3xi1>
  %2 = ejit.isnan %a : tensor<4x1x3xf32> -> tensor<4x1x3xi1>
  %3 = ejit.neg %i : tensor<2xi32> -> tensor<2xi32>
  %4 = ejit.eq %i, %i : tensor<2xi32>, tensor<2xi32> -> tensor<2xi1>
  %5 = ejit.logical_and %4, %4 : tensor<2xi1>, tensor<2xi1> -> tensor<2xi1>
  return %0, %1, %2, %3, %5 : tensor<4x5x3xf32>, tensor<4x5x3xi1>, tensor<4x1x3xi1>, tensor<2xi32>, tensor<2xi1>
}

func.func @where(%c: tensor<2x1x1xi1>, %a: tensor<4x3xf64>, %b: tensor<3xf64>) -> tensor<2x4x3xf64> {
  %0 = ejit.where %c, %a, %b : tensor<2x1x1xi1>, tensor<4x3xf64>, tensor<3xf64> -> tensor<2x4x3xf64>
  return %0 : tensor<2x4x3xf64>
}

func.func @reductions(%x: tensor<2x3x4xi32>, %f: tensor<2x3xf32>)
    -> (tensor<3xi64>, tensor<1x3x1xi64>, tensor<2x1xf32>, tensor<3xf32>, tensor<2xi64>, tensor<1x3xi64>) {
  %0 = ejit.sum %x {axes = array<i64: 0, 2>, keepdims = false} : tensor<2x3x4xi32> -> tensor<3xi64>
  %1 = ejit.prod %x {axes = array<i64: 0, 2>, keepdims = true} : tensor<2x3x4xi32> -> tensor<1x3x1xi64>
  %2 = ejit.max %f {axes = array<i64: 1>, keepdims = true} : tensor<2x3xf32> -> tensor<2x1xf32>
  %3 = ejit.min %f {axes = array<i64: 0>, keepdims = false} : tensor<2x3xf32> -> tensor<3xf32>
  %4 = ejit.argmax %f {axes = array<i64: 1>, keepdims = false} : tensor<2x3xf32> -> tensor<2xi64>
  %5 = ejit.argmin %f {axes = array<i64: 0>, keepdims = true} : tensor<2x3xf32> -> tensor<1x3xi64>
  return %0, %1, %2, %3, %4, %5 : tensor<3xi64>, tensor<1x3x1xi64>, tensor<2x1xf32>, tensor<3xf32>, tensor<2xi64>, tensor<1x3xi64>
}

func.func @structural(%a: tensor<5x1x3x4xf32>, %b: tensor<2x4x6xf32>, %c: tensor<2x3xf32>,
                      %d: tensor<2x1xf32>, %i: tensor<2x2xi64>, %j: tensor<1x5xi32>)
    -> (tensor<5x2x3x6xf32>, tensor<4x5x3x1xf32>, tensor<2x4xf32>, tensor<3x5xf32>,
        tensor<2x2x2xf32>, tensor<2x5xf32>) {
  %0 = ejit.matmul %a, %b : tensor<5x1x3x4xf32>, tensor<2x4x6xf32> -> tensor<5x2x3x6xf32>
  %1 = ejit.permute %a {perm = array<i64: 3, 0, 2, 1>} : tensor<5x1x3x4xf32> -> tensor<4x5x3x1xf32>
  %2 = ejit.concat %c, %d {axis = 1 : i64} : tensor<2x3xf32>, tensor<2x1xf32> -> tensor<2x4xf32>
  %3 = ejit.pad %c {low = array<i64: 1, 0>, high = array<i64: 0, 2>, value = 0.0 : f64} : tensor<2x3xf32> -> tensor<3x5xf32>
  %4 = ejit.take %c, %i {axis = 1 : i64} : tensor<2x3xf32>, tensor<2x2xi64> -> tensor<2x2x2xf32>
  %5 = ejit.gather %d, %j {axis = 1 : i64} : tensor<2x1xf32>, tensor<1x5xi32> -> tensor<2x5xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<5x2x3x6xf32>, tensor<4x5x3x1xf32>, tensor<2x4xf32>, tensor<3x5xf32>, tensor<2x2x2xf32>, tensor<2x5xf32>
}

// -----

// Wrong declared types: the verifier's messages, not "inferred type(s) ... are
// incompatible with return type(s)".

func.func @compare_shape(%a: tensor<4x1xf32>, %b: tensor<3xf32>) -> tensor<4x1xi1> {
  // expected-error @+1 {{'ejit.ge' op result shape (4,1) is not the broadcast (4,3) of operand shapes (4,1) and (3,)}}
  %0 = ejit.ge %a, %b : tensor<4x1xf32>, tensor<3xf32> -> tensor<4x1xi1>
  return %0 : tensor<4x1xi1>
}

// -----

func.func @where_element_type(%c: tensor<3xi1>, %a: tensor<3xi64>, %b: tensor<3xi64>) -> tensor<3xi32> {
  // expected-error @+1 {{'ejit.where' op result element type 'i32' differs from operand element type 'i64'}}
  %0 = ejit.where %c, %a, %b : tensor<3xi1>, tensor<3xi64>, tensor<3xi64> -> tensor<3xi32>
  return %0 : tensor<3xi32>
}

// -----

func.func @argmax_keepdims(%x: tensor<2x3xf32>) -> tensor<2xi64> {
  // expected-error @+1 {{'ejit.argmax' op result shape (2,) should be (2,1)}}
  %0 = ejit.argmax %x {axes = array<i64: 1>, keepdims = true} : tensor<2x3xf32> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

func.func @prod_float_type(%x: tensor<2x3xf64>) -> tensor<2xi64> {
  // expected-error @+1 {{'ejit.prod' op result element type 'i64' should be 'f64'}}
  %0 = ejit.prod %x {axes = array<i64: 1>, keepdims = false} : tensor<2x3xf64> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

func.func @matmul_type(%a: tensor<2x3xi32>, %b: tensor<3x4xi32>) -> tensor<2x4xi64> {
  // expected-error @+1 {{'ejit.matmul' op result element type 'i64' differs from operand element type 'i32'}}
  %0 = ejit.matmul %a, %b : tensor<2x3xi32>, tensor<3x4xi32> -> tensor<2x4xi64>
  return %0 : tensor<2x4xi64>
}

// -----

func.func @permute_type(%x: tensor<2x3xf32>) -> tensor<3x2xf64> {
  // expected-error @+1 {{'ejit.permute' op result element type 'f64' differs from operand element type 'f32'}}
  %0 = ejit.permute %x {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf64>
  return %0 : tensor<3x2xf64>
}

// -----

func.func @take_type(%x: tensor<5x3xf32>, %i: tensor<2xi32>) -> tensor<2x3xi32> {
  // expected-error @+1 {{'ejit.take' op result element type 'i32' differs from operand element type 'f32'}}
  %0 = ejit.take %x, %i {axis = 0 : i64} : tensor<5x3xf32>, tensor<2xi32> -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

func.func @gather_shape(%x: tensor<1x3xf32>, %i: tensor<4x2xi64>) -> tensor<1x2xf32> {
  // expected-error @+1 {{'ejit.gather' op result shape (1,2) should be (4,2)}}
  %0 = ejit.gather %x, %i {axis = 1 : i64} : tensor<1x3xf32>, tensor<4x2xi64> -> tensor<1x2xf32>
  return %0 : tensor<1x2xf32>
}
