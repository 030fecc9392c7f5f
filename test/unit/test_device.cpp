// Devices without a GPU: names, the default device, and the errors of asking for a GPU
// that is not there. (GPU behaviour itself is in test/jit/test_cuda.cpp, tagged [cuda].)
#include <cstdlib>
#include <filesystem>

#include "test_util.h"

using namespace ejit;
using ejit::test::error_of;

TEST_CASE("devices parse and print", "[device]") {
  REQUIRE(Device::parse("cpu") == Device::cpu());
  REQUIRE(Device::parse("cuda") == Device::cuda(0));
  REQUIRE(Device::parse("cuda:3") == Device::cuda(3));
  REQUIRE(Device::cuda(1).str() == "cuda:1");
  REQUIRE(Device::cpu().str() == "cpu");
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "CPU", ""})
    REQUIRE(error_of([&] { Device::parse(bad); }).find("is not a device") != std::string::npos);
}

TEST_CASE("tensors are made on the default device, the CPU here", "[device]") {
  // The tests' main sets EJIT_DEFAULT_DEVICE=cpu (they read host memory).
  const char* env = std::getenv("EJIT_DEFAULT_DEVICE");
  if (!cuda_available() || (env && std::string(env) == "cpu")) REQUIRE(default_device() == Device::cpu());
  Tensor t = ones({2, 3});
  REQUIRE(t.device() == default_device());
  REQUIRE(t.to(t.device()).shares_storage(t));  // no copy to where it already is
  {
    DeviceScope cpu(Device::cpu());
    REQUIRE(default_device() == Device::cpu());
    REQUIRE(zeros({4}).device() == Device::cpu());
  }
}

TEST_CASE("asking for a GPU where none answers is a clear error", "[device]") {
  if (cuda_available()) {
    WARN("skipped: a CUDA device is present (this test checks machines without one)");
    return;
  }
  REQUIRE(cuda_device_count() == 0);
  REQUIRE(!cuda_unavailable_reason().empty());
  Tensor t = ones({2, 3});
  std::string e = error_of([&] { t.to(Device::cuda(0)); });
  REQUIRE(e.find("[to]") == 0);
  REQUIRE(e.find("(2,3)") != std::string::npos);
  REQUIRE(e.find("no CUDA device") != std::string::npos);
  e = error_of([&] { DeviceScope s(Device::cuda(0)); });
  REQUIRE(e.find("[DeviceScope] no CUDA device") == 0);
  e = error_of([&] { Tensor::empty({4}, DType::F32, Device::cuda(1)); });
  REQUIRE(e.find("no CUDA device") != std::string::npos);
  synchronize(Device::cpu());  // a no-op, never an error
  // Nothing was left half-made: the CPU still works.
  REQUIRE((t + 1.f).sum().item<float>() == 12.f);
}

TEST_CASE("a stub CUDA driver is reported, not crashed on", "[.cuda-stub]") {
  // Run by ctest with EJIT_LIBCUDA pointing at the toolkit's stub libcuda.so.
  const char* lib = std::getenv("EJIT_LIBCUDA");
  if (!lib || !std::filesystem::exists(lib)) {
    WARN("skipped: EJIT_LIBCUDA does not name a stub driver");
    return;
  }
  REQUIRE(!cuda_available());
  INFO(cuda_unavailable_reason());
  REQUIRE(cuda_unavailable_reason().find("cuInit failed") != std::string::npos);
  REQUIRE(error_of([] { ones({2}).to(Device::cuda(0)); }).find("cuInit failed") != std::string::npos);
}

TEST_CASE("a bad EJIT_DEFAULT_DEVICE is a clear error", "[.default-device-env]") {
  // Run by ctest with EJIT_DEFAULT_DEVICE=gpu0 (the default device is read once per process).
  const char* env = std::getenv("EJIT_DEFAULT_DEVICE");
  if (!env || std::string(env) != "gpu0") {
    WARN("skipped: EJIT_DEFAULT_DEVICE is not gpu0");
    return;
  }
  REQUIRE(error_of([] { default_device(); }) ==
          "[default_device] EJIT_DEFAULT_DEVICE=gpu0 is not cpu, cuda, cuda:N or auto");
  DeviceScope cpu(Device::cpu());  // a scope still works
  REQUIRE(ones({2}).device() == Device::cpu());
}

TEST_CASE("copy_into copies within a device and names the mismatch when it cannot", "[device]") {
  const Tensor src = from_vector<float>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  Tensor dst = zeros({2, 3});
  copy_into(dst, src);
  ejit::test::check_values(dst, {1, 2, 3, 4, 5, 6});
  std::string e = error_of([&] {
    Tensor d = zeros({3, 2});
    copy_into(d, src);
  });
  REQUIRE(e.find("[copy_into] the destination f32 (3,2) on cpu does not match the source f32 (2,3) on cpu") == 0);
  e = error_of([&] {
    Tensor d = zeros({2, 3}).astype(DType::F64);
    copy_into(d, src);
  });
  REQUIRE(e.find("destination f64 (2,3)") != std::string::npos);
  Tensor none = zeros({0});
  copy_into(none, zeros({0}));  // nothing to copy, no error
  REQUIRE(device_description(Device::cpu()) == "CPU");
  if (!cuda_available())
    REQUIRE(error_of([] { device_description(Device::cuda(0)); }).find("[device_description] no CUDA device") == 0);
}
