// EXPECT: [load_trace] y.mlir:3:4: unexpected op 'func.call'
// A fused loc(...) is named by its first file location.
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0 = func.call @f(%a) : (tensor<2xf32>) -> tensor<2xf32> loc(fused["x", "y.mlir":3:4])
  return %0 : tensor<2xf32>
}
