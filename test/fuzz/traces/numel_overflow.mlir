// EXPECT: {DIR}numel_overflow.mlir:2:1: @f result 0 has type tensor<4294967296x4294967296xf32>: its element count overflows int64
func.func @f(%a: tensor<4294967296x4294967296xf32>) -> tensor<4294967296x4294967296xf32> {
  return %a : tensor<4294967296x4294967296xf32>
}
