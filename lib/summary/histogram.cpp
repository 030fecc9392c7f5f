// Histograms for TensorBoard: statistics and uniform buckets.
#include "histogram.h"

#include <algorithm>
#include <cmath>

namespace ejit::detail {

Histogram make_histogram(std::span<const double> values, int buckets) {
  Histogram h;
  if (values.empty() || buckets < 1) return h;
  auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  h.min = *lo;
  h.max = *hi;
  h.num = static_cast<double>(values.size());
  for (double v : values) {
    h.sum += v;
    h.sum_squares += v * v;
  }
  const double span = h.max - h.min;  // infinite when the range is wider than the largest double
  const double width = std::isfinite(span) ? span / buckets : h.max / buckets - h.min / buckets;
  if (!(width > 0)) buckets = 1;       // all values equal (or closer than a subnormal)
  h.limits.resize(buckets);
  for (int i = 0; i + 1 < buckets; ++i) {
    const double f = static_cast<double>(i + 1) / buckets;
    h.limits[i] = std::isfinite(span) ? h.min + f * span : h.min * (1 - f) + h.max * f;
  }
  h.limits.back() = h.max;
  h.counts.assign(buckets, 0.0);
  for (double v : values) {
    const double t = width > 0 ? (v - h.min) / width : 0;  // >= 0, maybe inf
    int i = t < buckets ? static_cast<int>(t) : buckets - 1;
    // Agree with the limits as written, whatever the rounding of the division above.
    while (i > 0 && v < h.limits[i - 1]) --i;
    while (i + 1 < buckets && v >= h.limits[i]) ++i;
    h.counts[i] += 1;
  }
  return h;
}

}  // namespace ejit::detail
