// EXPECT: {DIR}type_tuple.mlir:2:1: @f result 0 has type tuple<tensor<2xf32>, i32>: a trace's values are ranked tensors of static shape
func.func @f(%a: tuple<tensor<2xf32>, i32>) -> tuple<tensor<2xf32>, i32> {
  return %a : tuple<tensor<2xf32>, i32>
}
