// EXPECT: not valid ejit IR: {DIR}empty_body.mlir:2:1: empty block: expect at least a terminator
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
}
