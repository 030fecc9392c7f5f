// Device names, the default device and its scopes.
#include "ejit/device.h"
#include "../support/options.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "../cuda/runtime.h"
#include "ejit/tensor.h"
#include "../support/check.h"

namespace ejit {
namespace {

struct ScopeState {
  bool active = false;
  Device device;
};
thread_local ScopeState scope;

void check_cuda_device(Device d, const char* op) {
  if (!d.is_cuda()) return;
  cuda::stream(d.index, op);  // throws "no CUDA device: ..." or "device cuda:N does not exist"
}

Device environment_default() {
  const std::string v = options::default_device();
  if (v.empty() || v == "auto") return cuda_available() ? Device::cuda(0) : Device::cpu();
  Device d;
  try {
    d = Device::parse(v);
  } catch (const Error&) {
    fail("default_device", "EJIT_DEFAULT_DEVICE={} is not cpu, cuda, cuda:N or auto", v);
  }
  check_cuda_device(d, "default_device");
  return d;
}

}  // namespace

Device Device::parse(std::string_view text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.substr(0, 5) == "cuda:" && text.size() > 5) {
    int index = 0;
    for (char c : text.substr(5)) {
      if (c < '0' || c > '9' || index > 1000) fail("device", "'{}' is not a device (cpu, cuda or cuda:N)", text);
      index = index * 10 + (c - '0');
    }
    return cuda(index);
  }
  fail("device", "'{}' is not a device (cpu, cuda or cuda:N)", text);
}

bool cuda_available() { return cuda::try_driver() != nullptr; }

int cuda_device_count() { return cuda::device_count(); }

std::string cuda_unavailable_reason() {
  std::string why;
  cuda::try_driver(&why);
  return why;
}

Device default_device() {
  if (scope.active) return scope.device;
  static const Device from_environment = environment_default();
  return from_environment;
}

DeviceScope::DeviceScope(Device device) : previous_(scope.device), had_previous_(scope.active) {
  check_cuda_device(device, "DeviceScope");
  scope.active = true;
  scope.device = device;
}

DeviceScope::~DeviceScope() {
  scope.active = had_previous_;
  scope.device = previous_;
}

void synchronize(Device device) {
  if (device.is_cuda()) cuda::synchronize(device.index);
}

}  // namespace ejit

namespace ejit {

std::string device_description(Device device) {
  if (device.is_cpu()) return "CPU";
  check_cuda_device(device, "device_description");
  return cuda::device_description(device.index);
}

void copy_into(Tensor& dst, const Tensor& src) {
  if (dst.shape() != src.shape() || dst.dtype() != src.dtype() || !(dst.device() == src.device()))
    fail("copy_into", "the destination {} {} on {} does not match the source {} {} on {}", name(dst.dtype()),
         dst.shape(), dst.device().str(), name(src.dtype()), src.shape(), src.device().str());
  const size_t bytes = static_cast<size_t>(src.numel()) * itemsize(src.dtype());
  if (bytes == 0) return;
  if (src.device().is_cpu()) std::memcpy(dst.raw_data(), src.raw_data(), bytes);
  else cuda::copy_on_device(src.device().index, dst.raw_data(), src.raw_data(), bytes);
}

}  // namespace ejit
