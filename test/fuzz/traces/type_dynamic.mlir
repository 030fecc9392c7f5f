// EXPECT: {DIR}type_dynamic.mlir:2:1: @f result 0 has type tensor<4x?xf32>: a trace's shapes are static (no '?' dims)
func.func @f(%a: tensor<4x?xf32>) -> tensor<4x?xf32> {
  return %a : tensor<4x?xf32>
}
