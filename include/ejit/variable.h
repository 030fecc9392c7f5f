// Variable: a named, mutable tensor holder, shared by reference (copies are the same variable).
#pragma once

#include <memory>
#include <string>

#include "ejit/tensor.h"

namespace ejit {

class Variable {
 public:
  /// An undefined variable (value() throws).
  Variable() = default;
  /// Holds `initial`; trainable variables are watched by every active GradientTape when read.
  explicit Variable(Tensor initial, std::string name = "", bool trainable = true);

  /// The current value. Reading it tells active GradientTapes (which watch trainable variables).
  Tensor value() const;
  operator Tensor() const { return value(); }

  /// Replaces the value; the shape and dtype must stay the same.
  void assign(const Tensor& v);
  void assign_add(const Tensor& delta);
  void assign_sub(const Tensor& delta);

  bool defined() const { return state_ != nullptr; }
  const std::string& name() const;
  bool trainable() const;
  const Shape& shape() const;
  DType dtype() const;
  /// True when both handles are the same variable.
  bool same(const Variable& o) const { return state_ == o.state_; }

 private:
  struct State {
    Tensor value;
    std::string name;
    bool trainable;
  };
  const State& state(const char* op) const;
  std::shared_ptr<State> state_;
};

}  // namespace ejit
