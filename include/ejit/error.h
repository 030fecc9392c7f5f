// ejit::Error, the one exception type for user errors.
#pragma once

#include <stdexcept>
#include <string>

namespace ejit {

/// Thrown for every user error (bad shape, dtype, axis, index, file...). The message
/// starts with the op in brackets, e.g. "[matmul] cannot multiply (2,3) by (4,5)".
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ejit
