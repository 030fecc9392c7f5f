// Eager ops on GPU tensors: elementwise ops through one shape-generic kernel per op and
// dtypes, every other op through a cached one-op GPU program.
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "../../core/device_ops.h"
#include "../../cuda/runtime.h"
#include "../../interp/dispatch.h"
#include "../../support/check.h"
#include "gpu_kernels.h"
#include "gpu_program.h"

namespace ejit::detail {
namespace {

/// Eager unary, binary, cast and where ops: one shape-generic kernel per op, dtypes and
/// collapsed rank (see ElementwiseSpec), so a new shape costs no compilation. False when
/// the op is not elementwise or its broadcast pattern needs more than kMaxEwRank dims.
constexpr int kMaxEwRank = 6;

bool run_elementwise(const DeviceOp& op, Device device, Tensor& out) {
  int kind;
  switch (op.kind) {
    case NodeKind::Unary: kind = 0; break;
    case NodeKind::Binary: kind = 1; break;
    case NodeKind::Cast: kind = 2; break;
    case NodeKind::Where: kind = 3; break;
    default: return false;
  }
  const std::vector<Tensor>& in = op.inputs;
  LoopPlan plan = in.size() == 1   ? make_plan(op.shape, {in[0].shape()})
                  : in.size() == 2 ? make_plan(op.shape, {in[0].shape(), in[1].shape()})
                                   : make_plan(op.shape, {in[0].shape(), in[1].shape(), in[2].shape()});
  if (plan.rank > kMaxEwRank) return false;
  ElementwiseSpec spec;
  spec.kind = kind, spec.sub = op.sub, spec.output = op.dtype, spec.rank = std::max(plan.rank, 1);
  for (const Tensor& t : in) spec.inputs.push_back(t.dtype());
  static auto& mu = *new std::mutex;  // leaked: modules may outlive static destruction
  static auto& loaded = *new std::map<std::pair<std::string, int>, std::pair<std::unique_ptr<cuda::Module>, cuda::CUfunction>>;
  cuda::CUfunction fn;
  {
    std::lock_guard lock(mu);
    auto& slot = loaded[{spec.key(), device.index}];
    if (!slot.first) {
      std::string error;
      const std::string ptx = elementwise_ptx(spec, target_chip(), error);
      if (ptx.empty()) return false;  // the per-shape program path reports the reason
      slot.first = std::make_unique<cuda::Module>(device.index, ptx, "jit");
      slot.second = slot.first->function("ew");
    }
    fn = slot.second;
  }
  out = Tensor::empty(op.shape, op.dtype, device);
  const int64_t n = op.shape.numel();
  if (n == 0) return true;
  std::vector<int64_t> store;
  store.reserve(5 * (in.size() + 1) + 1 + spec.rank * (in.size() + 1));
  auto buffer = [&](const Tensor& t) {
    const auto ptr = reinterpret_cast<int64_t>(t.raw_data());
    store.insert(store.end(), {ptr, ptr, 0, t.numel(), 1});
  };
  buffer(out);
  for (const Tensor& t : in) buffer(t);
  store.push_back(n);
  for (int d = 0; d < spec.rank; ++d) store.push_back(plan.rank ? plan.shape[d] : 1);
  for (size_t k = 0; k < in.size(); ++k)
    for (int d = 0; d < spec.rank; ++d) store.push_back(plan.rank ? plan.strides[k + 1][d] : 0);
  std::vector<void*> params;
  for (int64_t& x : store) params.push_back(&x);
  const int64_t grid[3] = {(n + 255) / 256, 1, 1}, block[3] = {256, 1, 1};
  cuda::launch(device.index, fn, grid, block, 0, params.data(), "jit", "elementwise " + spec.key());
  return true;
}

/// Per-op programs, keyed by the one-op trace's structure.
struct OpCache {
  std::mutex mu;
  std::unordered_map<uint64_t, std::vector<std::pair<Trace, std::shared_ptr<Executable>>>> programs;
};

OpCache& op_cache() {
  static OpCache* c = new OpCache;  // leaked: tensors may outlive static destruction
  return *c;
}

Tensor run_device_op(const char* name, const DeviceOp& op, Device device) {
  if (Tensor out; run_elementwise(op, device, out)) return out;
  Trace t;
  TraceNode node;
  node.kind = op.kind;
  node.sub = op.sub;
  node.ints = op.ints;
  node.value = op.value;
  for (const Tensor& in : op.inputs) {
    node.inputs.push_back(static_cast<int>(t.values.size()));
    t.inputs.push_back(static_cast<int>(t.values.size()));
    t.values.push_back({in.shape(), in.dtype()});
  }
  node.output = static_cast<int>(t.values.size());
  t.values.push_back({op.shape, op.dtype});
  t.outputs = {node.output};
  t.nodes.push_back(std::move(node));
  const uint64_t h = t.hash();
  std::shared_ptr<Executable> exe;
  OpCache& cache = op_cache();
  {
    std::lock_guard lock(cache.mu);
    for (auto& [trace, program] : cache.programs[h])
      if (trace.same_structure(t)) exe = program;
  }
  if (!exe) {
    CompileResult r = compile_for_gpu(t, false);
    if (!r.executable) fail(name, "cannot run on {}: {}", device.str(), r.error);
    exe = std::move(r.executable);
    std::lock_guard lock(cache.mu);
    cache.programs[h].emplace_back(t, exe);
  }
  PauseRecording pause;
  return exe->run(op.inputs)[0];
}

const bool registered = [] {
  set_device_op_runner(&run_device_op);
  return true;
}();

}  // namespace
}  // namespace ejit::detail

extern "C" {
int ejit_gpu_ops_anchor = 0;  // ejit::jit users link this file, and so its registration (see CMakeLists)
}
