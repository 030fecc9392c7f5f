// Launch plans of the template kernels (lib/pipeline/GpuKernelTemplates: the block
// reductions' rows, cols and arg kernels, take): arithmetic on concrete input shapes, so
// that a GPU program with dynamic dims plans them per call from the same code its static
// programs are planned by at compile time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "ejit/shape.h"
#include "gpu_plan.h"

namespace ejit::detail {

/// Merged (size, reduced) runs of a reduction's input shape, size-1 dims dropped.
std::vector<std::pair<int64_t, bool>> reduce_runs(const Shape& shape, const std::vector<int64_t>& axes);
/// A contiguous 1-D buffer argument of `n` elements in slot `slot`; an i64 scalar argument.
GpuArg flat_buffer(int slot, int64_t n);
GpuArg index_arg(int64_t v);

/// The launches and temporaries of a block reduction of an input of `shape` over `axes`
/// into `k` (one input, one output; its launches and temp_bytes are appended): each run of
/// reduced dims, last first, by the rows kernel (reduced dims innermost: a block per row,
/// split over several blocks when there are few long rows) or the cols kernel (a thread per
/// output); an index reduction (argmax/argmin, one run of reduced dims) by the arg kernel.
/// `module(rows, first)` gives the PTX module of the rows or cols kernel that reads the
/// input (first) or partials of `acc_bytes` per element (for an index reduction: the arg
/// kernel's), or -1 with `error` set.
bool plan_reduction_launches(const Shape& shape, const std::vector<int64_t>& axes, bool index_reduction, size_t acc_bytes,
                             const std::function<int(bool rows, bool first)>& module, GpuKernels& k, std::string& error);

/// The launch of the take kernel (module 0) gathering `k` indices along `axis` of an input
/// of `shape`, into `out` (two inputs, one output).
void plan_take_launch(const Shape& shape, int axis, int64_t k, GpuKernels& out);

/// A reduction planned per call (a GPU program with dynamic dims) keeps every module its
/// plan may use, in this order: the arg kernel alone for an index reduction; else the rows
/// kernel reading the input, the rows kernel reading partials, then the same two of cols.
inline int any_size_reduction_module(bool index_reduction, bool rows, bool first) {
  return index_reduction ? 0 : (rows ? 0 : 2) + (first ? 0 : 1);
}
inline size_t any_size_reduction_modules(bool index_reduction) { return index_reduction ? 1 : 4; }

}  // namespace ejit::detail
