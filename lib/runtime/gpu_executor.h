// The executor of a GPU program: its steps run in order on a device's stream, each value
// released after its last use. Built by the GPU back end
// (lib/backend/gpu/gpu_program.cpp: partition and plan), or from an exported library.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../cuda/runtime.h"
#include "../trace/dynamic_dims.h"
#include "../trace/node_eval.h"
#include "executable.h"
#include "gpu_plan.h"
#include "step_program.h"
#include "ejit/trace.h"

namespace ejit::detail {

/// One step of a GPU program.
struct GpuStep {
  enum class Kind { Kernels, Reduce, Take, Gemm, Host, View } kind = Kind::Kernels;
  std::vector<int> nodes;            // trace nodes the step computes
  std::vector<int> inputs, outputs;  // Kernels and Reduce: trace values bound to the plan's slots
  GpuKernels kernels;                // Kernels and Reduce
  std::string what;                  // for the ptx listing and the log
};

/// Steps that launch kernels of their own (GpuKernels): Kernels, Reduce and Take.
inline bool runs_kernels(GpuStep::Kind k) {
  return k == GpuStep::Kind::Kernels || k == GpuStep::Kind::Reduce || k == GpuStep::Kind::Take;
}

class GpuProgram final : public Executable {
 public:
  GpuProgram(Trace trace, std::vector<GpuStep> steps);
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const override;
  /// The PTX text it keeps (loaded modules take about as much on each device used).
  size_t code_bytes() const override;
  const std::vector<GpuStep>& steps() const { return steps_; }
  const Trace& trace() const { return trace_; }

 private:
  struct Loaded {
    std::vector<std::unique_ptr<cuda::Module>> modules;
    std::vector<std::vector<cuda::CUfunction>> functions;  // per step, per launch
    std::vector<std::vector<cuda::Module*>> step_modules;  // per step, its PTX modules
    std::vector<std::pair<int, Tensor>> constants;          // value id, device copy
  };
  std::vector<int> step_inputs(const GpuStep& s) const;
  /// Loads the PTX modules on the device and copies the constants there, once per device.
  const Loaded& load(int device) const;
  /// `sizes`: the dynamic dims' sizes for this call (empty when the trace has none).
  void run_step(const GpuStep& s, size_t step, const Loaded& loaded, Device device, std::vector<Tensor>& v,
                NodeEvaluator& host, const std::vector<int64_t>& sizes) const;
  /// Runs plan `k` (the step's own, or one made for this call) with the functions `fns`.
  void run_kernels(const GpuStep& s, const GpuKernels& k, const std::vector<cuda::CUfunction>& fns, Device device,
                   std::vector<Tensor>& v, const std::vector<int64_t>& sizes) const;
  /// A block reduction of a program with dynamic dims: planned for this call's input shape.
  void run_reduce_any_size(const GpuStep& s, const std::vector<cuda::Module*>& modules, Device device,
                           std::vector<Tensor>& v, const std::vector<int64_t>& sizes) const;
  void run_gemm(const TraceNode& n, Device device, std::vector<Tensor>& v, const std::vector<int64_t>& sizes) const;
  /// Value `id`'s type with this call's sizes.
  Shape shape_of(int id, const std::vector<int64_t>& sizes) const;

  Trace trace_;
  std::vector<SymbolSource> symbols_;  // where each dynamic dim's size is read
  std::vector<GpuStep> steps_;
  std::vector<std::vector<int>> release_;
  mutable std::mutex mu_;
  mutable std::map<int, std::unique_ptr<Loaded>> loaded_;
};

}  // namespace ejit::detail
