// The device check of every op and the hand-off of GPU ops to the registered runner.
#include "device_ops.h"

#include <atomic>

#include "../support/check.h"

namespace ejit::detail {
namespace {

std::atomic<DeviceOpRunner> runner{nullptr};

template <class It>
Device device_of(const char* op, It begin, It end) {
  const Tensor* gpu = nullptr;
  bool cpu_non_scalar = false;
  const Tensor* cpu = nullptr;
  for (It it = begin; it != end; ++it) {
    const Tensor& t = **it;
    if (!t.defined()) continue;
    if (t.device().is_cpu()) {
      if (t.rank() != 0) cpu_non_scalar = true, cpu = &t;
      continue;
    }
    if (gpu && gpu->device() != t.device())
      fail(op, "operands are on two devices: {} (shape {}) and {} (shape {})", gpu->device().str(), gpu->shape(),
           t.device().str(), t.shape());
    gpu = &t;
  }
  if (!gpu) return Device::cpu();
  if (cpu_non_scalar)
    fail(op, "operands are on two devices: {} (shape {}) and cpu (shape {}); move one with .to(device)",
         gpu->device().str(), gpu->shape(), cpu->shape());
  return gpu->device();
}

}  // namespace

Device mixed_op_device(const char* op, std::initializer_list<const Tensor*> operands) {
  return device_of(op, operands.begin(), operands.end());
}

Device op_device(const char* op, const std::vector<Tensor>& operands) {
  std::vector<const Tensor*> ptrs;
  for (const Tensor& t : operands) ptrs.push_back(&t);
  return device_of(op, ptrs.begin(), ptrs.end());
}

void set_device_op_runner(DeviceOpRunner r) { runner.store(r); }

Tensor run_on_device(const char* name, DeviceOp op, Device device) {
  DeviceOpRunner run = runner.load();
  if (!run) fail(name, "ops on {} need the GPU compiler: link ejit::jit", device.str());
  std::vector<Tensor> reported = op.inputs;  // observers see the operands as given (a 0-d constant stays one)
  for (Tensor& t : op.inputs)
    if (t.defined() && t.device() != device) t = t.to(device);
  Tensor out = run(name, op, device);
  if (observers()) {
    PrimOp p{op.kind, op.sub, std::move(reported), out, op.ints, op.flag, op.value};
    report_op(p);
  }
  return out;
}

}  // namespace ejit::detail
