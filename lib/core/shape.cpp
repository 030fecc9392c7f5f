// Shape construction, printing and axis helpers.
#include "ejit/shape.h"

#include "../support/check.h"

namespace ejit {

Shape::Shape(std::span<const int64_t> dims) {
  if (dims.size() > static_cast<size_t>(kMaxRank))
    fail("shape", "rank {} exceeds the maximum rank {}", dims.size(), kMaxRank);
  for (int64_t d : dims) dims_[rank_++] = d;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i)
    if (__builtin_mul_overflow(n, dims_[i], &n)) fail("shape", "the element count of shape {} overflows int64", *this);
  return n;
}

void Shape::push_back(int64_t d) {
  if (rank_ == kMaxRank) fail("shape", "rank {} exceeds the maximum rank {}", rank_ + 1, kMaxRank);
  dims_[rank_++] = d;
}

std::string Shape::str() const {
  std::string s = "(";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ',';
    s += std::to_string(dims_[i]);
  }
  return s + (rank_ == 1 ? ",)" : ")");
}

bool operator==(const Shape& a, const Shape& b) {
  if (a.rank_ != b.rank_) return false;
  for (int i = 0; i < a.rank_; ++i)
    if (a.dims_[i] != b.dims_[i]) return false;
  return true;
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.rank());
  int64_t acc = 1;
  for (int i = s.rank() - 1; i >= 0; --i) st[i] = acc, acc *= s[i];
  return st;
}

int normalize_axis(const char* op, int64_t axis, int rank, const Shape& shape) {
  if (axis < -rank || axis >= rank)
    fail(op, "axis {} is out of range for shape {} (rank {})", axis, shape, rank);
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

}  // namespace ejit
