// EXPECT: {DIR}slice_bad_bounds.mlir:3:8: a slice's ejit.bounds is 9, not 0 to 3
func.func @f(%a: tensor<6x3xf32>) -> tensor<5x3xf32> {
  %0 = ejit.slice %a {axis = 0 : i64, start = 1 : i64, step = 1 : i64, ejit.bounds = 9 : i64} : tensor<6x3xf32> -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}
