// Shape: the dimensions of a tensor, stored inline (no heap) up to kMaxRank.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

namespace ejit {

/// Highest rank a tensor may have.
inline constexpr int kMaxRank = 16;

/// Most elements a tensor may have, counting only its non-zero dims (so a zero-size tensor's
/// strides fit too); byte sizes and strides then fit in int64 with room to spare.
inline constexpr int64_t kMaxElements = int64_t{1} << 50;

/// Dimensions of a tensor, outermost first. Rank 0 is a scalar; zero-size dims are allowed.
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : Shape(std::span<const int64_t>(dims.begin(), dims.size())) {}
  Shape(const std::vector<int64_t>& dims) : Shape(std::span<const int64_t>(dims)) {}
  explicit Shape(std::span<const int64_t> dims);

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[i]; }
  int64_t& operator[](int i) { return dims_[i]; }
  const int64_t* begin() const { return dims_; }
  const int64_t* end() const { return dims_ + rank_; }
  const int64_t* data() const { return dims_; }

  /// Product of the dims (1 for rank 0); throws ejit::Error "[shape] ..." when it overflows int64.
  int64_t numel() const;
  /// Appends a dim; throws ejit::Error past kMaxRank.
  void push_back(int64_t d);
  std::vector<int64_t> vec() const { return {begin(), end()}; }
  /// "(2,3)"; "(4,)" for rank 1 and "()" for rank 0, as in Python.
  std::string str() const;

  friend bool operator==(const Shape& a, const Shape& b);

 private:
  int64_t dims_[kMaxRank] = {};
  int rank_ = 0;
};

/// Row-major strides in elements.
std::vector<int64_t> strides_of(const Shape& s);

/// Normalizes a possibly negative axis for a tensor of the given rank; throws naming `op`.
int normalize_axis(const char* op, int64_t axis, int rank, const Shape& shape);

}  // namespace ejit
