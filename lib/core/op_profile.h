// Profile events of the eager layer: an op's span (its name, its inputs' shapes, dtypes and
// device, formatted after it ran and only when profiling) and host reads.
#pragma once

#include <exception>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "../support/profiler.h"
#include "ejit/tensor.h"

namespace ejit::detail {

/// The "op" event of one eager op, from construction to destruction.
class OpScope {
 public:
  // `op`: a C string (its length is taken only when profiling) or a string_view. The inputs
  // are taken by reference: nothing is stored when not profiling.
  template <class Name>
  OpScope(const Name& op, const Tensor& a) noexcept : scope_("op", op) {
    if (scope_) [[unlikely]] keep({&a});
  }
  template <class Name>
  OpScope(const Name& op, const Tensor& a, const Tensor& b) noexcept : scope_("op", op) {
    if (scope_) [[unlikely]] keep({&a, &b});
  }
  template <class Name>
  OpScope(const Name& op, const Tensor& a, const Tensor& b, const Tensor& c) noexcept : scope_("op", op) {
    if (scope_) [[unlikely]] keep({&a, &b, &c});
  }
  /// An op over a list of tensors (concat).
  template <class Name>
  OpScope(const Name& op, const std::vector<Tensor>& inputs) noexcept : scope_("op", op) {
    if (scope_) [[unlikely]] {
      keep({});
      list_ = &inputs;
    }
  }
  /// An op without tensor inputs whose shape is not known up front.
  template <class Name>
  explicit OpScope(const Name& op) noexcept : scope_("op", op) {
    if (scope_) [[unlikely]] keep({});
  }
  /// An op that makes a tensor of `shape` from nothing (full, randn...).
  template <class Name>
  OpScope(const Name& op, const Shape& shape) noexcept : scope_("op", op) {
    if (scope_) [[unlikely]] {
      keep({});
      shape_ = &shape;
    }
  }
  ~OpScope() {
    if (scope_) [[unlikely]] describe();
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

 private:
  void keep(std::initializer_list<const Tensor*> inputs) noexcept;
  void describe() noexcept;  // stops the clock, then formats the args

  ProfileScope scope_;
  const Tensor* inputs_[4];
  size_t n_;
  const std::vector<Tensor>* list_;
  const Shape* shape_;
  int exceptions_;  // in flight at the start: more at the end means the op threw
};

/// A host read of t's values (item, to_vector, at, data<T>()): an instant "host_read" event.
void profile_host_read(const Tensor& t, const char* how) noexcept;

}  // namespace ejit::detail
