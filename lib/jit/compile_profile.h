// The profile of a compile: one "compile" event per compile_trace / compile_traces call
// (named after the jitted function when jit() compiles), with the stages the compiler timed
// as "stage" events laid end to end inside it (their durations are measured; their starts
// are placed from the compile's start).
#pragma once

#include <array>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../backend/common/executable.h"
#include "../support/profiler.h"
#include "ejit/compile.h"
#include "ejit/format.h"
#include "ejit/trace.h"

namespace ejit::detail {

class CompileEvent {
 public:
  CompileEvent(const std::vector<const Trace*>& traces, Target target) noexcept
      : scope_("compile", [] {
          const std::string* label = ProfileLabel::current();
          return label ? "compile " + *label : std::string("compile");
        }) {
    if (!scope_) [[likely]] return;
    start_ = profile_ticks();
    size_t ops = 0;
    for (const Trace* t : traces) ops += t->nodes.size();
    scope_.argf("target", "{}", target == Target::CUDA ? "cuda" : "cpu");
    scope_.argf("ops", "{}", ops);
    if (traces.size() > 1) scope_.argf("segments", "{}", traces.size());
    if (!traces.empty()) {
      const Trace& t = *traces[0];
      std::string inputs;
      for (size_t i = 0; i < t.inputs.size() && i < 24; ++i) {
        const ValueType& v = t.values[t.inputs[i]];
        inputs += fmt::format("{}{}{}", i ? " " : "", v.dtype, v.shape);
      }
      if (t.inputs.size() > 24) inputs += fmt::format(" +{}", t.inputs.size() - 24);
      scope_.arg("inputs", inputs);
    }
  }

  /// The result: loaded from the disk cache or compiled (and its stages), or why not.
  void done(const CompileResult& r) noexcept {
    if (scope_) [[unlikely]] record(r.stage_milliseconds, r.executable != nullptr, r.from_disk_cache, r.error);
  }
  /// The results of compile_traces (one module: their stage times add up).
  void done(const std::vector<CompileResult>& results) noexcept {
    if (!scope_) [[likely]] return;
    std::array<double, kNumStages> ms{};
    bool ok = !results.empty(), disk = !results.empty();
    for (const CompileResult& r : results) {
      for (int s = 0; s < kNumStages; ++s) ms[s] += r.stage_milliseconds[s];
      ok &= r.executable != nullptr;
      disk &= r.from_disk_cache;
    }
    record(ms, ok, disk, results.empty() ? std::string() : results[0].error);
  }

 private:
  void record(const std::array<double, kNumStages>& ms, bool ok, bool disk, const std::string& error) noexcept {
    try {
      scope_.arg("result", !ok ? "failed: " + error.substr(0, 300) : disk ? "loaded from the disk cache" : "compiled");
    } catch (...) {
    }
    int64_t at = start_;
    for (int s = 0; s < kNumStages; ++s) {
      if (ms[s] <= 0) continue;
      const int64_t ticks = profile_ns_to_ticks(static_cast<int64_t>(ms[s] * 1e6));
      // The CPU compiler counts LLVM's code generation and the kernels' linking as Asm.
      profile_span("stage", static_cast<Stage>(s) == Stage::Asm ? "codegen" : stage_name(static_cast<Stage>(s)), at, ticks);
      at += ticks;
    }
  }

  ProfileScope scope_;
  int64_t start_ = 0;  // profile_ticks()
};

/// compile() (returning a CompileResult or a vector of them) inside a CompileEvent.
template <class F>
auto compile_profiled(const std::vector<const Trace*>& traces, Target target, F&& compile) {
  CompileEvent event(traces, target);
  auto result = compile();
  event.done(result);
  return result;
}

}  // namespace ejit::detail
