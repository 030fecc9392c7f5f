// Tensor's method forms, forwarding to the free ops.
#include "ejit/ops.h"

namespace ejit {

Tensor Tensor::reshape(const Shape& shape) const { return ejit::reshape(*this, shape); }
Tensor Tensor::astype(DType dtype) const { return cast(*this, dtype); }
Tensor Tensor::transpose() const { return ejit::transpose(*this); }
Tensor Tensor::slice(int64_t axis, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step) const {
  return ejit::slice(*this, axis, start, stop, step);
}
Tensor Tensor::sum(std::vector<int64_t> axes, bool keepdims) const { return ejit::sum(*this, std::move(axes), keepdims); }
Tensor Tensor::mean(std::vector<int64_t> axes, bool keepdims) const {
  return ejit::mean(*this, std::move(axes), keepdims);
}

}  // namespace ejit
