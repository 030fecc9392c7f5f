// TensorList: an op's operands, held without a heap allocation for up to four of them.
//
// Every reported op (PrimOp) carries its inputs, and a GradientTape keeps a copy of each
// op it records: with std::vector both were a malloc and a free per op, about a fifth of
// the instructions a tape adds to an eager op.
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <utility>
#include <vector>

#include "ejit/tensor.h"

namespace ejit::detail {

class TensorList {
 public:
  static constexpr size_t kInline = 4;

  TensorList() = default;
  TensorList(std::initializer_list<Tensor> list) : TensorList(list.begin(), list.end()) {}
  TensorList(const std::vector<Tensor>& v) : TensorList(v.begin(), v.end()) {}  // NOLINT: implicit
  template <class It> TensorList(It first, It last) {
    const size_t n = static_cast<size_t>(std::distance(first, last));
    if (n > kInline) heap_.reserve(n);
    for (; first != last; ++first) push_back(*first);
  }
  TensorList(const TensorList& o) : TensorList(o.begin(), o.end()) {}
  TensorList(TensorList&& o) noexcept : inline_(std::move(o.inline_)), heap_(std::move(o.heap_)), size_(o.size_) {
    o.size_ = 0;
  }
  TensorList& operator=(TensorList o) noexcept {
    std::swap(inline_, o.inline_);
    std::swap(heap_, o.heap_);
    std::swap(size_, o.size_);
    return *this;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const Tensor* begin() const { return size_ <= kInline ? inline_.data() : heap_.data(); }
  const Tensor* end() const { return begin() + size_; }
  Tensor* begin() { return size_ <= kInline ? inline_.data() : heap_.data(); }
  Tensor* end() { return begin() + size_; }
  const Tensor& operator[](size_t i) const { return begin()[i]; }
  Tensor& operator[](size_t i) { return begin()[i]; }

  void push_back(const Tensor& t) {
    if (size_ < kInline) {
      inline_[size_++] = t;
      return;
    }
    if (size_ == kInline) {  // spill the inline ones to the heap
      heap_.reserve(2 * kInline);
      for (Tensor& x : inline_) heap_.push_back(std::exchange(x, Tensor()));
    }
    heap_.push_back(t);
    ++size_;
  }

  /// For interfaces that take a vector (custom gradients, executables).
  std::vector<Tensor> vec() const { return {begin(), end()}; }

 private:
  std::array<Tensor, kInline> inline_;
  std::vector<Tensor> heap_;
  size_t size_ = 0;
};

}  // namespace ejit::detail
