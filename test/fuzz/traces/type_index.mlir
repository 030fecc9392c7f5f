// EXPECT: {DIR}type_index.mlir:2:1: @f result 0 has type index: a trace's values are ranked tensors of static shape
func.func @f(%a: index) -> index {
  return %a : index
}
