// Metrics: a weighted running mean in two Variables, and the comparisons feeding it.
#include "ejit/metrics.h"

#include "../support/check.h"
#include "../core/observer.h"
#include "ejit/ops.h"

namespace ejit::metrics {

Metric::Metric(std::string name) : name_(std::move(name)) {
  detail::PauseRecording pause;  // initial values are never part of a trace
  total_ = Variable(scalar(0.0), "total", /*trainable=*/false);
  count_ = Variable(scalar(0.0), "count", /*trainable=*/false);
}

Tensor Metric::result() const {
  Tensor count = count_.value();
  return cast(where(count > 0.0, total_.value() / count, 0.0), DType::F32);
}

void Metric::reset_state() {
  total_.assign(scalar(0.0));
  count_.assign(scalar(0.0));
}

std::vector<std::pair<std::string, Variable>> Metric::named_variables() const {
  return {{"total", total_}, {"count", count_}};
}

void Metric::accumulate(const Tensor& values, const Tensor& sample_weight) {
  Tensor v = cast(values, DType::F64);
  if (!sample_weight.defined()) {
    total_.assign(total_.value() + sum(v));
    count_.assign(count_.value() + static_cast<double>(v.numel()));
    return;
  }
  Tensor w = broadcast_to(cast(sample_weight, DType::F64), v.shape());
  total_.assign(total_.value() + sum(v * w));
  count_.assign(count_.value() + sum(w));
}

void Mean::update_state(const Tensor& values, const Tensor& sample_weight) { accumulate(values, sample_weight); }

void Accuracy::update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  if (y_true.shape() != y_pred.shape())
    fail("accuracy", "targets of shape {} and predictions of shape {} differ", y_true.shape(), y_pred.shape());
  accumulate(y_true == y_pred, sample_weight);
}

void SparseCategoricalAccuracy::update_state(const Tensor& labels, const Tensor& predictions,
                                             const Tensor& sample_weight) {
  Tensor l = labels;
  if (l.rank() == predictions.rank() && l.rank() > 0 && l.dim(-1) == 1) l = squeeze(l, {-1});
  bool fits = predictions.rank() >= 1 && l.rank() == predictions.rank() - 1;
  for (int i = 0; fits && i < l.rank(); ++i) fits = l.shape()[i] == predictions.shape()[i];
  if (!fits)
    fail("sparse_categorical_accuracy",
         "labels of shape {} do not fit predictions of shape {}: labels take its shape without the last dim",
         labels.shape(), predictions.shape());
  if (is_floating(l.dtype())) l = cast(l, DType::I64);
  accumulate(argmax(predictions, -1) == cast(l, DType::I64), sample_weight);
}

}  // namespace ejit::metrics
