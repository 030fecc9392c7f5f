// EXPECT: {DIR}numel_too_big.mlir:2:1: @f result 0 has type tensor<100000000000000xf64>: 100000000000000 elements are more than 140737488355328 bytes
func.func @f(%a: tensor<100000000000000xf64>) -> tensor<100000000000000xf64> {
  return %a : tensor<100000000000000xf64>
}
