// Metrics as objects (Mean, Accuracy, SparseCategoricalAccuracy): update_state() accumulates
// into Variables with ejit ops (so it also runs inside a jitted step), result() reads them.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ejit/tensor.h"
#include "ejit/trackable.h"
#include "ejit/variable.h"

namespace ejit::metrics {

/// A weighted mean accumulated over calls: state "total" and "count" (f64 scalar variables).
class Metric : public Trackable {
 public:
  explicit Metric(std::string name);
  ~Metric() override = default;
  Metric(const Metric&) = delete;
  Metric& operator=(const Metric&) = delete;

  /// total / count as an f32 scalar (0 before any update).
  Tensor result() const;
  /// Back to the state before any update.
  void reset_state();
  const std::string& name() const { return name_; }
  std::vector<std::pair<std::string, Variable>> named_variables() const override;

 protected:
  /// Adds sum(values * weight) to total and sum(weight) (or the element count) to count.
  void accumulate(const Tensor& values, const Tensor& sample_weight);

 private:
  std::string name_;
  Variable total_, count_;
};

/// The mean of every value seen.
class Mean : public Metric {
 public:
  explicit Mean(std::string name = "mean") : Metric(std::move(name)) {}
  /// sample_weight (optional) broadcasts against values.
  void update_state(const Tensor& values, const Tensor& sample_weight = {});
};

/// The fraction of predictions equal to the targets (same shape).
class Accuracy : public Metric {
 public:
  explicit Accuracy(std::string name = "accuracy") : Metric(std::move(name)) {}
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = {});
};

/// The fraction of rows whose largest prediction is at the integer label: labels (...) or
/// (..., 1), predictions (..., classes) as logits or probabilities.
class SparseCategoricalAccuracy : public Metric {
 public:
  explicit SparseCategoricalAccuracy(std::string name = "sparse_categorical_accuracy") : Metric(std::move(name)) {}
  void update_state(const Tensor& labels, const Tensor& predictions, const Tensor& sample_weight = {});
};

}  // namespace ejit::metrics
