// The GPU back end's kernels through the one kernel cache: fused groups of a trace (their
// plan and PTX) and the kernel templates, each looked up by KernelKey before it is built.
#pragma once

#include <array>
#include <string>

#include "../../pipeline/GpuKernelTemplates.h"
#include "../../pipeline/GpuPipeline.h"

namespace ejit::detail {

/// lower_trace_to_gpu, or the plan from the disk cache when no IR is asked for.
bool compile_gpu_kernels(const Trace& trace, const std::string& chip, GpuKernels& out, std::string& error,
                         std::array<std::string, kNumStages>* ir = nullptr);

/// The PTX of the kernel templates (GpuKernelTemplates.h) for `chip`, cached in memory and on
/// disk; "" and `error` on failure.
std::string reduction_ptx(bool rows, ReduceOp op, DType input, DType dtype, const std::string& chip, std::string& error);
std::string arg_reduction_ptx(bool max, DType input, const std::string& chip, std::string& error);
std::string take_ptx(DType dtype, DType index_dtype, const std::string& chip, std::string& error);
std::string row_kernel_ptx(RowKernel kind, DType dtype, bool scale, bool shift, const std::string& chip, std::string& error);
std::string elementwise_ptx(const ElementwiseSpec& spec, const std::string& chip, std::string& error);

}  // namespace ejit::detail
