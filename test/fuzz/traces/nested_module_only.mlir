// LOADS: the one function with a body may sit in a nested module.
module {
  module {
    func.func @f(%a: tensor<2xi32>) -> tensor<2xi32> {
      %0 = ejit.neg %a : tensor<2xi32> -> tensor<2xi32>
      return %0 : tensor<2xi32>
    }
  }
}
