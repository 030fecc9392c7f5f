// Histograms for TensorBoard: uniform buckets between the smallest and the largest value.
#pragma once

#include <span>
#include <vector>

namespace ejit::detail {

/// What a HistogramProto holds: statistics, then bucket i counts the values from limits[i-1]
/// (min for i = 0) to limits[i]; the last limit is max.
struct Histogram {
  double min = 0, max = 0, num = 0, sum = 0, sum_squares = 0;
  std::vector<double> limits, counts;
};

/// `buckets` buckets of equal width between min and max of `values` (non-empty, all finite:
/// the caller checks). A value on a bucket boundary counts in the bucket above it, except max,
/// which counts in the last bucket (NumPy's convention). When every value is the same, one
/// bucket whose limit is that value holds them all.
Histogram make_histogram(std::span<const double> values, int buckets);

}  // namespace ejit::detail
