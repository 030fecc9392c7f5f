// What a back end's compiler returns: an executable that runs a trace's computation on its
// inputs, the IR of each stage when asked, and how long it took.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "ejit/stage.h"
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

struct CompileResult {
  std::unique_ptr<Executable> executable;  // null when compilation failed
  std::string error;                        // why, naming the op
  std::array<std::string, kNumStages> ir;   // per Stage, when requested
  double milliseconds = 0;
  std::array<double, kNumStages> stage_milliseconds{};  // per Stage; see Compiled::milliseconds(Stage)
  bool from_disk_cache = false;             // loaded from the on-disk cache, not compiled
};

}  // namespace ejit::detail
