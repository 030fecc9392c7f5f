// EXPECT: loc("here"): unexpected op 'func.call'
// An op's own loc(...) replaces the parser's location in messages.
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0 = ejit.exp %a : tensor<2xf32> -> tensor<2xf32> loc(fused["x", "y.mlir":3:4])
  %1 = func.call @f(%0) : (tensor<2xf32>) -> tensor<2xf32> loc("here")
  return %1 : tensor<2xf32>
}
