// EXPECT: {DIR}splat_total.mlir:5:8: ejit.constant of 1 elements (tensor<1xi1>) takes the trace's constants past 268435456 (2^28) elements
// 2^28 elements of constants in all are accepted; one more is not.
func.func @f() -> (tensor<268435456xi1>, tensor<1xi1>) {
  %0 = ejit.constant dense<true> : tensor<268435456xi1>
  %1 = ejit.constant dense<false> : tensor<1xi1>
  return %0, %1 : tensor<268435456xi1>, tensor<1xi1>
}
