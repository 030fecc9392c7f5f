#include "gpu_kernels.h"

#include "../../pipeline/Pipeline.h"
#include "../common/kernel_cache.h"

namespace ejit::detail {
namespace {

/// A template's PTX: in memory, on disk, or lowered now.
std::string template_ptx(const std::string& text, const std::string& chip, std::string& error,
                         const std::function<bool(mlir::ModuleOp, std::string&)>& rewrite = {},
                         const std::string& variant = "") {
  std::optional<std::string> ptx =
      lookup_or_build(KernelKey{"gpu-template", text + variant, chip, 0}, /*keep_in_memory=*/true,
                      [&]() -> std::optional<std::string> {
                        std::string made = template_to_ptx(text, chip, error, rewrite);
                        return made.empty() ? std::nullopt : std::optional<std::string>(made);
                      });
  return ptx.value_or("");
}

}  // namespace

bool compile_gpu_kernels(const Trace& trace, const std::string& chip, GpuKernels& out, std::string& error,
                         std::array<std::string, kNumStages>* ir) {
  // IR is only made by compiling: a call that asks for it (or an EJIT_DUMP) skips the cache.
  if (ir || dump_requested(Stage::Ejit)) return lower_trace_to_gpu(trace, chip, out, error, ir);
  GpuKernels built;
  CacheHit hit = CacheHit::Built;
  std::optional<std::string> plan =
      lookup_or_build(KernelKey{"gpu-plan", module_text(trace), chip, 0}, /*keep_in_memory=*/false,
                      [&]() -> std::optional<std::string> {
                        if (!lower_trace_to_gpu(trace, chip, built, error)) return std::nullopt;
                        return serialize(built);
                      }, &hit);
  if (!plan) return false;
  if (hit == CacheHit::Built) {
    out = std::move(built);
    return true;
  }
  GpuKernels cached;
  if (!deserialize(*plan, cached)) return lower_trace_to_gpu(trace, chip, out, error);  // a foreign entry
  out = std::move(cached);
  out.from_disk_cache = hit == CacheHit::Disk;
  return true;
}

std::string reduction_ptx(bool rows, ReduceOp op, DType input, DType dtype, const std::string& chip,
                          std::string& error) {
  if (kind(op) == ReduceKind::Index) return error = "[gpu] argmax/argmin have their own template", "";
  return template_ptx(reduction_text(rows, op, input, dtype), chip, error);
}

std::string arg_reduction_ptx(bool max, DType input, const std::string& chip, std::string& error) {
  return template_ptx(arg_reduction_text(max, input), chip, error);
}

std::string take_ptx(DType dtype, DType index_dtype, const std::string& chip, std::string& error) {
  return template_ptx(take_text(dtype, index_dtype), chip, error);
}

std::string row_kernel_ptx(RowKernel kind, DType dtype, bool scale, bool shift, const std::string& chip, std::string& error) {
  if (dtype != DType::F32 && dtype != DType::F64) return error = "[gpu] row kernels take f32 and f64", "";
  return template_ptx(row_kernel_text(kind, dtype, scale, shift), chip, error);
}

std::string elementwise_ptx(const ElementwiseSpec& spec, const std::string& chip, std::string& error) {
  auto body = [&](mlir::ModuleOp m, std::string& why) { return build_elementwise_body(m, spec, why); };
  const std::string variant = spec.key();  // the text leaves the body out: the key says which op it is
  return template_ptx(elementwise_text(spec), chip, error, body, variant);
}

}  // namespace ejit::detail
