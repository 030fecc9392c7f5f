// A trace compiled for a CUDA device: a sequence of steps over the trace's values —
// fused kernels (GpuPipeline), block reductions, cuBLAS GEMMs, views, and the few ops with
// no GPU lowering yet, which run on the host — and the runner behind eager GPU ops.
#pragma once

#include <string>
#include <vector>

#include "../common/executable.h"
#include "ejit/trace.h"

namespace ejit::detail {

/// The chip to compile for: $EJIT_CUDA_ARCH, else the device's own when one answers, else sm_90.
std::string target_chip();

/// Compiles `trace` for the GPU (PTX for $EJIT_CUDA_ARCH, default sm_90, or the device's
/// own architecture when one answers). Needs no GPU: the executable loads its kernels on
/// its first run, with inputs on a CUDA device. Keeps per-stage IR when keep_ir.
CompileResult compile_for_gpu(const Trace& trace, bool keep_ir);

/// Every PTX module the GPU program of `trace` uses (tests assemble each with ptxas), or
/// an empty list and `error`.
std::vector<std::string> gpu_program_ptx(const Trace& trace, std::string& error);

/// One launch of a GPU program as the executor will make it: the PTX module holding the
/// kernel, its name, and the byte size of each parameter value it passes (8 for pointers,
/// offsets, sizes, strides and i64/f64 scalars; 4 for i32/f32). Tests compare this with
/// the kernel's .param list in the PTX.
struct GpuLaunchInfo {
  std::string ptx;
  std::string function;
  std::vector<int> param_bytes;
};
std::vector<GpuLaunchInfo> gpu_program_launches(const Trace& trace, std::string& error);
/// What of the program runs on the host (ops with no GPU kernel): "" when nothing does.
std::string gpu_program_host_steps(const Trace& trace);

struct ExportManifest;
/// For an export: each trace's GPU program (PTX for target_chip()) as the manifest's entries;
/// sets its chip. "" on success, else why not.
std::string compile_gpu_export(const std::vector<const Trace*>& traces, ExportManifest& manifest);

/// The ptx stage's listing: each step of the GPU program and its PTX.
std::string gpu_ptx_listing(const Trace& trace);

}  // namespace ejit::detail
