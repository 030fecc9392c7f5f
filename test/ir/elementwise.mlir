// Round trip of every elementwise op of the op table (include/ejit/ops.def), each with
// the element types its kind takes: parse, print, parse again, check the text.
// RUN: ejit-opt %s | ejit-opt | FileCheck %s
// RUN: %python %S/op_table_coverage.py %ejit_src/include/ejit/ops.def %s

// Kind Numeric: any type but i1, kept.
// CHECK-LABEL: func.func @unary_numeric
// CHECK-SAME: (%[[F:.*]]: tensor<4x3xf32>, %[[I:.*]]: tensor<4xi32>, %[[L:.*]]: tensor<2x2xi64>)
func.func @unary_numeric(%f: tensor<4x3xf32>, %i: tensor<4xi32>, %l: tensor<2x2xi64>)
    -> (tensor<4x3xf32>, tensor<4xi32>, tensor<2x2xi64>, tensor<4x3xf32>, tensor<4x3xf32>,
        tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>) {
  // CHECK-NEXT: ejit.neg %[[F]] : tensor<4x3xf32> -> tensor<4x3xf32>
  %0 = ejit.neg %f : tensor<4x3xf32> -> tensor<4x3xf32>
  // CHECK-NEXT: ejit.abs %[[I]] : tensor<4xi32> -> tensor<4xi32>
  %1 = ejit.abs %i : tensor<4xi32> -> tensor<4xi32>
  // CHECK-NEXT: ejit.sign %[[L]] : tensor<2x2xi64> -> tensor<2x2xi64>
  %2 = ejit.sign %l : tensor<2x2xi64> -> tensor<2x2xi64>
  // CHECK-NEXT: ejit.square %[[F]] : tensor<4x3xf32> -> tensor<4x3xf32>
  %3 = ejit.square %f : tensor<4x3xf32> -> tensor<4x3xf32>
  // CHECK-NEXT: ejit.relu %[[F]] : tensor<4x3xf32> -> tensor<4x3xf32>
  %4 = ejit.relu %f : tensor<4x3xf32> -> tensor<4x3xf32>
  // CHECK-NEXT: ejit.floor %[[F]] : tensor<4x3xf32> -> tensor<4x3xf32>
  %5 = ejit.floor %f : tensor<4x3xf32> -> tensor<4x3xf32>
  // CHECK-NEXT: ejit.ceil %[[F]] : tensor<4x3xf32> -> tensor<4x3xf32>
  %6 = ejit.ceil %f : tensor<4x3xf32> -> tensor<4x3xf32>
  // CHECK-NEXT: ejit.round %[[F]] : tensor<4x3xf32> -> tensor<4x3xf32>
  %7 = ejit.round %f : tensor<4x3xf32> -> tensor<4x3xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7 : tensor<4x3xf32>, tensor<4xi32>, tensor<2x2xi64>,
      tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>
}

// Kind Float: f32 or f64, kept.
// CHECK-LABEL: func.func @unary_float
// CHECK-SAME: (%[[F:.*]]: tensor<4x3xf32>, %[[D:.*]]: tensor<5xf64>)
func.func @unary_float(%f: tensor<4x3xf32>, %d: tensor<5xf64>)
    -> (tensor<4x3xf32>, tensor<5xf64>, tensor<4x3xf32>, tensor<5xf64>, tensor<4x3xf32>,
        tensor<5xf64>, tensor<4x3xf32>, tensor<5xf64>, tensor<4x3xf32>, tensor<5xf64>,
        tensor<4x3xf32>, tensor<5xf64>) {
  // CHECK-NEXT: ejit.exp %[[F]] : tensor<4x3xf32> -> tensor<4x3xf32>
  %0 = ejit.exp %f : tensor<4x3xf32> -> tensor<4x3xf32>
  // CHECK-NEXT: ejit.expm1 %[[D]] : tensor<5xf64> -> tensor<5xf64>
  %1 = ejit.expm1 %d : tensor<5xf64> -> tensor<5xf64>
  // CHECK-NEXT: ejit.log %[[F]] : tensor<4x3xf32> -> tensor<4x3xf32>
  %2 = ejit.log %f : tensor<4x3xf32> -> tensor<4x3xf32>
  // CHECK-NEXT: ejit.log1p %[[D]] : tensor<5xf64> -> tensor<5xf64>
  %3 = ejit.log1p %d : tensor<5xf64> -> tensor<5xf64>
  // CHECK-NEXT: ejit.sqrt %[[F]] : tensor<4x3xf32> -> tensor<4x3xf32>
  %4 = ejit.sqrt %f : tensor<4x3xf32> -> tensor<4x3xf32>
  // CHECK-NEXT: ejit.rsqrt %[[D]] : tensor<5xf64> -> tensor<5xf64>
  %5 = ejit.rsqrt %d : tensor<5xf64> -> tensor<5xf64>
  // CHECK-NEXT: ejit.sin %[[F]] : tensor<4x3xf32> -> tensor<4x3xf32>
  %6 = ejit.sin %f : tensor<4x3xf32> -> tensor<4x3xf32>
  // CHECK-NEXT: ejit.cos %[[D]] : tensor<5xf64> -> tensor<5xf64>
  %7 = ejit.cos %d : tensor<5xf64> -> tensor<5xf64>
  // CHECK-NEXT: ejit.tanh %[[F]] : tensor<4x3xf32> -> tensor<4x3xf32>
  %8 = ejit.tanh %f : tensor<4x3xf32> -> tensor<4x3xf32>
  // CHECK-NEXT: ejit.sigmoid %[[D]] : tensor<5xf64> -> tensor<5xf64>
  %9 = ejit.sigmoid %d : tensor<5xf64> -> tensor<5xf64>
  // CHECK-NEXT: ejit.gelu %[[F]] : tensor<4x3xf32> -> tensor<4x3xf32>
  %10 = ejit.gelu %f : tensor<4x3xf32> -> tensor<4x3xf32>
  // CHECK-NEXT: ejit.erf %[[D]] : tensor<5xf64> -> tensor<5xf64>
  %11 = ejit.erf %d : tensor<5xf64> -> tensor<5xf64>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11 : tensor<4x3xf32>, tensor<5xf64>,
      tensor<4x3xf32>, tensor<5xf64>, tensor<4x3xf32>, tensor<5xf64>, tensor<4x3xf32>,
      tensor<5xf64>, tensor<4x3xf32>, tensor<5xf64>, tensor<4x3xf32>, tensor<5xf64>
}

