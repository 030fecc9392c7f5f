// Device: where a tensor's memory lives and where its ops run.
#pragma once

#include <string>
#include <string_view>

namespace ejit {

class Tensor;

/// A device: the CPU, or CUDA device `index`.
struct Device {
  enum class Kind : unsigned char { CPU, CUDA };
  Kind kind = Kind::CPU;
  int index = 0;

  static Device cpu() { return {}; }
  static Device cuda(int i = 0) { return {Kind::CUDA, i}; }
  bool is_cpu() const { return kind == Kind::CPU; }
  bool is_cuda() const { return kind == Kind::CUDA; }
  /// "cpu" or "cuda:0".
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
  /// Parses "cpu", "cuda" or "cuda:N"; throws ejit::Error otherwise.
  static Device parse(std::string_view text);
  friend bool operator==(const Device&, const Device&) = default;
};

/// True when the CUDA driver loads and reports a device (never throws).
bool cuda_available();
/// Number of CUDA devices (0 without a driver).
int cuda_device_count();
/// Why no CUDA device can be used here ("" when one can).
std::string cuda_unavailable_reason();
/// What the device is: "CPU", or the CUDA device's name, memory and architecture.
std::string device_description(Device device);
/// Copies `src` into `dst`, which have the same shape, dtype and device (the device's own
/// copy: a memcpy, or a device-to-device copy on a CUDA stream).
void copy_into(Tensor& dst, const Tensor& src);

/// Where new tensors (zeros, from_vector, randn...) go: the innermost DeviceScope of this
/// thread, else $EJIT_DEFAULT_DEVICE: cpu, cuda[:N], or auto (the default: cuda:0 when a
/// CUDA device answers, else the CPU). Ops on existing tensors run where their operands are.
Device default_device();

/// Sets default_device() on this thread while alive (scopes nest). Asking for a CUDA
/// device that does not exist is an ejit::Error here, not at the first op.
class DeviceScope {
 public:
  explicit DeviceScope(Device device);
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  Device previous_;
  bool had_previous_;
};

/// Waits until all work queued on the device has finished (a no-op for the CPU).
void synchronize(Device device);

}  // namespace ejit
