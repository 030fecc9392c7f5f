// Composite ops written with the primitive ops: softmax, log_softmax, layer_norm, one_hot,
// cross_entropy. They need no kernels of their own (and no lowering later).
#include "dispatch.h"

namespace ejit {

using namespace detail;

namespace {

Tensor floating(const char* op, const Tensor& x) {
  check_defined(op, x);
  return is_floating(x.dtype()) ? x : cast(x, kDefaultFloat);
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) {
  Tensor xf = floating("softmax", x);
  normalize_axis("softmax", axis, xf.rank(), xf.shape());
  Tensor e = exp(xf - max(xf, {axis}, true));
  return e / sum(e, {axis}, true);
}

Tensor log_softmax(const Tensor& x, int64_t axis) {
  Tensor xf = floating("log_softmax", x);
  normalize_axis("log_softmax", axis, xf.rank(), xf.shape());
  Tensor shifted = xf - max(xf, {axis}, true);
  return shifted - log(sum(exp(shifted), {axis}, true));
}

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps, int normalized_dims) {
  Tensor xf = floating("layer_norm", x);
  if (normalized_dims < 1 || normalized_dims > xf.rank())
    fail("layer_norm", "cannot normalize the last {} dims of shape {}", normalized_dims, xf.shape());
  std::vector<int64_t> axes;
  for (int i = 0; i < normalized_dims; ++i) axes.push_back(xf.rank() - normalized_dims + i);
  Shape norm_shape(std::span(xf.shape().begin() + xf.rank() - normalized_dims, xf.shape().end()));
  for (const Tensor* p : {&gamma, &beta})
    if (p->defined() && !(p->shape() == norm_shape))
      fail("layer_norm", "{} has shape {}, expected the normalized shape {} of input {}", p == &gamma ? "gamma" : "beta",
           p->shape(), norm_shape, xf.shape());
  Tensor centered = xf - mean(xf, axes, true);
  Tensor variance = mean(centered * centered, axes, true);  // biased, two-pass
  Tensor y = centered * rsqrt(variance + eps);
  if (gamma.defined()) y = y * gamma;
  if (beta.defined()) y = y + beta;
  return y;
}

Tensor one_hot(const Tensor& indices, int64_t depth, DType dtype) {
  check_defined("one_hot", indices);
  if (!is_integer(indices.dtype()))
    fail("one_hot", "indices must be i32 or i64, got {} (shape {})", indices.dtype(), indices.shape());
  if (depth < 0) fail("one_hot", "depth must be >= 0, got {}", depth);
  if (indices.numel() > 0) {
    PauseRecording pause;  // validation reads: not user control flow
    int64_t lo = min(indices).item<int64_t>(), hi = max(indices).item<int64_t>();
    if (lo < 0 || hi >= depth)
      fail("one_hot", "index {} is out of range for depth {} (indices shape {})", lo < 0 ? lo : hi, depth,
           indices.shape());
  }
  Tensor columns = [&] {
    DeviceScope on(indices.device());
    return arange(0, depth, 1, indices.dtype());
  }();
  return cast(eq(unsqueeze(indices, -1), columns), dtype);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& labels, Reduction reduction) {
  Tensor lf = floating("cross_entropy", logits);
  check_defined("cross_entropy", labels);
  if (lf.rank() < 1) fail("cross_entropy", "logits need a class dim, got shape {}", lf.shape());
  Tensor logp = log_softmax(lf, -1);
  Tensor loss;
  if (is_integer(labels.dtype())) {
    Shape expect(std::span(lf.shape().begin(), lf.shape().end() - 1));
    if (!(labels.shape() == expect))
      fail("cross_entropy", "integer labels of shape {} do not match logits {} (expected {})", labels.shape(),
           lf.shape(), expect);
    const int64_t classes = lf.shape()[lf.rank() - 1];
    if (labels.numel() > 0) {
      PauseRecording pause;  // validation reads: not user control flow
      int64_t lo = min(labels).item<int64_t>(), hi = max(labels).item<int64_t>();
      if (lo < 0 || hi >= classes)
        fail("cross_entropy", "label {} is out of range for {} classes (logits {}, labels {})", lo < 0 ? lo : hi,
             classes, lf.shape(), labels.shape());
    }
    loss = -squeeze(gather(logp, unsqueeze(labels, -1), -1), {-1});
  } else if (is_floating(labels.dtype())) {
    if (!(labels.shape() == lf.shape()))
      fail("cross_entropy", "probability labels of shape {} do not match logits {}", labels.shape(), lf.shape());
    loss = -sum(labels * logp, {-1});
  } else {
    fail("cross_entropy", "labels must be integer classes or float probabilities, got {}", labels.dtype());
  }
  switch (reduction) {
    case Reduction::Mean: return mean(loss);
    case Reduction::Sum: return sum(loss);
    case Reduction::None: break;
  }
  return loss;
}

}  // namespace ejit
