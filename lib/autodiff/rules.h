// Gradient rules (vector-Jacobian products) of the primitives, written in ejit ops.
#pragma once

#include <vector>

#include "../core/observer.h"

namespace ejit::detail {

/// Gradients of op's inputs given g, the gradient of its output; need[i] says which inputs
/// want one. An undefined tensor means no gradient. Each has its input's shape.
std::vector<Tensor> vjp(const PrimOp& op, const Tensor& g, const std::vector<bool>& need);

/// Sums g over the axes along which `shape` was broadcast to g's shape.
Tensor unbroadcast(const Tensor& g, const Shape& shape);

}  // namespace ejit::detail
