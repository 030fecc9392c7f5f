// Loading libcuda.so.1 and resolving the driver entry points ejit uses.
#include "driver.h"
#include "../support/options.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "../support/check.h"

namespace ejit::cuda {
namespace {

struct Loaded {
  Driver driver{};
  bool ok = false;
  std::string why;
};

template <class F>
bool resolve(void* lib, const char* name, F& fn, std::string& why) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn) why = std::string("libcuda.so.1 has no ") + name;
  return fn != nullptr;
}

Loaded load() {
  Loaded l;
  const std::string path = options::libcuda().value_or("libcuda.so.1");  // tests name a missing or stub library
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* e = dlerror();
    l.why = std::string("the CUDA driver (libcuda.so.1) cannot be loaded") + (e ? std::string(": ") + e : "");
    return l;
  }
  Driver& d = l.driver;
  std::string& w = l.why;
  bool ok = resolve(lib, "cuInit", d.cuInit, w) && resolve(lib, "cuDriverGetVersion", d.cuDriverGetVersion, w) &&
            resolve(lib, "cuDeviceGetCount", d.cuDeviceGetCount, w) && resolve(lib, "cuDeviceGet", d.cuDeviceGet, w) &&
            resolve(lib, "cuDeviceGetName", d.cuDeviceGetName, w) &&
            resolve(lib, "cuDeviceGetAttribute", d.cuDeviceGetAttribute, w) &&
            resolve(lib, "cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain, w) &&
            resolve(lib, "cuCtxSetCurrent", d.cuCtxSetCurrent, w) && resolve(lib, "cuMemAlloc_v2", d.cuMemAlloc, w) &&
            resolve(lib, "cuMemFree_v2", d.cuMemFree, w) && resolve(lib, "cuMemGetInfo_v2", d.cuMemGetInfo, w) &&
            resolve(lib, "cuMemcpyHtoDAsync_v2", d.cuMemcpyHtoDAsync, w) &&
            resolve(lib, "cuMemcpyDtoHAsync_v2", d.cuMemcpyDtoHAsync, w) &&
            resolve(lib, "cuMemcpyDtoDAsync_v2", d.cuMemcpyDtoDAsync, w) &&
            resolve(lib, "cuMemsetD8Async", d.cuMemsetD8Async, w) && resolve(lib, "cuStreamCreate", d.cuStreamCreate, w) &&
            resolve(lib, "cuStreamSynchronize", d.cuStreamSynchronize, w) &&
            resolve(lib, "cuModuleLoadDataEx", d.cuModuleLoadDataEx, w) &&
            resolve(lib, "cuModuleGetFunction", d.cuModuleGetFunction, w) &&
            resolve(lib, "cuLaunchKernel", d.cuLaunchKernel, w) && resolve(lib, "cuEventCreate", d.cuEventCreate, w) &&
            resolve(lib, "cuEventRecord", d.cuEventRecord, w) && resolve(lib, "cuEventSynchronize", d.cuEventSynchronize, w) &&
            resolve(lib, "cuEventQuery", d.cuEventQuery, w) && resolve(lib, "cuEventDestroy_v2", d.cuEventDestroy, w) &&
            resolve(lib, "cuEventElapsedTime", d.cuEventElapsedTime, w) &&
            resolve(lib, "cuGetErrorString", d.cuGetErrorString, w);
  if (!ok) return l;
  if (CUresult r = d.cuInit(0); r != CUDA_SUCCESS) {
    const char* msg = nullptr;
    d.cuGetErrorString(r, &msg);
    l.why = std::string("cuInit failed: ") + (msg ? msg : "error " + std::to_string(r));
    return l;
  }
  int count = 0;
  if (d.cuDeviceGetCount(&count) != CUDA_SUCCESS || count == 0) {
    l.why = "the CUDA driver reports no device";
    return l;
  }
  l.ok = true;
  return l;
}

const Loaded& loaded() {
  static const Loaded l = load();  // thread-safe once; the library stays loaded
  return l;
}

}  // namespace

const Driver* try_driver(std::string* why) {
  const Loaded& l = loaded();
  if (!l.ok && why) *why = l.why;
  return l.ok ? &l.driver : nullptr;
}

const Driver& driver(const char* op) {
  std::string why;
  const Driver* d = try_driver(&why);
  if (!d) fail(op, "no CUDA device: {}", why);
  return *d;
}

void check(CUresult r, const char* op, const char* what) {
  if (r == CUDA_SUCCESS) return;
  const char* msg = nullptr;
  if (const Driver* d = try_driver()) d->cuGetErrorString(r, &msg);
  fail(op, "{} failed: {} (CUDA error {})", what, msg ? msg : "unknown error", r);
}

}  // namespace ejit::cuda
