// EXPECT: {DIR}type_index_tensor.mlir:2:1: @f result 0 has type tensor<4xindex>: the element type is not one of i1, i32, i64, f32, f64
func.func @f(%a: tensor<4xindex>) -> tensor<4xindex> {
  return %a : tensor<4xindex>
}
