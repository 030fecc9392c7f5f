// Trackable: an object that owns variables under path names (modules, optimizers), so that
// checkpoints can match values by object path.
#pragma once
#include <string>
#include <utility>
#include <vector>
#include "ejit/variable.h"
namespace ejit {
class Trackable {
 public:
  virtual ~Trackable() = default;
  /// Every variable this object owns, directly or through children, by path relative to it
  /// ("encoder/dense_1/kernel"), in a stable order.
  virtual std::vector<std::pair<std::string, Variable>> named_variables() const = 0;
};
}  // namespace ejit
