// EXPECT: not valid ejit IR: {DIR}unknown_dialect.mlir:4:17: operation being parsed with an unregistered dialect
// Unregistered dialects are not allowed when traces are parsed.
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0 = "foo.bar"(%a) : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
