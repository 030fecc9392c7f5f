// EXPECT: {DIR}two_blocks.mlir:3:1: @f has 2 blocks; a trace is one block ending in func.return
// The second block was silently ignored before.
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  return %a : tensor<2xf32>
^bb1:
  %0 = ejit.exp %a : tensor<2xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
