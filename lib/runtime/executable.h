// A compiled trace as something to run: the interface every back end's executables (and
// exported libraries loaded without a compiler) implement.
#pragma once

#include <cstddef>
#include <vector>

#include "ejit/tensor.h"

namespace ejit::detail {

/// A compiled trace: call run() with the trace's inputs; outputs are freshly allocated.
class Executable {
 public:
  virtual ~Executable() = default;
  virtual std::vector<Tensor> run(const std::vector<Tensor>& inputs) const = 0;
  /// Bytes of machine code (or GPU program text) this executable keeps alive; kernels that
  /// share one module each count their share.
  virtual size_t code_bytes() const = 0;
};

}  // namespace ejit::detail
