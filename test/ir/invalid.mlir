// Verifier errors: one case per rule, each with the message it gives.
// RUN: ejit-opt %s --split-input-file --verify-diagnostics

//===--- elementwise unary ---===//

func.func @unary_shape(%x: tensor<4xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'ejit.exp' op result shape (3,) differs from operand shape (4,)}}
  %0 = ejit.exp %x : tensor<4xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @unary_element_type(%x: tensor<4xf32>) -> tensor<4xf64> {
  // expected-error @+1 {{'ejit.neg' op result element type 'f64' differs from operand element type 'f32'}}
  %0 = ejit.neg %x : tensor<4xf32> -> tensor<4xf64>
  return %0 : tensor<4xf64>
}

// -----

func.func @float_kind_needs_float(%x: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @+1 {{'ejit.exp' op operand #0 must be ranked tensor of 32-bit float or 64-bit float values, but got 'tensor<4xi32>'}}
  %0 = ejit.exp %x : tensor<4xi32> -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

func.func @numeric_kind_rejects_bool(%x: tensor<4xi1>) -> tensor<4xi1> {
  // expected-error @+1 {{'ejit.neg' op operand #0 must be ranked tensor of 32-bit signless integer or 64-bit signless integer or 32-bit float or 64-bit float values, but got 'tensor<4xi1>'}}
  %0 = ejit.neg %x : tensor<4xi1> -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

func.func @predicate_kind_gives_bool(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'ejit.isnan' op result #0 must be ranked tensor of 1-bit signless integer values, but got 'tensor<4xf32>'}}
  %0 = ejit.isnan %x : tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @unsupported_element_type(%x: tensor<4xi8>) -> tensor<4xi1> {
  // expected-error @+1 {{'ejit.isnan' op operand #0 must be ranked tensor of 1-bit signless integer or 32-bit signless integer or 64-bit signless integer or 32-bit float or 64-bit float values, but got 'tensor<4xi8>'}}
  %0 = ejit.isnan %x : tensor<4xi8> -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

func.func @unranked(%x: tensor<*xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{invalid kind of type specified}}
  %0 = ejit.exp %x : tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

//===--- elementwise binary ---===//

func.func @bad_broadcast(%a: tensor<4x3xf32>, %b: tensor<2x3xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{'ejit.add' op operand shapes (4,3) and (2,3) do not broadcast}}
  %0 = ejit.add %a, %b : tensor<4x3xf32>, tensor<2x3xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @binary_result_shape(%a: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'ejit.mul' op result shape (3,) is not the broadcast (4,3) of operand shapes (4,3) and (3,)}}
  %0 = ejit.mul %a, %b : tensor<4x3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @operand_element_types(%a: tensor<3xf32>, %b: tensor<3xf64>) -> tensor<3xf64> {
  // expected-error @+1 {{'ejit.add' op operand element types 'f32' and 'f64' differ}}
  %0 = ejit.add %a, %b : tensor<3xf32>, tensor<3xf64> -> tensor<3xf64>
  return %0 : tensor<3xf64>
}

// -----

func.func @binary_result_element_type(%a: tensor<3xi32>, %b: tensor<3xi32>) -> tensor<3xi64> {
  // expected-error @+1 {{'ejit.maximum' op result element type 'i64' differs from operand element type 'i32'}}
  %0 = ejit.maximum %a, %b : tensor<3xi32>, tensor<3xi32> -> tensor<3xi64>
  return %0 : tensor<3xi64>
}

// -----

func.func @arith_no_bool(%a: tensor<3xi1>, %b: tensor<3xi1>) -> tensor<3xi1> {
  // expected-error @+1 {{'ejit.sub' op operand #0 must be ranked tensor of 32-bit signless integer or 64-bit signless integer or 32-bit float or 64-bit float values, but got 'tensor<3xi1>'}}
  %0 = ejit.sub %a, %b : tensor<3xi1>, tensor<3xi1> -> tensor<3xi1>
  return %0 : tensor<3xi1>
}

// -----

func.func @div_needs_float(%a: tensor<3xi32>, %b: tensor<3xi32>) -> tensor<3xi32> {
  // expected-error @+1 {{'ejit.div' op operand #0 must be ranked tensor of 32-bit float or 64-bit float values, but got 'tensor<3xi32>'}}
  %0 = ejit.div %a, %b : tensor<3xi32>, tensor<3xi32> -> tensor<3xi32>
  return %0 : tensor<3xi32>
}

// -----

func.func @compare_gives_bool(%a: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'ejit.lt' op result #0 must be ranked tensor of 1-bit signless integer values, but got 'tensor<3xf32>'}}
  %0 = ejit.lt %a, %b : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @logical_needs_bool(%a: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<3xi1> {
  // expected-error @+1 {{'ejit.logical_and' op operand #0 must be ranked tensor of 1-bit signless integer values, but got 'tensor<3xf32>'}}
  %0 = ejit.logical_and %a, %b : tensor<3xf32>, tensor<3xf32> -> tensor<3xi1>
  return %0 : tensor<3xi1>
}

// -----

//===--- cast, where, constant ---===//

func.func @cast_shape(%x: tensor<4xi32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{'ejit.cast' op result shape (2,2) differs from operand shape (4,)}}
  %0 = ejit.cast %x : tensor<4xi32> -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @where_value_types(%c: tensor<3xi1>, %a: tensor<3xf32>, %b: tensor<3xi32>) -> tensor<3xf32> {
  // expected-error @+1 {{'ejit.where' op value element types 'f32' and 'i32' differ}}
  %0 = ejit.where %c, %a, %b : tensor<3xi1>, tensor<3xf32>, tensor<3xi32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @where_broadcast(%c: tensor<4xi1>, %a: tensor<3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ejit.where' op shapes (4,), (3,) and (2,3) do not broadcast}}
  %0 = ejit.where %c, %a, %b : tensor<4xi1>, tensor<3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @where_result_shape(%c: tensor<2x1xi1>, %a: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'ejit.where' op result shape (3,) is not the broadcast (2,3) of shapes (2,1), (3,) and (3,)}}
  %0 = ejit.where %c, %a, %b : tensor<2x1xi1>, tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @where_result_type(%c: tensor<3xi1>, %a: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<3xf64> {
  // expected-error @+1 {{'ejit.where' op result element type 'f64' differs from operand element type 'f32'}}
  %0 = ejit.where %c, %a, %b : tensor<3xi1>, tensor<3xf32>, tensor<3xf32> -> tensor<3xf64>
  return %0 : tensor<3xf64>
}

// -----

func.func @where_condition_bool(%c: tensor<3xf32>, %a: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'ejit.where' op operand #0 must be ranked tensor of 1-bit signless integer values, but got 'tensor<3xf32>'}}
  %0 = ejit.where %c, %a, %b : tensor<3xf32>, tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @constant_type() -> tensor<3xf32> {
  // expected-error @+1 {{'ejit.constant' op failed to verify that all of {value, result} have same type}}
  %0 = "ejit.constant"() <{value = dense<1.0> : tensor<2xf32>}> : () -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @constant_element_type() -> tensor<2xi8> {
  // expected-error @+1 {{'ejit.constant' op result #0 must be ranked tensor of 1-bit signless integer or 32-bit signless integer or 64-bit signless integer or 32-bit float or 64-bit float values, but got 'tensor<2xi8>'}}
  %0 = ejit.constant dense<1> : tensor<2xi8>
  return %0 : tensor<2xi8>
}

// -----

//===--- reductions ---===//

func.func @no_axes(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ejit.sum' op needs at least one axis}}
  %0 = ejit.sum %x {axes = array<i64>, keepdims = false} : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @axis_out_of_range(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'ejit.max' op axis 2 is out of range for shape (2,3)}}
  %0 = ejit.max %x {axes = array<i64: 2>, keepdims = false} : tensor<2x3xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @negative_axis(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'ejit.min' op axis -1 is out of range for shape (2,3)}}
  %0 = ejit.min %x {axes = array<i64: -1>, keepdims = false} : tensor<2x3xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @unsorted_axes(%x: tensor<2x3x4xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'ejit.sum' op axes [2, 0] must be sorted and unique}}
  %0 = ejit.sum %x {axes = array<i64: 2, 0>, keepdims = false} : tensor<2x3x4xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @duplicate_axes(%x: tensor<2x3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'ejit.prod' op axes [0, 0] must be sorted and unique}}
  %0 = ejit.prod %x {axes = array<i64: 0, 0>, keepdims = false} : tensor<2x3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @reduce_result_shape(%x: tensor<2x3x4xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'ejit.sum' op result shape (3,) should be (1,3,1)}}
  %0 = ejit.sum %x {axes = array<i64: 0, 2>, keepdims = true} : tensor<2x3x4xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @integer_sum_is_i64(%x: tensor<2x3xi32>) -> tensor<2xi32> {
  // expected-error @+1 {{'ejit.sum' op result element type 'i32' should be 'i64'}}
  %0 = ejit.sum %x {axes = array<i64: 1>, keepdims = false} : tensor<2x3xi32> -> tensor<2xi32>
  return %0 : tensor<2xi32>
}

// -----

func.func @max_keeps_type(%x: tensor<2x3xi32>) -> tensor<2xi64> {
  // expected-error @+1 {{'ejit.max' op result element type 'i64' should be 'i32'}}
  %0 = ejit.max %x {axes = array<i64: 1>, keepdims = false} : tensor<2x3xi32> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

func.func @max_of_nothing(%x: tensor<2x0xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'ejit.max' op cannot reduce the empty dim 1 of shape (2,0)}}
  %0 = ejit.max %x {axes = array<i64: 1>, keepdims = false} : tensor<2x0xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @argmax_one_axis(%x: tensor<2x3xf32>) -> tensor<i64> {
  // expected-error @+1 {{'ejit.argmax' op takes exactly one axis, got [0, 1]}}
  %0 = ejit.argmax %x {axes = array<i64: 0, 1>, keepdims = false} : tensor<2x3xf32> -> tensor<i64>
  return %0 : tensor<i64>
}

// -----

func.func @argmin_gives_i64(%x: tensor<2x3xf32>) -> tensor<2xi32> {
  // expected-error @+1 {{'ejit.argmin' op result #0 must be ranked tensor of 64-bit signless integer values, but got 'tensor<2xi32>'}}
  %0 = ejit.argmin %x {axes = array<i64: 1>, keepdims = false} : tensor<2x3xf32> -> tensor<2xi32>
  return %0 : tensor<2xi32>
}

// -----

//===--- matmul ---===//

func.func @matmul_inner(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{'ejit.matmul' op cannot multiply (2,3) by (4,5): inner dims 3 and 4 differ}}
  %0 = ejit.matmul %a, %b : tensor<2x3xf32>, tensor<4x5xf32> -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @matmul_rank1(%a: tensor<3xf32>, %b: tensor<3x5xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{'ejit.matmul' op operands of shapes (3,) and (3,5) must have rank 2 or more}}
  %0 = ejit.matmul %a, %b : tensor<3xf32>, tensor<3x5xf32> -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

func.func @matmul_batch(%a: tensor<2x3x4xf32>, %b: tensor<3x4x5xf32>) -> tensor<2x3x5xf32> {
  // expected-error @+1 {{'ejit.matmul' op batch dims of (2,3,4) and (3,4,5) do not broadcast}}
  %0 = ejit.matmul %a, %b : tensor<2x3x4xf32>, tensor<3x4x5xf32> -> tensor<2x3x5xf32>
  return %0 : tensor<2x3x5xf32>
}

// -----

func.func @matmul_result(%a: tensor<2x3x4xf32>, %b: tensor<4x5xf32>) -> tensor<3x5xf32> {
  // expected-error @+1 {{'ejit.matmul' op result shape (3,5) should be (2,3,5)}}
  %0 = ejit.matmul %a, %b : tensor<2x3x4xf32>, tensor<4x5xf32> -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// -----

func.func @matmul_element_types(%a: tensor<2x3xf32>, %b: tensor<3x5xf64>) -> tensor<2x5xf32> {
  // expected-error @+1 {{'ejit.matmul' op operand element types 'f32' and 'f64' differ}}
  %0 = ejit.matmul %a, %b : tensor<2x3xf32>, tensor<3x5xf64> -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @matmul_bool(%a: tensor<2x3xi1>, %b: tensor<3x5xi1>) -> tensor<2x5xi1> {
  // expected-error @+1 {{'ejit.matmul' op operand #0 must be ranked tensor of 32-bit signless integer or 64-bit signless integer or 32-bit float or 64-bit float values, but got 'tensor<2x3xi1>'}}
  %0 = ejit.matmul %a, %b : tensor<2x3xi1>, tensor<3x5xi1> -> tensor<2x5xi1>
  return %0 : tensor<2x5xi1>
}

// -----

//===--- shape ops ---===//

func.func @reshape_count(%x: tensor<6xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'ejit.reshape' op cannot reshape (6,) (6 elements) to (4,) (4 elements)}}
  %0 = ejit.reshape %x : tensor<6xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @reshape_count_overflow(%x: tensor<4xf32>) -> tensor<4611686018427387905x4xf32> {
  // (2^62 + 1) * 4 wraps to 4 in int64: the count must be checked, not wrapped.
  // expected-error @+1 {{'ejit.reshape' op the element count of (4611686018427387905,4) overflows int64}}
  %0 = ejit.reshape %x : tensor<4xf32> -> tensor<4611686018427387905x4xf32>
  return %0 : tensor<4611686018427387905x4xf32>
}

// -----

func.func @reshape_operand_overflow(%x: tensor<4294967296x4294967296xf32>) -> tensor<0xf32> {
  // expected-error @+1 {{'ejit.reshape' op the element count of (4294967296,4294967296) overflows int64}}
  %0 = ejit.reshape %x : tensor<4294967296x4294967296xf32> -> tensor<0xf32>
  return %0 : tensor<0xf32>
}

// -----

func.func @reshape_type(%x: tensor<6xf32>) -> tensor<2x3xi32> {
  // expected-error @+1 {{'ejit.reshape' op result element type 'i32' differs from operand element type 'f32'}}
  %0 = ejit.reshape %x : tensor<6xf32> -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

func.func @perm_length(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{'ejit.permute' op perm [1, 0, 2] has 3 entries for shape (2,3)}}
  %0 = ejit.permute %x {perm = array<i64: 1, 0, 2>} : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @perm_duplicate(%x: tensor<2x3xf32>) -> tensor<3x3xf32> {
  // expected-error @+1 {{'ejit.permute' op perm [1, 1] is not a permutation of 0..1}}
  %0 = ejit.permute %x {perm = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

func.func @perm_range(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{'ejit.permute' op perm [2, 0] is not a permutation of 0..1}}
  %0 = ejit.permute %x {perm = array<i64: 2, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @perm_result(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ejit.permute' op result shape (2,3) should be (3,2)}}
  %0 = ejit.permute %x {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @broadcast_to_bad(%x: tensor<2x3xf32>) -> tensor<3x3xf32> {
  // expected-error @+1 {{'ejit.broadcast_to' op cannot broadcast (2,3) to (3,3)}}
  %0 = ejit.broadcast_to %x : tensor<2x3xf32> -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

func.func @broadcast_to_lower_rank(%x: tensor<2x3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'ejit.broadcast_to' op cannot broadcast (2,3) to (3,)}}
  %0 = ejit.broadcast_to %x : tensor<2x3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @slice_step_zero(%x: tensor<5x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ejit.slice' op step must not be 0}}
  %0 = ejit.slice %x {axis = 0 : i64, start = 1 : i64, step = 0 : i64} : tensor<5x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @slice_axis(%x: tensor<5x3xf32>) -> tensor<5x3xf32> {
  // expected-error @+1 {{'ejit.slice' op axis 2 is out of range for shape (5,3)}}
  %0 = ejit.slice %x {axis = 2 : i64, start = 0 : i64, step = 1 : i64} : tensor<5x3xf32> -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// -----

func.func @slice_start(%x: tensor<5x3xf32>) -> tensor<1x3xf32> {
  // expected-error @+1 {{'ejit.slice' op 1 elements from 5 by step 1 leave [0, 5) on dim 0 of shape (5,3)}}
  %0 = ejit.slice %x {axis = 0 : i64, start = 5 : i64, step = 1 : i64} : tensor<5x3xf32> -> tensor<1x3xf32>
  return %0 : tensor<1x3xf32>
}

// -----

func.func @slice_end(%x: tensor<5x3xf32>) -> tensor<3x3xf32> {
  // expected-error @+1 {{'ejit.slice' op 3 elements from 1 by step 2 leave [0, 5) on dim 0 of shape (5,3)}}
  %0 = ejit.slice %x {axis = 0 : i64, start = 1 : i64, step = 2 : i64} : tensor<5x3xf32> -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

func.func @slice_negative_step(%x: tensor<5x3xf32>) -> tensor<3x3xf32> {
  // expected-error @+1 {{'ejit.slice' op 3 elements from 2 by step -2 leave [0, 5) on dim 0 of shape (5,3)}}
  %0 = ejit.slice %x {axis = 0 : i64, start = 2 : i64, step = -2 : i64} : tensor<5x3xf32> -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

func.func @slice_other_dims(%x: tensor<5x3xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{'ejit.slice' op result shape (2,2) differs from (5,3) outside axis 0}}
  %0 = ejit.slice %x {axis = 0 : i64, start = 1 : i64, step = 2 : i64} : tensor<5x3xf32> -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @concat_nothing() -> tensor<2xf32> {
  // The verifier must not read operand 0 (it once did, out of bounds).
  // expected-error @+1 {{'ejit.concat' op needs at least one operand}}
  %0 = "ejit.concat"() <{axis = 0 : i64}> : () -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @concat_overflow(%a: tensor<9223372036854775807xf32>, %b: tensor<1xf32>) -> tensor<1xf32> {
  // expected-error @+1 {{'ejit.concat' op the sizes along axis 0 overflow int64}}
  %0 = ejit.concat %a, %b {axis = 0 : i64} : tensor<9223372036854775807xf32>, tensor<1xf32> -> tensor<1xf32>
  return %0 : tensor<1xf32>
}

// -----

func.func @concat_mismatch(%a: tensor<2x3xf32>, %b: tensor<3x1xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'ejit.concat' op operand 1 of shape (3,1) does not match operand 0 of shape (2,3) outside axis 1}}
  %0 = ejit.concat %a, %b {axis = 1 : i64} : tensor<2x3xf32>, tensor<3x1xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @concat_rank(%a: tensor<2x3xf32>, %b: tensor<2xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'ejit.concat' op operand 1 of shape (2,) does not match operand 0 of shape (2,3) outside axis 1}}
  %0 = ejit.concat %a, %b {axis = 1 : i64} : tensor<2x3xf32>, tensor<2xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @concat_result(%a: tensor<2x3xf32>, %b: tensor<2x1xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{'ejit.concat' op result shape (2,5) should be (2,4)}}
  %0 = ejit.concat %a, %b {axis = 1 : i64} : tensor<2x3xf32>, tensor<2x1xf32> -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @concat_types(%a: tensor<2x3xf32>, %b: tensor<2x1xi32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'ejit.concat' op operand 1 has element type 'i32', operand 0 has 'f32'}}
  %0 = ejit.concat %a, %b {axis = 1 : i64} : tensor<2x3xf32>, tensor<2x1xi32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @concat_axis(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ejit.concat' op axis 2 is out of range for shape (2,3)}}
  %0 = ejit.concat %a {axis = 2 : i64} : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @pad_widths(%x: tensor<2x3xf32>) -> tensor<3x3xf32> {
  // expected-error @+1 {{'ejit.pad' op low [1] and high [0] need one width per dim of shape (2,3)}}
  %0 = ejit.pad %x {low = array<i64: 1>, high = array<i64: 0>, value = 0.0 : f64} : tensor<2x3xf32> -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

func.func @pad_negative(%x: tensor<2x3xf32>) -> tensor<1x3xf32> {
  // expected-error @+1 {{'ejit.pad' op negative width (-1, 0) for dim 0 of shape (2,3)}}
  %0 = ejit.pad %x {low = array<i64: -1, 0>, high = array<i64: 0, 0>, value = 0.0 : f64} : tensor<2x3xf32> -> tensor<1x3xf32>
  return %0 : tensor<1x3xf32>
}

// -----

func.func @pad_overflow(%x: tensor<9223372036854775807xf32>) -> tensor<1xf32> {
  // expected-error @+1 {{'ejit.pad' op padding dim 0 of shape (9223372036854775807,) overflows int64}}
  %0 = ejit.pad %x {low = array<i64: 1>, high = array<i64: 0>, value = 0.0 : f64} : tensor<9223372036854775807xf32> -> tensor<1xf32>
  return %0 : tensor<1xf32>
}

// -----

func.func @pad_result(%x: tensor<2x3xf32>) -> tensor<3x3xf32> {
  // expected-error @+1 {{'ejit.pad' op result shape (3,3) should be (3,5)}}
  %0 = ejit.pad %x {low = array<i64: 1, 0>, high = array<i64: 0, 2>, value = 0.0 : f64} : tensor<2x3xf32> -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

//===--- indexing ops ---===//

func.func @index_add_updates(%x: tensor<5x3xf32>, %i: tensor<2xi64>, %u: tensor<2x2xf32>) -> tensor<5x3xf32> {
  // expected-error @+1 {{'ejit.index_add' op updates of shape (2,2) must have take's result shape (2,3) and x's element type}}
  %0 = ejit.index_add %x, %i, %u {axis = 0 : i64} : tensor<5x3xf32>, tensor<2xi64>, tensor<2x2xf32> -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// -----

func.func @index_add_bool(%x: tensor<5xi1>, %i: tensor<2xi64>, %u: tensor<2xi1>) -> tensor<5xi1> {
  // expected-error @+1 {{'ejit.index_add' op is not defined for i1 (bool) tensors}}
  %0 = ejit.index_add %x, %i, %u {axis = 0 : i64} : tensor<5xi1>, tensor<2xi64>, tensor<2xi1> -> tensor<5xi1>
  return %0 : tensor<5xi1>
}

// -----

func.func @index_add_result(%x: tensor<5x3xf32>, %i: tensor<2xi64>, %u: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ejit.index_add' op result shape (2,3) should be (5,3)}}
  %0 = ejit.index_add %x, %i, %u {axis = 0 : i64} : tensor<5x3xf32>, tensor<2xi64>, tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @scatter_add_updates(%x: tensor<5x3xf32>, %i: tensor<5x2xi64>, %u: tensor<5x3xf32>) -> tensor<5x3xf32> {
  // expected-error @+1 {{'ejit.scatter_add' op updates of type 'tensor<5x3xf32>' must have gather's result type 'tensor<5x2xf32>'}}
  %0 = ejit.scatter_add %x, %i, %u {axis = 1 : i64} : tensor<5x3xf32>, tensor<5x2xi64>, tensor<5x3xf32> -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// -----

func.func @scatter_add_rank(%x: tensor<5x3xf32>, %i: tensor<2xi64>, %u: tensor<2xf32>) -> tensor<5x3xf32> {
  // expected-error @+1 {{'ejit.scatter_add' op indices of shape (2,) must have the rank of x (5,3)}}
  %0 = ejit.scatter_add %x, %i, %u {axis = 1 : i64} : tensor<5x3xf32>, tensor<2xi64>, tensor<2xf32> -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// -----

func.func @scatter_add_bool(%x: tensor<5xi1>, %i: tensor<2xi64>, %u: tensor<2xi1>) -> tensor<5xi1> {
  // expected-error @+1 {{'ejit.scatter_add' op is not defined for i1 (bool) tensors}}
  %0 = ejit.scatter_add %x, %i, %u {axis = 0 : i64} : tensor<5xi1>, tensor<2xi64>, tensor<2xi1> -> tensor<5xi1>
  return %0 : tensor<5xi1>
}

// -----

func.func @scatter_add_result(%x: tensor<5x3xf32>, %i: tensor<5x2xi64>, %u: tensor<5x2xf32>) -> tensor<5x2xf32> {
  // expected-error @+1 {{'ejit.scatter_add' op result shape (5,2) should be (5,3)}}
  %0 = ejit.scatter_add %x, %i, %u {axis = 1 : i64} : tensor<5x3xf32>, tensor<5x2xi64>, tensor<5x2xf32> -> tensor<5x2xf32>
  return %0 : tensor<5x2xf32>
}

// -----

func.func @take_rank0(%x: tensor<f32>, %i: tensor<2xi64>) -> tensor<2xf32> {
  // expected-error @+1 {{'ejit.take' op cannot take from a rank-0 tensor}}
  %0 = ejit.take %x, %i {axis = 0 : i64} : tensor<f32>, tensor<2xi64> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @take_axis(%x: tensor<5x3xf32>, %i: tensor<2xi64>) -> tensor<5x3x2xf32> {
  // expected-error @+1 {{'ejit.take' op axis 2 is out of range for shape (5,3)}}
  %0 = ejit.take %x, %i {axis = 2 : i64} : tensor<5x3xf32>, tensor<2xi64> -> tensor<5x3x2xf32>
  return %0 : tensor<5x3x2xf32>
}

// -----

func.func @take_result(%x: tensor<5x3xf32>, %i: tensor<2x2xi64>) -> tensor<2x2xf32> {
  // expected-error @+1 {{'ejit.take' op result shape (2,2) should be (2,2,3)}}
  %0 = ejit.take %x, %i {axis = 0 : i64} : tensor<5x3xf32>, tensor<2x2xi64> -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @take_float_indices(%x: tensor<5x3xf32>, %i: tensor<2xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ejit.take' op operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<2xf32>'}}
  %0 = ejit.take %x, %i {axis = 0 : i64} : tensor<5x3xf32>, tensor<2xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @gather_rank(%x: tensor<2x3xf32>, %i: tensor<2xi64>) -> tensor<2xf32> {
  // expected-error @+1 {{'ejit.gather' op indices of shape (2,) must have the rank of x (2,3)}}
  %0 = ejit.gather %x, %i {axis = 1 : i64} : tensor<2x3xf32>, tensor<2xi64> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @gather_broadcast(%x: tensor<2x3xf32>, %i: tensor<3x1xi64>) -> tensor<3x1xf32> {
  // expected-error @+1 {{'ejit.gather' op x (2,3) and indices (3,1) do not broadcast on dim 0}}
  %0 = ejit.gather %x, %i {axis = 1 : i64} : tensor<2x3xf32>, tensor<3x1xi64> -> tensor<3x1xf32>
  return %0 : tensor<3x1xf32>
}

// -----

func.func @gather_result(%x: tensor<2x3xf32>, %i: tensor<2x4xi64>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ejit.gather' op result shape (2,3) should be (2,4)}}
  %0 = ejit.gather %x, %i {axis = 1 : i64} : tensor<2x3xf32>, tensor<2x4xi64> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

//===--- host_call ---===//

func.func @host_call_index(%x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'ejit.host_call' op index -1 is negative}}
  %0 = ejit.host_call "f"(%x) {index = -1 : i64} : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @host_call_name(%x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'ejit.host_call' op has an empty callee name}}
  %0 = ejit.host_call ""(%x) {index = 0 : i64} : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
