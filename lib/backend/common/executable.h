// What a back end's compiler returns: an executable that runs a trace's computation on its
// inputs (lib/runtime/executable.h), the IR of each stage when asked, and how long it took.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "../../runtime/executable.h"
#include "ejit/stage.h"

namespace ejit::detail {

struct CompileResult {
  std::unique_ptr<Executable> executable;  // null when compilation failed
  std::string error;                        // why, naming the op
  std::array<std::string, kNumStages> ir;   // per Stage, when requested
  double milliseconds = 0;
  std::array<double, kNumStages> stage_milliseconds{};  // per Stage; see Compiled::milliseconds(Stage)
  bool from_disk_cache = false;             // loaded from the on-disk cache, not compiled
  bool fast_code = false;                   // a first tier's code (CompileOptions::fast_codegen), not full
};

/// n results that failed, each with `error`.
inline std::vector<CompileResult> failed_results(size_t n, const std::string& error) {
  std::vector<CompileResult> results(n);
  for (CompileResult& r : results) r.error = error;
  return results;
}

}  // namespace ejit::detail
