// How ops on GPU tensors leave the interpreter: each primitive, after checking its operands
// as on the CPU, hands itself to the device-op runner that the GPU compiler registers (a
// kernel compiled from a one-op trace), instead of running a CPU kernel on device memory.
#pragma once

#include <initializer_list>
#include <vector>

#include "ejit/tensor.h"
#include "observer.h"

namespace ejit::detail {

/// Where an op on these operands runs: the CUDA device of its operands, else the CPU.
/// Operands on two different devices are an ejit::Error naming both, except that a 0-d
/// CPU tensor (a C++ scalar, an item of a loss...) may join a GPU op: it is copied there.
Device op_device(const char* op, const std::vector<Tensor>& operands);
/// op_device's rule for operands not all on the CPU.
Device mixed_op_device(const char* op, std::initializer_list<const Tensor*> operands);
inline Device op_device(const char* op, std::initializer_list<const Tensor*> operands) {
  bool all_cpu = true;  // the common eager case, without a call
  for (const Tensor* t : operands) all_cpu &= !t->defined() || t->device().is_cpu();
  return all_cpu ? Device::cpu() : mixed_op_device(op, operands);
}

/// A primitive to run on a device: the PrimOp fields plus the result's shape and dtype.
struct DeviceOp {
  NodeKind kind;
  uint8_t sub = 0;
  std::vector<Tensor> inputs;
  std::vector<int64_t> ints;
  bool flag = false;
  double value = 0;
  Shape shape;
  DType dtype = DType::F32;
};

/// Computes op.kind on `device` and returns the output (on that device).
using DeviceOpRunner = Tensor (*)(const char* name, const DeviceOp& op, Device device);
void set_device_op_runner(DeviceOpRunner runner);

/// Runs the op with the registered runner, 0-d CPU inputs copied to the device first, and
/// reports it to observers like an interpreted op. Throws ejit::Error naming `name` when
/// no runner is linked in (GPU ops need ejit::jit).
Tensor run_on_device(const char* name, DeviceOp op, Device device);

}  // namespace ejit::detail
