// Contexts, streams, the caching allocator, copies and PTX modules.
#include "runtime.h"
#include "../support/options.h"

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include <map>
#include <mutex>
#include <thread>

#include "../support/check.h"
#include "../support/profiler.h"

namespace ejit::cuda {

using detail::ProfileScope;

namespace {

/// Blocks below 1 MiB are rounded to 512 bytes, larger ones to 2 MiB: few distinct sizes,
/// so freed blocks fit later requests.
size_t round_size(size_t n) {
  if (n == 0) n = 1;
  if (n < (size_t{1} << 20)) return (n + 511) & ~size_t{511};
  const size_t big = size_t{2} << 20;
  return (n + big - 1) / big * big;
}

struct DeviceState {
  CUcontext context = nullptr;
  CUstream stream = nullptr;
  std::mutex mu;  // the cache and the stats
  std::multimap<size_t, void*> cache;
  MemoryStats stats;
};

struct Devices {
  std::mutex mu;
  std::vector<std::unique_ptr<DeviceState>> states;
};

Devices& devices() {
  static Devices* d = new Devices;  // leaked: tensors may be freed during static destruction
  return *d;
}

DeviceState& state(int device, const char* op) {
  const Driver& d = driver(op);
  Devices& all = devices();
  std::lock_guard lock(all.mu);
  if (all.states.empty()) {
    int count = 0;
    check(d.cuDeviceGetCount(&count), op, "cuDeviceGetCount");
    all.states.resize(count);
  }
  if (device < 0 || device >= static_cast<int>(all.states.size()))
    fail(op, "device cuda:{} does not exist ({} CUDA device{})", device, all.states.size(),
         all.states.size() == 1 ? "" : "s");
  auto& s = all.states[device];
  if (!s) {
    auto fresh = std::make_unique<DeviceState>();
    CUdevice dev;
    check(d.cuDeviceGet(&dev, device), op, "cuDeviceGet");
    check(d.cuDevicePrimaryCtxRetain(&fresh->context, dev), op, "cuDevicePrimaryCtxRetain");
    check(d.cuCtxSetCurrent(fresh->context), op, "cuCtxSetCurrent");
    check(d.cuStreamCreate(&fresh->stream, CU_STREAM_NON_BLOCKING), op, "cuStreamCreate");
    s = std::move(fresh);
  }
  return *s;
}

/// The state of a device, its context current on this thread.
DeviceState& current(int device, const char* op) {
  thread_local CUcontext current_context = nullptr;
  DeviceState& s = state(device, op);
  if (current_context != s.context) {
    check(driver(op).cuCtxSetCurrent(s.context), op, "cuCtxSetCurrent");
    current_context = s.context;
  }
  return s;
}

CUdevice device_handle(int device, const char* op) {
  state(device, op);
  CUdevice dev;
  check(driver(op).cuDeviceGet(&dev, device), op, "cuDeviceGet");
  return dev;
}

int attribute(int device, int attr) {
  int v = 0;
  check(driver("cuda").cuDeviceGetAttribute(&v, attr, device_handle(device, "cuda")), "cuda", "cuDeviceGetAttribute");
  return v;
}

}  // namespace

CUstream stream(int device, const char* op) { return current(device, op).stream; }

int device_count() {
  const Driver* d = try_driver();
  int count = 0;
  if (d && d->cuDeviceGetCount(&count) != CUDA_SUCCESS) count = 0;
  return count;
}

std::string device_arch(int device) {
  return fmt::format("sm_{}{}", attribute(device, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                     attribute(device, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR));
}

int multiprocessor_count(int device) { return attribute(device, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT); }

std::string device_description(int device) {
  char name[256] = {};
  check(driver("cuda").cuDeviceGetName(name, sizeof name, device_handle(device, "cuda")), "cuda", "cuDeviceGetName");
  return fmt::format("{}, {}", name, device_arch(device));
}

void* allocate(int device, size_t n, size_t* capacity, const char* op) {
  DeviceState& s = current(device, op);
  const size_t size = round_size(n);
  ProfileScope prof("alloc", "cuda");
  prof.bytes(size);
  {
    std::lock_guard lock(s.mu);
    if (auto it = s.cache.find(size); it != s.cache.end()) {
      void* p = it->second;
      s.cache.erase(it);
      s.stats.cached -= size;
      s.stats.in_use += size;
      *capacity = size;
      prof.tag("cached");
      return p;
    }
  }
  prof.tag("new");
  const Driver& d = driver(op);
  CUdeviceptr p = 0;
  CUresult r = d.cuMemAlloc(&p, size);
  if (r == CUDA_ERROR_OUT_OF_MEMORY) {  // give the cache back to the driver and try once more
    empty_cache(device);
    r = d.cuMemAlloc(&p, size);
  }
  if (r == CUDA_ERROR_OUT_OF_MEMORY) {
    size_t free_bytes = 0, total = 0;
    d.cuMemGetInfo(&free_bytes, &total);
    std::lock_guard lock(s.mu);
    fail(op, "out of memory on cuda:{} allocating {} bytes ({} bytes in use by tensors, {} free of {})", device, n,
         s.stats.in_use, free_bytes, total);
  }
  check(r, op, "cuMemAlloc");
  std::lock_guard lock(s.mu);
  s.stats.in_use += size;
  s.stats.driver_allocations++;
  *capacity = size;
  return reinterpret_cast<void*>(p);
}

void deallocate(int device, void* ptr, size_t capacity) {
  if (!ptr) return;
  DeviceState& s = state(device, "free");
  std::lock_guard lock(s.mu);
  s.cache.emplace(capacity, ptr);
  s.stats.in_use -= capacity;
  s.stats.cached += capacity;
}

void empty_cache(int device) {
  DeviceState& s = current(device, "empty_cache");
  const Driver& d = driver("empty_cache");
  check(d.cuStreamSynchronize(s.stream), "empty_cache", "cuStreamSynchronize");
  std::lock_guard lock(s.mu);
  for (auto& [size, p] : s.cache) d.cuMemFree(reinterpret_cast<CUdeviceptr>(p));
  s.cache.clear();
  s.stats.cached = 0;
}

MemoryStats memory_stats(int device) {
  DeviceState& s = state(device, "memory_stats");
  std::lock_guard lock(s.mu);
  return s.stats;
}

void copy_to_device(int device, void* dst, const void* src, size_t n) {
  if (n == 0) return;
  ProfileScope prof("gpu", "copy to device");  // queued: the host's time
  prof.bytes(n);
  CUstream st = stream(device, "to");
  check(driver("to").cuMemcpyHtoDAsync(reinterpret_cast<CUdeviceptr>(dst), src, n, st), "to", "cuMemcpyHtoDAsync");
}

void copy_to_host(int device, void* dst, const void* src, size_t n) {
  ProfileScope prof("gpu", "copy to host");  // waits for the stream: earlier launches' time too
  prof.bytes(n);
  CUstream st = stream(device, "to");
  const Driver& d = driver("to");
  if (n) check(d.cuMemcpyDtoHAsync(dst, reinterpret_cast<CUdeviceptr>(src), n, st), "to", "cuMemcpyDtoHAsync");
  check(d.cuStreamSynchronize(st), "to", "cuStreamSynchronize");
}

void copy_on_device(int device, void* dst, const void* src, size_t n) {
  if (n == 0) return;
  CUstream st = stream(device, "copy");
  check(driver("copy").cuMemcpyDtoDAsync(reinterpret_cast<CUdeviceptr>(dst), reinterpret_cast<CUdeviceptr>(src), n, st),
        "copy", "cuMemcpyDtoDAsync");
}

void zero_on_device(int device, void* dst, size_t n) {
  if (n == 0) return;
  CUstream st = stream(device, "zero");
  check(driver("zero").cuMemsetD8Async(reinterpret_cast<CUdeviceptr>(dst), 0, n, st), "zero", "cuMemsetD8Async");
}

void synchronize(int device) {
  ProfileScope prof("gpu", "synchronize");
  CUstream st = stream(device, "synchronize");
  check(driver("synchronize").cuStreamSynchronize(st), "synchronize", "cuStreamSynchronize");
}

bool synchronize_while(int device, const std::function<bool()>& keep_waiting, const char* op) {
  ProfileScope prof("gpu", "synchronize");
  CUstream st = stream(device, op);
  const Driver& d = driver(op);
  // An event after the work queued so far: work other threads queue later is not waited for.
  CUevent event = nullptr;
  check(d.cuEventCreate(&event, CU_EVENT_DISABLE_TIMING), op, "cuEventCreate");
  struct Destroy {
    const Driver& d;
    CUevent e;
    ~Destroy() { d.cuEventDestroy(e); }
  } destroy{d, event};
  check(d.cuEventRecord(event, st), op, "cuEventRecord");
  for (;;) {
    const CUresult r = d.cuEventQuery(event);
    if (r == CUDA_SUCCESS) return true;
    if (r != CUDA_ERROR_NOT_READY) check(r, op, "cuEventQuery");
    if (!keep_waiting()) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

Module::Module(int device, const std::string& ptx, const char* op) : device_(device) {
  current(device, op);
  char log[8192] = {};
  int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void* values[] = {log, reinterpret_cast<void*>(sizeof log)};
  CUresult r = driver(op).cuModuleLoadDataEx(&module_, ptx.c_str(), 2, options, values);
  if (r != CUDA_SUCCESS) {
    const char* msg = nullptr;
    driver(op).cuGetErrorString(r, &msg);
    fail(op, "loading the PTX module of kernel(s) {} on cuda:{} failed: {}; the driver's JIT log: {}",
         ptx_kernel_names(ptx), device, msg ? msg : "", log[0] ? log : "(empty)");
  }
}

CUfunction Module::function(const std::string& name) const {
  CUfunction f = nullptr;
  check(driver("launch").cuModuleGetFunction(&f, module_, name.c_str()), "launch", "cuModuleGetFunction");
  return f;
}

std::string ptx_kernel_names(const std::string& ptx) {
  std::string names;
  for (size_t at = ptx.find(".entry"); at != std::string::npos; at = ptx.find(".entry", at + 6)) {
    size_t b = at + 6;
    while (b < ptx.size() && (ptx[b] == ' ' || ptx[b] == '\t')) ++b;
    size_t e = b;
    while (e < ptx.size() && (std::isalnum(static_cast<unsigned char>(ptx[e])) || ptx[e] == '_' || ptx[e] == '$')) ++e;
    if (e > b) names += (names.empty() ? "" : ", ") + ptx.substr(b, e - b);
  }
  return names.empty() ? "(none)" : names;
}

void check_launch_dims(const int64_t grid[3], const int64_t block[3], const char* op) {
  const int64_t grid_max[3] = {(int64_t{1} << 31) - 1, 65535, 65535}, block_max[3] = {1024, 1024, 64};
  bool ok = block[0] * block[1] * block[2] <= 1024;
  for (int i = 0; i < 3; ++i) ok &= grid[i] >= 1 && grid[i] <= grid_max[i] && block[i] >= 1 && block[i] <= block_max[i];
  if (!ok)
    fail(op, "a launch of grid ({}, {}, {}) and block ({}, {}, {}) exceeds CUDA's limits (grid x < 2^31, y and z <= "
             "65535; block (1024, 1024, 64), 1024 threads)", grid[0], grid[1], grid[2], block[0], block[1], block[2]);
}

void launch(int device, CUfunction f, const int64_t grid[3], const int64_t block[3], unsigned shared_bytes,
            void** params, const char* op, const std::string& kernel) {
  ProfileScope prof("gpu", kernel);  // the launch's host time (the kernel runs later, unless EJIT_CUDA_SYNC=1)
  if (prof) prof.argf("grid", "{}x{}x{} block {}x{}x{}", grid[0], grid[1], grid[2], block[0], block[1], block[2]);
  const bool sync_each = options::cuda_sync();
  check_launch_dims(grid, block, op);
  CUstream st = stream(device, op);
  const Driver& d = driver(op);
  CUresult r = d.cuLaunchKernel(f, static_cast<unsigned>(grid[0]), static_cast<unsigned>(grid[1]),
                                static_cast<unsigned>(grid[2]), static_cast<unsigned>(block[0]),
                                static_cast<unsigned>(block[1]), static_cast<unsigned>(block[2]), shared_bytes, st,
                                params, nullptr);
  if (r == CUDA_SUCCESS && sync_each) r = d.cuStreamSynchronize(st);
  if (r != CUDA_SUCCESS) {
    const char* msg = nullptr;
    d.cuGetErrorString(r, &msg);
    fail(op, "kernel {} (grid ({}, {}, {}), block ({}, {}, {})) failed on cuda:{}: {}{}", kernel, grid[0], grid[1],
         grid[2], block[0], block[1], block[2], device, msg ? msg : "unknown error",
         sync_each ? "" : " (the error may come from an earlier launch: EJIT_CUDA_SYNC=1 names the kernel that failed)");
  }
}

}  // namespace ejit::cuda
