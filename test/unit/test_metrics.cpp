// Metrics: Mean, Accuracy, SparseCategoricalAccuracy over several updates, weights, reset.
#include <ejit/metrics.h>

#include "test_util.h"

using namespace ejit;
using ejit::test::error_of;

namespace {

double result_of(const metrics::Metric& m) { return m.result().item<double>(); }

}  // namespace

TEST_CASE("Mean accumulates over updates, with optional weights, and resets", "[metrics]") {
  metrics::Mean m;
  CHECK(result_of(m) == 0);  // nothing seen yet
  m.update_state(tensor({1.f, 2.f, 3.f}));
  m.update_state(scalar(4.0));
  CHECK(result_of(m) == Approx(2.5));
  CHECK(m.result().dtype() == DType::F32);
  auto named = m.named_variables();
  REQUIRE(named.size() == 2);
  CHECK(named[0].first == "total");
  CHECK(named[0].second.value().item<double>() == 10);
  CHECK(named[1].first == "count");
  CHECK(named[1].second.value().item<double>() == 4);
  CHECK_FALSE(named[0].second.trainable());
  m.reset_state();
  CHECK(result_of(m) == 0);
  // Weights broadcast against the values: (1*1 + 2*3 + 3*0 + 4*1) / 5.
  m.update_state(tensor({1.f, 2.f, 3.f, 4.f}, {2, 2}), tensor({1.f, 3.f, 0.f, 1.f}, {2, 2}));
  CHECK(result_of(m) == Approx(11.0 / 5));
  m.reset_state();
  m.update_state(tensor({1.f, 2.f, 3.f, 4.f}, {2, 2}), tensor({2.f, 0.f}, {2, 1}));
  CHECK(result_of(m) == Approx(1.5));
}

TEST_CASE("Accuracy counts exact matches", "[metrics]") {
  metrics::Accuracy acc;
  acc.update_state(tensor({1, 2, 3, 4}), tensor({1, 2, 0, 4}));
  CHECK(result_of(acc) == Approx(0.75));
  acc.update_state(tensor({1, 1}), tensor({0, 0}));
  CHECK(result_of(acc) == Approx(0.5));
  CHECK(acc.name() == "accuracy");
  CHECK_THAT(error_of([&] { acc.update_state(tensor({1, 2}), tensor({1, 2, 3})); }),
             Catch::StartsWith("[accuracy] targets of shape (2,) and predictions of shape (3,) differ"));
}

TEST_CASE("SparseCategoricalAccuracy compares argmax with integer labels", "[metrics]") {
  metrics::SparseCategoricalAccuracy acc;
  Tensor logits = tensor({0.1f, 2.f, -1.f,    // 1
                          3.f, 0.f, 0.f,      // 0
                          0.f, 0.5f, 0.7f,    // 2
                          1.f, 1.f, 0.f},     // 0 (first of the tie)
                         {4, 3});
  acc.update_state(tensor({1, 0, 1, 0}), logits);
  CHECK(result_of(acc) == Approx(0.75));
  // Labels shaped (N, 1), as floats; weights.
  acc.reset_state();
  acc.update_state(tensor({1.f, 1.f, 2.f, 2.f}, {4, 1}), logits, tensor({1.f, 1.f, 2.f, 0.f}));
  CHECK(result_of(acc) == Approx(3.0 / 4));
  CHECK_THAT(error_of([&] { acc.update_state(tensor({1, 0}), logits); }),
             Catch::StartsWith("[sparse_categorical_accuracy] labels of shape (2,) do not fit predictions of shape (4,3)"));
}
