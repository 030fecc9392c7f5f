// EXPECT: {DIR}type_memref.mlir:2:1: @f result 0 has type memref<4xf32>: a trace's values are ranked tensors of static shape
func.func @f(%a: memref<4xf32>) -> memref<4xf32> {
  return %a : memref<4xf32>
}
