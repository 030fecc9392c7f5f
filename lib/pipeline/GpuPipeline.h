// The GPU half of the pipeline: a trace (or a kernel template) to PTX kernels plus the
// host-side launch plan that runs them.
//
// The fused, bufferized loops of the shared front half (Pipeline.h) are turned into GPU
// kernels: every top-level parallel loop nest is collapsed to one dimension and tiled by
// 256 (blocks of 256 threads), host ops that are not loops (a rank-0 store, a sequential
// loop) run as a one-thread kernel, and MLIR's GPU passes outline each loop into a kernel
// that the NVVM pipeline and LLVM's NVPTX back end turn into PTX. The host function that
// is left is read into a plan — which kernel, which grid, which buffers — instead of
// being compiled: shapes are static, so every launch is known at compile time.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ejit/stage.h"
#include "../runtime/gpu_plan.h"
#include "ejit/op_kind.h"
#include "ejit/trace.h"

namespace mlir {
class ModuleOp;
class OpPassManager;
}  // namespace mlir

namespace ejit::detail {

/// $EJIT_CUDA_ARCH, else "sm_90".
std::string default_cuda_arch();

/// The GPU's stages after the shared ones (Pipeline.h): the end of the loops stage (copies as
/// loops, each loop nest collapsed to one dimension and tiled by 256 threads, host work between
/// kernels as one-thread kernels), the gpu stage (outlined kernels) and the ptx stage.
void add_gpu_loop_passes(mlir::OpPassManager& pm);
void add_gpu_kernel_passes(mlir::OpPassManager& pm);
void add_gpu_ptx_passes(mlir::OpPassManager& pm, const std::string& chip);

/// Lowers a trace whose nodes all have a GPU lowering to kernels and their launch plan (no
/// caching: see the GPU back end's compile_gpu_kernels). Keeps the IR of the stages up to
/// loops, the GPU form (Stage::Gpu: outlined kernels and host launches) and the PTX in `ir`
/// when it is given. On failure returns false with `error` naming the reason.
bool lower_trace_to_gpu(const Trace& trace, const std::string& chip, GpuKernels& out, std::string& error,
                        std::array<std::string, kNumStages>* ir = nullptr);

/// The PTX of a kernel template's text (one gpu.module) for `chip`, after `rewrite` (when
/// given) has filled in what text cannot say; "" and `error` on failure.
std::string template_to_ptx(const std::string& text, const std::string& chip, std::string& error,
                            const std::function<bool(mlir::ModuleOp, std::string&)>& rewrite = {});

}  // namespace ejit::detail
