#include "packed_kernel.h"

#include <algorithm>
#include <optional>

#include "../core/allocator.h"
#include "../core/parallel.h"
#include "../interp/dispatch.h"
#include "../support/check.h"
#include "../support/profiler.h"
#include "../trace/dynamic_dims.h"
#include "../trace/subtrace.h"
#include "profile_names.h"
#include "row_extent.h"

namespace ejit::detail {

PackedKernel::PackedKernel(std::shared_ptr<const KernelCode> code, PackedFn fn, const Trace& trace, int64_t extent)
    : code_(std::move(code)), symbols_(symbol_sources(trace)), fn_(fn), extent_(extent),
      profile_name_(kernel_profile_name(trace)) {
  for (int o : trace.outputs) outs_.push_back(trace.values[o]);
  const std::vector<int> producer = producers(trace);
  for (const TraceNode& n : trace.nodes) {
    if (n.kind != NodeKind::Take && n.kind != NodeKind::Gather) continue;
    const char* op = n.kind == NodeKind::Take ? "take" : "gather";
    int source = -1;
    switch (index_origin(trace, producer, n, &source)) {
      case IndexOrigin::Constant: break;  // checked already, and constant
      case IndexOrigin::ConstantPerCall:  // into a dynamic dim: before each run, for its size
        index_checks_.push_back({0, false, op, static_cast<int>(n.ints.at(0)), trace.values[n.inputs[0]].shape,
                                 trace.nodes[producer.at(static_cast<size_t>(source))].constant});
        break;
      case IndexOrigin::Input: {
        const auto in = std::find(trace.inputs.begin(), trace.inputs.end(), source);
        index_checks_.push_back({static_cast<size_t>(in - trace.inputs.begin()), false, op,
                                 static_cast<int>(n.ints.at(0)), trace.values[n.inputs[0]].shape, Tensor()});
        break;
      }
      case IndexOrigin::Unchecked: {  // computed here: checked in the output they go to
        const auto out = std::find(trace.outputs.begin(), trace.outputs.end(), source);
        const int p = producer.at(static_cast<size_t>(source));
        const Shape& x = trace.values[n.inputs[0]].shape;
        const int axis = static_cast<int>(n.ints.at(0));
        // cpu_steps.cpp's partition never makes a kernel of other indices; one from a file might
        if (out == trace.outputs.end() || p < 0 || trace.nodes[p].kind == NodeKind::Constant || axis < 0 ||
            axis >= x.rank() || x[axis] <= 0)
          unchecked_ = op;
        else
          index_checks_.push_back({static_cast<size_t>(out - trace.outputs.begin()), true, op, axis, x, Tensor()});
        break;
      }
    }
  }
}

namespace {

/// The first index out of [-n, n), if any.
template <class T> std::optional<int64_t> first_out_of_range(const Tensor& indices, int64_t n) {
  const T* p = static_cast<const T*>(indices.raw_data());
  for (int64_t k = 0, count = indices.numel(); k < count; ++k)
    if (p[k] < -n || p[k] >= n) return static_cast<int64_t>(p[k]);
  return std::nullopt;
}

std::optional<int64_t> bad_index(const Tensor& indices, const char* op, int64_t n) {
  if (indices.dtype() == DType::I32) return first_out_of_range<int32_t>(indices, n);
  if (indices.dtype() == DType::I64) return first_out_of_range<int64_t>(indices, n);
  fail(op, "indices must be i32 or i64, got {} (shape {})", indices.dtype(), indices.shape());
}

/// The interpreter's check of take's and gather's indices (lib/interp/indexing.cpp).
void check_indices(const Tensor& indices, const char* op, int axis, const Shape& x) {
  if (std::optional<int64_t> i = bad_index(indices, op, x[axis]))
    fail_index_out_of_range(op, *i, axis, x);
}

}  // namespace

std::vector<Tensor> PackedKernel::run(const std::vector<Tensor>& inputs) const {
  ProfileScope prof("kernel", profile_name_);
  for (size_t i = 0; i < inputs.size(); ++i)  // host code must never see device pointers
    if (!inputs[i].device().is_cpu())
      fail("jit", "a CPU kernel got input {} of shape {} on {}: CPU kernels take CPU tensors", i, inputs[i].shape(),
           inputs[i].device().str());
  const std::vector<int64_t> sizes = symbol_sizes(symbols_, inputs);  // of dynamic dims
  if (unchecked_) fail("jit", "a compiled kernel's {} reads indices nothing checks", unchecked_);
  // Indices given to the kernel are checked before it runs. When some are bad and a take
  // or gather before them (in trace order) reads indices the kernel computes, the
  // interpreter would have failed on those first if they are bad too: the kernel runs (its
  // code clamps indices; not when a dim indexed is empty), and every check runs after it,
  // in order (checked_after).
  bool check_all_after = false;
  for (size_t i = 0; i < index_checks_.size() && !check_all_after; ++i) {
    const IndexCheck& c = index_checks_[i];
    if (c.after) continue;
    const Shape x = concrete(c.x, sizes);
    if (!bad_index(c.indices(inputs, {}), c.op, x[c.axis])) continue;
    const bool computed_before = std::any_of(index_checks_.begin(), index_checks_.begin() + static_cast<std::ptrdiff_t>(i),
                                             [](const IndexCheck& e) { return e.after; });
    const bool none_empty = std::all_of(index_checks_.begin(), index_checks_.end(),
                                        [&](const IndexCheck& e) { return concrete(e.x, sizes)[e.axis] > 0; });
    if (!computed_before || !none_empty) check_indices(c.indices(inputs, {}), c.op, c.axis, x);  // fails
    check_all_after = true;
  }
  std::vector<Tensor> outputs;
  for (const ValueType& v : outs_) {
    outputs.push_back(Tensor::empty(concrete(v.shape, sizes), v.dtype, Device::cpu()));
    // Kernels may promise LLVM this of large outputs (pipeline/StreamingStores.h).
    if (reinterpret_cast<uintptr_t>(outputs.back().raw_data()) % kCpuBlockAlignment != 0)
      fail("jit", "a kernel's output buffer is not {}-byte aligned", kCpuBlockAlignment);
  }
  std::vector<int64_t> fields = {0, 0};  // lo, hi, then each memref's fields (memref_fields)
  auto fill = [&](const Tensor& t) {
    auto ptr = reinterpret_cast<int64_t>(t.raw_data());
    fields.insert(fields.end(), {ptr, ptr, 0});
    for (int64_t s : t.shape()) fields.push_back(s);
    for (int64_t s : strides_of(t.shape())) fields.push_back(s);
  };
  for (const Tensor& t : inputs) fill(t);
  for (const Tensor& t : outputs) fill(t);
  std::vector<void*> args(fields.size());
  for (size_t i = 0; i < fields.size(); ++i) args[i] = &fields[i];
  int64_t work = 0;
  for (const Tensor& o : outputs) work += o.numel();
  int64_t extent = extent_;
  if (extent < 0) {  // a dynamic dim's size
    const ExtentSource src = extent_source(extent);
    const size_t n = inputs.size(), b = static_cast<size_t>(src.buffer);
    const Tensor& t = b < n ? inputs.at(b) : outputs.at(b - n);
    extent = t.shape()[static_cast<int>(src.dim)];
  }
  if (extent <= 1 || work < 2 * kChunkElements) {
    int64_t lo = 0, hi = extent;
    args[0] = &lo, args[1] = &hi;
    fn_(args.data());
    return checked_after(std::move(outputs), inputs, sizes, check_all_after);
  }
  const int64_t grain = std::max<int64_t>(1, kChunkElements / std::max<int64_t>(1, work / extent));
  // Each thread's chunk is run a few rows at a time: a kernel's loop nests (a row reduction,
  // then the pass that reads its result and the rows again) then find those rows in cache.
  const int64_t rows_per_call = std::max<int64_t>(1, kCallElements / std::max<int64_t>(1, work / extent));
  parallel_for(extent, grain, [&](int64_t lo, int64_t hi) {
    std::vector<void*> a = args;
    for (int64_t from = lo; from < hi; from += rows_per_call) {
      int64_t to = std::min(hi, from + rows_per_call);
      a[0] = &from, a[1] = &to;
      fn_(a.data());
    }
  });
  return checked_after(std::move(outputs), inputs, sizes, check_all_after);
}

std::vector<Tensor> PackedKernel::checked_after(std::vector<Tensor> outputs, const std::vector<Tensor>& inputs,
                                                const std::vector<int64_t>& sizes, bool all) const {
  for (const IndexCheck& c : index_checks_)
    if (c.after || all) check_indices(c.indices(inputs, outputs), c.op, c.axis, concrete(c.x, sizes));
  return outputs;
}

std::string check_row_extent(const Trace& trace, int64_t extent) {
  if (extent < dynamic_extent(4096, 0) || extent > (int64_t{1} << 40)) return "a row extent out of range";
  if (extent >= 0) return "";
  const ExtentSource src = extent_source(extent);
  const size_t n_in = trace.inputs.size(), buffers = n_in + trace.outputs.size();
  if (src.buffer >= static_cast<int64_t>(buffers)) return "a row extent of a buffer the kernel does not have";
  const size_t b = static_cast<size_t>(src.buffer);
  const int value = b < n_in ? trace.inputs[b] : trace.outputs[b - n_in];
  if (src.dim >= trace.values[value].shape.rank()) return "a row extent of a dim the buffer does not have";
  return "";
}

}  // namespace ejit::detail
