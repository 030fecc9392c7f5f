// EXPECT: not valid ejit IR: {DIR}return_type.mlir:3:3: type of return operand 0 ('tensor<2xf32>') doesn't match function result type ('tensor<3xf32>')
func.func @f(%a: tensor<2xf32>) -> tensor<3xf32> {
  return %a : tensor<2xf32>
}
