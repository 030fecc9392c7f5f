// LOADS: a trace without ops (its output is its input); compiling it says why it cannot.
func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  return %a : tensor<2xf32>
}
