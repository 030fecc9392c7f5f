// Softmax and layer norm over a tensor's last axis, found in a trace and run by one GPU
// kernel each (a block per row: GpuKernelTemplates.h, row_kernel_text) instead of two block
// reductions and two fused kernels.
#pragma once

#include <string>
#include <vector>

#include "../../pipeline/GpuKernelTemplates.h"
#include "../../runtime/gpu_plan.h"
#include "../../trace/subtrace.h"
#include "ejit/trace.h"

namespace ejit::detail {

/// One softmax or layer norm of a trace, as its ops spell it (see row_kernel_text).
struct RowKernelMatch {
  RowKernel kind = RowKernel::Softmax;
  DType dtype = DType::F32;  // the input's and output's
  std::vector<int> nodes;  // the trace nodes it computes, in trace order
  int input = -1, output = -1;
  int scale = -1, shift = -1;  // layer norm's gamma and beta (values of the row's shape), or -1
  Shape shape;                 // the input's (its leading dims may be dynamic; its last is not)
  int64_t rows = 0, len = 0;   // rows: -1 when a leading dim is dynamic (counted per call)
  double n1 = 0, n2 = 0, eps = 0;  // layer norm: the divisors of the mean and the variance, and eps
};

/// The softmaxes and layer norms of `t` that one kernel can compute: over the static last
/// axis of an f32 or f64 value whose rows fit the caches (see kMaxRowBytes), with
/// no intermediate value read outside them or returned. No node is in two matches. Not
/// found: a training step's (its backward pass reads the max, the exp or the sums).
std::vector<RowKernelMatch> match_row_kernels(const Trace& t, const TraceUses& uses);

/// The values a match's step reads: its input, then gamma and beta when it has them.
std::vector<int> row_kernel_inputs(const RowKernelMatch& m);

/// The kernel of a match and its launch (a block per row) for a program's step reading
/// row_kernel_inputs(m) (slots 0...) and writing its output (the next slot), its row count computed per call
/// (index ops) when a leading dim is dynamic; false and `error` when its PTX cannot be made.
bool plan_row_kernel(const RowKernelMatch& m, const std::string& chip, GpuKernels& k, std::string& error);

}  // namespace ejit::detail
