// EXPECT: {DIR}type_none.mlir:2:1: @f result 0 has type none: a trace's values are ranked tensors of static shape
func.func @f(%a: none) -> none {
  return %a : none
}
