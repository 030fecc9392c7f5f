// LOADS: a declaration beside the one function with a body is ignored.
func.func private @decl(tensor<2xf32>) -> tensor<2xf32>
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0 = ejit.exp %a : tensor<2xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
