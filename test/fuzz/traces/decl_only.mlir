// EXPECT: no func.func with a body, only declarations (@decl at {DIR}decl_only.mlir:2:1)
func.func private @decl(tensor<2xf32>) -> tensor<2xf32>
