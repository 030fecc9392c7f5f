// EXPECT: {DIR}splat_huge.mlir:4:8: ejit.constant of 100000000000 elements (tensor<100000000000xf32>) takes the trace's constants past 268435456 (2^28) elements
// A one-line splat must be refused before it is expanded (400 GB).
func.func @f() -> tensor<100000000000xf32> {
  %0 = ejit.constant dense<1.0> : tensor<100000000000xf32>
  return %0 : tensor<100000000000xf32>
}
