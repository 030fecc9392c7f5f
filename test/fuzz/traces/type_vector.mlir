// EXPECT: {DIR}type_vector.mlir:2:1: @f result 0 has type vector<4xf32>: a trace's values are ranked tensors of static shape
func.func @f(%a: vector<4xf32>) -> vector<4xf32> {
  return %a : vector<4xf32>
}