// Kind Predicate: any type in, i1 out.
// CHECK-LABEL: func.func @unary_predicate
// CHECK-SAME: (%[[F:.*]]: tensor<4x3xf32>, %[[B:.*]]: tensor<2xi1>, %[[I:.*]]: tensor<7xi32>)
func.func @unary_predicate(%f: tensor<4x3xf32>, %b: tensor<2xi1>, %i: tensor<7xi32>)
    -> (tensor<2xi1>, tensor<4x3xi1>, tensor<7xi1>) {
  // CHECK-NEXT: ejit.logical_not %[[B]] : tensor<2xi1> -> tensor<2xi1>
  %0 = ejit.logical_not %b : tensor<2xi1> -> tensor<2xi1>
  // CHECK-NEXT: ejit.isnan %[[F]] : tensor<4x3xf32> -> tensor<4x3xi1>
  %1 = ejit.isnan %f : tensor<4x3xf32> -> tensor<4x3xi1>
  // CHECK-NEXT: ejit.isfinite %[[I]] : tensor<7xi32> -> tensor<7xi1>
  %2 = ejit.isfinite %i : tensor<7xi32> -> tensor<7xi1>
  return %0, %1, %2 : tensor<2xi1>, tensor<4x3xi1>, tensor<7xi1>
}

// Kinds Arith (any type, kept), ArithNoBool (not i1, kept), Div (float, kept), with
// broadcasting between the operands.
// CHECK-LABEL: func.func @binary_arith
// CHECK-SAME: (%[[A:.*]]: tensor<4x3xf32>, %[[R:.*]]: tensor<3xf32>, %[[B:.*]]: tensor<2x1xi1>, %[[C:.*]]: tensor<1x5xi1>, %[[I:.*]]: tensor<2x1x3xi64>, %[[J:.*]]: tensor<4x1xi64>, %[[D:.*]]: tensor<f64>, %[[E:.*]]: tensor<2xf64>)
func.func @binary_arith(%a: tensor<4x3xf32>, %r: tensor<3xf32>, %b: tensor<2x1xi1>,
                        %c: tensor<1x5xi1>, %i: tensor<2x1x3xi64>, %j: tensor<4x1xi64>,
                        %d: tensor<f64>, %e: tensor<2xf64>)
    -> (tensor<4x3xf32>, tensor<2x4x3xi64>, tensor<2x5xi1>, tensor<2xf64>, tensor<4x3xf32>,
        tensor<2x4x3xi64>, tensor<4x3xf32>, tensor<2x5xi1>) {
  // CHECK-NEXT: ejit.add %[[A]], %[[R]] : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
  %0 = ejit.add %a, %r : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
  // CHECK-NEXT: ejit.sub %[[I]], %[[J]] : tensor<2x1x3xi64>, tensor<4x1xi64> -> tensor<2x4x3xi64>
  %1 = ejit.sub %i, %j : tensor<2x1x3xi64>, tensor<4x1xi64> -> tensor<2x4x3xi64>
  // CHECK-NEXT: ejit.mul %[[B]], %[[C]] : tensor<2x1xi1>, tensor<1x5xi1> -> tensor<2x5xi1>
  %2 = ejit.mul %b, %c : tensor<2x1xi1>, tensor<1x5xi1> -> tensor<2x5xi1>
  // CHECK-NEXT: ejit.div %[[D]], %[[E]] : tensor<f64>, tensor<2xf64> -> tensor<2xf64>
  %3 = ejit.div %d, %e : tensor<f64>, tensor<2xf64> -> tensor<2xf64>
  // CHECK-NEXT: ejit.pow %[[A]], %[[A]] : tensor<4x3xf32>, tensor<4x3xf32> -> tensor<4x3xf32>
  %4 = ejit.pow %a, %a : tensor<4x3xf32>, tensor<4x3xf32> -> tensor<4x3xf32>
  // CHECK-NEXT: ejit.mod %[[J]], %[[I]] : tensor<4x1xi64>, tensor<2x1x3xi64> -> tensor<2x4x3xi64>
  %5 = ejit.mod %j, %i : tensor<4x1xi64>, tensor<2x1x3xi64> -> tensor<2x4x3xi64>
  // CHECK-NEXT: ejit.maximum %[[R]], %[[A]] : tensor<3xf32>, tensor<4x3xf32> -> tensor<4x3xf32>
  %6 = ejit.maximum %r, %a : tensor<3xf32>, tensor<4x3xf32> -> tensor<4x3xf32>
  // CHECK-NEXT: ejit.minimum %[[B]], %[[C]] : tensor<2x1xi1>, tensor<1x5xi1> -> tensor<2x5xi1>
  %7 = ejit.minimum %b, %c : tensor<2x1xi1>, tensor<1x5xi1> -> tensor<2x5xi1>
  return %0, %1, %2, %3, %4, %5, %6, %7 : tensor<4x3xf32>, tensor<2x4x3xi64>, tensor<2x5xi1>,
      tensor<2xf64>, tensor<4x3xf32>, tensor<2x4x3xi64>, tensor<4x3xf32>, tensor<2x5xi1>
}

