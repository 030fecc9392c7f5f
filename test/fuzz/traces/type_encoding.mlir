// EXPECT: {DIR}type_encoding.mlir:2:1: @f result 0 has type tensor<4xf32, "csr">: a trace's tensors have no encoding
func.func @f(%a: tensor<4xf32, "csr">) -> tensor<4xf32, "csr"> {
  return %a : tensor<4xf32, "csr">
}
