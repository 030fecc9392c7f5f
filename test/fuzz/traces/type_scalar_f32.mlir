// EXPECT: {DIR}type_scalar_f32.mlir:2:1: @f result 0 has type f32: a trace's values are ranked tensors of static shape
func.func @f(%a: f32) -> f32 {
  return %a : f32
}
