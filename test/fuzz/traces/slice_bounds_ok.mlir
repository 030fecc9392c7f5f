// LOADS: a recorded slice says how its bounds were given (x[1:], counted from the end)
func.func @f(%a: tensor<6x3xf32>) -> tensor<5x3xf32> {
  %0 = ejit.slice %a {axis = 0 : i64, start = 1 : i64, step = 1 : i64, ejit.bounds = 1 : i64} : tensor<6x3xf32> -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}
