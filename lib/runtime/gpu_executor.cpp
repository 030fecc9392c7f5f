#include "gpu_executor.h"

#include <fmt/format.h>

#include "../core/observer.h"
#include "../cuda/cublas.h"
#include "../interp/dispatch.h"
#include "../support/check.h"
#include "../support/profiler.h"
#include "../trace/node_eval.h"
#include "ejit/ops.h"
#include "gpu_reduction_plan.h"

namespace ejit::detail {

GpuProgram::GpuProgram(Trace trace, std::vector<GpuStep> steps)
    : trace_(std::move(trace)), symbols_(symbol_sources(trace_)), steps_(std::move(steps)) {
  std::vector<std::vector<int>> reads;
  for (const GpuStep& s : steps_) reads.push_back(step_inputs(s));
  release_ = release_lists(trace_, reads);
}

std::vector<Tensor> GpuProgram::run(const std::vector<Tensor>& inputs) const {
  Device device;
  for (const Tensor& t : inputs)
    if (t.device().is_cuda()) device = t.device();
  if (device.is_cpu()) device = default_device();
  if (device.is_cpu()) fail("jit", "a GPU program needs its inputs on a CUDA device");
  const Loaded& loaded = load(device.index);
  PauseRecording pause;  // the steps' helper ops are this program's own business
  std::vector<Tensor> v(trace_.values.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = inputs[i];
    if (in.device() != device && in.rank() != 0)
      fail("jit", "input {} (shape {}) is on {}, the others on {}", i, in.shape(), in.device().str(), device.str());
    v[trace_.inputs[i]] = in.device() == device ? in : in.to(device);
  }
  const std::vector<int64_t> sizes = symbol_sizes(symbols_, inputs);  // empty without dynamic dims
  for (auto& [value, tensor] : loaded.constants) v[value] = tensor;
  for (const TraceNode& n : trace_.nodes)  // mean's divisor over a dynamic dim: this call's
    if (is_size_constant(n)) v[n.output] = size_constant_value(n, sizes).to(device);
  NodeEvaluator host(device, "jit");
  for (size_t s = 0; s < steps_.size(); ++s) {
    run_step(steps_[s], s, loaded, device, v, host, sizes);
    for (int id : release_[s]) v[id] = Tensor();
  }
  std::vector<Tensor> outputs;
  for (int id : trace_.outputs) outputs.push_back(v[id]);
  return outputs;
}

size_t GpuProgram::code_bytes() const {
  size_t n = 0;
  for (const GpuStep& s : steps_)
    for (const std::string& ptx : s.kernels.ptx) n += ptx.size();
  return n;
}

std::vector<int> GpuProgram::step_inputs(const GpuStep& s) const {
  if (runs_kernels(s.kind)) return s.inputs;
  return trace_.nodes[s.nodes[0]].inputs;
}

const GpuProgram::Loaded& GpuProgram::load(int device) const {
  std::lock_guard lock(mu_);
  auto& slot = loaded_[device];
  if (slot) return *slot;
  auto l = std::make_unique<Loaded>();
  for (const GpuStep& s : steps_) {
    std::vector<cuda::CUfunction> fns;
    std::vector<cuda::Module*> mods;
    for (const std::string& ptx : s.kernels.ptx) {
      l->modules.push_back(std::make_unique<cuda::Module>(device, ptx, "jit"));
      mods.push_back(l->modules.back().get());
    }
    for (const GpuLaunch& launch : s.kernels.launches) fns.push_back(mods[launch.module]->function(launch.function));
    l->functions.push_back(std::move(fns));
    l->step_modules.push_back(std::move(mods));
  }
  for (const TraceNode& n : trace_.nodes)
    if (n.kind == NodeKind::Constant && !is_size_constant(n))
      l->constants.emplace_back(n.output, n.constant.to(Device::cuda(device)));
  slot = std::move(l);
  return *slot;
}

Shape GpuProgram::shape_of(int id, const std::vector<int64_t>& sizes) const {
  const Shape& s = trace_.values[id].shape;
  return sizes.empty() ? s : concrete(s, sizes);
}

void GpuProgram::run_step(const GpuStep& s, size_t step, const Loaded& loaded, Device device, std::vector<Tensor>& v,
                          NodeEvaluator& host, const std::vector<int64_t>& sizes) const {
  const std::vector<cuda::CUfunction>& fns = loaded.functions[step];
  using K = GpuStep::Kind;  // launches are "gpu" events of their own (lib/cuda)
  ProfileScope prof(s.kind == K::Gemm ? "blas" : s.kind == K::Host ? "interp" : "kernel", s.what);
  switch (s.kind) {
    case GpuStep::Kind::Reduce:
      if (s.kernels.launches.empty()) return run_reduce_any_size(s, loaded.step_modules[step], device, v, sizes);
      return run_kernels(s, s.kernels, fns, device, v, sizes);
    case GpuStep::Kind::Kernels: return run_kernels(s, s.kernels, fns, device, v, sizes);
    case GpuStep::Kind::Take: {  // the interpreter's index checks (a small read), then the kernel
      const TraceNode& n = trace_.nodes[s.nodes[0]];
      const Shape xs = v[n.inputs[0]].shape();
      const int axis = static_cast<int>(n.ints[0]);
      const int64_t size = xs[axis];
      for (int64_t i : v[n.inputs[1]].to_vector<int64_t>())
        if (i < -size || i >= size)
          fail_index_out_of_range("take", i, axis, xs);
      if (!s.kernels.launches.empty()) return run_kernels(s, s.kernels, fns, device, v, sizes);
      GpuKernels plan;  // a program with dynamic dims: this call's shapes
      plan_take_launch(xs, axis, v[n.inputs[1]].numel(), plan);
      const std::vector<cuda::CUfunction> take = {loaded.step_modules[step].at(0)->function("take")};
      return run_kernels(s, plan, take, device, v, sizes);
    }
    case GpuStep::Kind::View: {
      const TraceNode& n = trace_.nodes[s.nodes[0]];
      v[n.output] = reshape(v[n.inputs[0]], shape_of(n.output, sizes));
      return;
    }
    case GpuStep::Kind::Gemm: return run_gemm(trace_.nodes[s.nodes[0]], device, v, sizes);
    case GpuStep::Kind::Host: {
      const TraceNode& n = trace_.nodes[s.nodes[0]];
      // A host callback gets its inputs as they are: run_host_call moves them to the CPU
      // unless the callback takes them on their device (collectives on NCCL), as eagerly.
      std::vector<Tensor> in;
      for (int id : n.inputs) in.push_back(n.kind == NodeKind::HostCall ? v[id] : v[id].to(Device::cpu()));
      Tensor out;
      {
        DeviceScope on_cpu(Device::cpu());
        out = host.eval(n, in, {shape_of(n.output, sizes), trace_.values[n.output].dtype});
      }
      v[n.output] = out.to(device);
      return;
    }
  }
}

void GpuProgram::run_reduce_any_size(const GpuStep& s, const std::vector<cuda::Module*>& modules, Device device,
                                     std::vector<Tensor>& v, const std::vector<int64_t>& sizes) const {
  const TraceNode& n = trace_.nodes[s.nodes[0]];
  const bool index = kind(static_cast<ReduceOp>(n.sub)) == ReduceKind::Index;
  GpuKernels plan;
  std::string error;
  if (!plan_reduction_launches(v[s.inputs[0]].shape(), n.ints, index, itemsize(trace_.values[n.output].dtype),
                               [&](bool rows, bool first) { return any_size_reduction_module(index, rows, first); }, plan,
                               error))
    fail("jit", "the block reduction {} of shape {} has no plan: {}", node_name(n), v[s.inputs[0]].shape(), error);
  std::vector<cuda::CUfunction> fns;
  for (const GpuLaunch& l : plan.launches) fns.push_back(modules.at(static_cast<size_t>(l.module))->function(l.function));
  run_kernels(s, plan, fns, device, v, sizes);
}

void GpuProgram::run_kernels(const GpuStep& s, const GpuKernels& k, const std::vector<cuda::CUfunction>& fns, Device device,
                             std::vector<Tensor>& v, const std::vector<int64_t>& sizes) const {
  std::vector<char*> base;
  std::vector<Shape> shapes;  // of the fixed slots, for a plan with dynamic sizes
  for (int id : s.inputs) base.push_back(static_cast<char*>(v[id].raw_data()));
  for (int id : s.outputs) {
    v[id] = Tensor::empty(shape_of(id, sizes), trace_.values[id].dtype, device);
    base.push_back(static_cast<char*>(v[id].raw_data()));
  }
  if (!k.index_ops.empty())
    for (const std::vector<int>* ids : {&s.inputs, &s.outputs})
      for (int id : *ids) shapes.push_back(v[id].shape());
  const std::vector<int64_t> values = evaluate_index_ops(k, shapes);  // empty for a static plan
  auto size = [&](int64_t n) { return resolve_size(n, values); };
  std::vector<std::pair<void*, size_t>> temps;
  struct Free {
    int device;
    std::vector<std::pair<void*, size_t>>& temps;
    ~Free() { for (auto [p, c] : temps) cuda::deallocate(device, p, c); }
  } free_temps{device.index, temps};
  for (int64_t bytes : k.temp_bytes) {
    size_t capacity;
    void* p = cuda::allocate(device.index, static_cast<size_t>(std::max<int64_t>(1, size(bytes))), &capacity, "jit");
    temps.emplace_back(p, capacity);
    base.push_back(static_cast<char*>(p));
  }
  std::vector<int64_t> store;
  std::vector<void*> params;
  for (size_t i = 0; i < k.launches.size(); ++i) {
    const GpuLaunch& l = k.launches[i];
    const int64_t grid[3] = {size(l.grid[0]), size(l.grid[1]), size(l.grid[2])};
    const int64_t block[3] = {size(l.block[0]), size(l.block[1]), size(l.block[2])};
    if (grid[0] * grid[1] * grid[2] == 0) continue;  // an empty output
    size_t count = 0;
    for (const GpuArg& a : l.args) count += a.kind == GpuArg::Kind::Buffer ? 3 + 2 * a.sizes.size() : 1;
    store.clear();
    store.reserve(count);  // params point into it: no reallocation below
    params.clear();
    for (const GpuArg& a : l.args) {
      if (a.kind != GpuArg::Kind::Buffer) {
        store.push_back(a.index >= 0 ? values[static_cast<size_t>(a.index)] : a.bits);  // 4-byte kinds read the low half
        continue;
      }
      const auto ptr = reinterpret_cast<int64_t>(base[a.slot]);
      store.push_back(ptr);
      store.push_back(ptr);
      store.push_back(size(a.offset));
      for (int64_t x : a.sizes) store.push_back(size(x));
      for (int64_t x : a.strides) store.push_back(size(x));
    }
    for (int64_t& x : store) params.push_back(&x);
    cuda::launch(device.index, fns[i], grid, block, 0, params.data(), "jit", l.function);
  }
}

void GpuProgram::run_gemm(const TraceNode& n, Device device, std::vector<Tensor>& v, const std::vector<int64_t>& sizes) const {
  Tensor a = v[n.inputs[0]], b = v[n.inputs[1]];
  const ValueType& out_type = trace_.values[n.output];
  const Shape full = shape_of(n.output, sizes);
  const int r = full.rank();
  const int64_t m = full[r - 2], nn = full[r - 1], k = a.shape()[a.rank() - 1];
  const int64_t batch = full.numel() / std::max<int64_t>(1, m * nn);
  auto batch_stride = [&](Tensor& x, int64_t rows, int64_t cols) -> int64_t {
    const int64_t xb = x.numel() / std::max<int64_t>(1, rows * cols);
    if (xb == batch) {
      bool same = true;  // same batch dims (left-padded with ones)?
      for (int i = 0; i < r - 2; ++i) {
        int xi = i - (r - x.rank());
        int64_t d = xi >= 0 ? x.shape()[xi] : 1;
        same &= d == full[i];
      }
      if (same) return rows * cols;
    }
    if (xb == 1) return 0;
    std::vector<int64_t> dims(full.begin(), full.end() - 2);
    dims.push_back(rows), dims.push_back(cols);
    x = broadcast_to(x, Shape(dims));  // batch dims broadcast both ways: materialize
    return rows * cols;
  };
  const int64_t sa = batch_stride(a, m, k), sb = batch_stride(b, k, nn);
  Tensor out = Tensor::empty(full, out_type.dtype, device);
  cuda::gemm(device.index, out_type.dtype == DType::F64, batch, m, nn, k, a.raw_data(), sa, b.raw_data(), sb,
             out.raw_data(), m * nn);
  v[n.output] = out;
}

}  // namespace ejit::detail
