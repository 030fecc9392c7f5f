// EXPECT: 2 functions have a body (@outer at {DIR}nested_module_body.mlir:4:1, @inner at {DIR}nested_module_body.mlir:8:3)
// A function inside a nested module counts as well: a trace is one function with a body,
// wherever it is.
func.func @outer(%a: tensor<2xf32>) -> tensor<2xf32> {
  return %a : tensor<2xf32>
}
module {
  func.func @inner(%a: tensor<2xf32>) -> tensor<2xf32> {
    return %a : tensor<2xf32>
  }
}
