// EXPECT: {DIR}type_ui64.mlir:2:1: @f result 0 has type tensor<4xui64>: the element type is not one of i1, i32, i64, f32, f64
func.func @f(%a: tensor<4xui64>) -> tensor<4xui64> {
  return %a : tensor<4xui64>
}