// Kinds Compare (any type in, i1 out) and Logical (i1 in, i1 out).
// CHECK-LABEL: func.func @binary_compare_logical
// CHECK-SAME: (%[[A:.*]]: tensor<4x3xf32>, %[[R:.*]]: tensor<3xf32>, %[[I:.*]]: tensor<2xi32>, %[[B:.*]]: tensor<2x1xi1>, %[[C:.*]]: tensor<1x5xi1>)
func.func @binary_compare_logical(%a: tensor<4x3xf32>, %r: tensor<3xf32>, %i: tensor<2xi32>,
                                  %b: tensor<2x1xi1>, %c: tensor<1x5xi1>)
    -> (tensor<4x3xi1>, tensor<4x3xi1>, tensor<2xi1>, tensor<2xi1>, tensor<2x5xi1>,
        tensor<4x3xi1>, tensor<2x5xi1>, tensor<2x5xi1>) {
  // CHECK-NEXT: ejit.eq %[[A]], %[[R]] : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xi1>
  %0 = ejit.eq %a, %r : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xi1>
  // CHECK-NEXT: ejit.ne %[[R]], %[[A]] : tensor<3xf32>, tensor<4x3xf32> -> tensor<4x3xi1>
  %1 = ejit.ne %r, %a : tensor<3xf32>, tensor<4x3xf32> -> tensor<4x3xi1>
  // CHECK-NEXT: ejit.lt %[[I]], %[[I]] : tensor<2xi32>, tensor<2xi32> -> tensor<2xi1>
  %2 = ejit.lt %i, %i : tensor<2xi32>, tensor<2xi32> -> tensor<2xi1>
  // CHECK-NEXT: ejit.le %[[I]], %[[I]] : tensor<2xi32>, tensor<2xi32> -> tensor<2xi1>
  %3 = ejit.le %i, %i : tensor<2xi32>, tensor<2xi32> -> tensor<2xi1>
  // CHECK-NEXT: ejit.gt %[[B]], %[[C]] : tensor<2x1xi1>, tensor<1x5xi1> -> tensor<2x5xi1>
  %4 = ejit.gt %b, %c : tensor<2x1xi1>, tensor<1x5xi1> -> tensor<2x5xi1>
  // CHECK-NEXT: ejit.ge %[[A]], %[[A]] : tensor<4x3xf32>, tensor<4x3xf32> -> tensor<4x3xi1>
  %5 = ejit.ge %a, %a : tensor<4x3xf32>, tensor<4x3xf32> -> tensor<4x3xi1>
  // CHECK-NEXT: ejit.logical_and %[[B]], %[[C]] : tensor<2x1xi1>, tensor<1x5xi1> -> tensor<2x5xi1>
  %6 = ejit.logical_and %b, %c : tensor<2x1xi1>, tensor<1x5xi1> -> tensor<2x5xi1>
  // CHECK-NEXT: ejit.logical_or %[[C]], %[[B]] : tensor<1x5xi1>, tensor<2x1xi1> -> tensor<2x5xi1>
  %7 = ejit.logical_or %c, %b : tensor<1x5xi1>, tensor<2x1xi1> -> tensor<2x5xi1>
  return %0, %1, %2, %3, %4, %5, %6, %7 : tensor<4x3xi1>, tensor<4x3xi1>, tensor<2xi1>,
      tensor<2xi1>, tensor<2x5xi1>, tensor<4x3xi1>, tensor<2x5xi1>, tensor<2x5xi1>
}
