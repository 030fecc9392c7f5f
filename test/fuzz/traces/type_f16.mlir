// EXPECT: {DIR}type_f16.mlir:2:1: @f result 0 has type tensor<4xf16>: the element type is not one of i1, i32, i64, f32, f64
func.func @f(%a: tensor<4xf16>) -> tensor<4xf16> {
  return %a : tensor<4xf16>
}
