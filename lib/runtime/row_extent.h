// How a CPU kernel's row extent is written: its outer loop's trip count, 0 when the kernel
// runs whole, or (negative) the size of one dim of one of its buffers, known at run time.
#pragma once

#include <cstdint>

namespace ejit::detail {

/// A row extent known only at run time: the size of dim `dim` of the kernel's buffer
/// `buffer` (its memref arguments in order: inputs, then outputs).
constexpr int64_t kMaxExtentDims = 64;
constexpr int64_t dynamic_extent(int64_t buffer, int64_t dim) { return -1 - (buffer * kMaxExtentDims + dim); }
struct ExtentSource {
  int64_t buffer, dim;
};
constexpr ExtentSource extent_source(int64_t code) {
  return {(-1 - code) / kMaxExtentDims, (-1 - code) % kMaxExtentDims};
}

}  // namespace ejit::detail
