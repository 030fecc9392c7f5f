// Per-device state on top of the driver: the primary context, one stream, a caching
// allocator, copies, and kernels loaded from PTX.
//
// All of ejit's work on a device goes to that device's one stream, in order. Freed memory
// goes back to a cache and is handed out again without synchronizing: a later kernel on
// the same stream runs after every earlier use of the block. The host waits only when it
// reads values (copy_to_host) or calls synchronize().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "driver.h"

namespace ejit::cuda {

/// Makes the device's context current on this thread and returns its stream. Throws
/// ejit::Error naming `op` when the device does not exist.
CUstream stream(int device, const char* op);
/// Number of devices the driver reports (0 without a driver).
int device_count();
/// "NVIDIA H100 80GB HBM3, sm_90" (throws like stream()).
std::string device_description(int device);
/// "sm_90" for compute capability 9.0.
std::string device_arch(int device);
/// Multiprocessor count of the device.
int multiprocessor_count(int device);

/// Device memory of at least n bytes from the caching allocator (capacity in *capacity).
/// Out of memory, after returning the cache to the driver, is ejit::Error naming `op`.
void* allocate(int device, size_t n, size_t* capacity, const char* op);
/// Returns a block to the cache (never to the driver: the stream may still use it).
void deallocate(int device, void* ptr, size_t capacity);
/// Returns every cached block of the device to the driver (waits for the stream first).
void empty_cache(int device);

struct MemoryStats {
  size_t in_use = 0;   // bytes held by live tensors
  size_t cached = 0;   // bytes kept for reuse
  size_t driver_allocations = 0;  // cuMemAlloc calls so far
};
MemoryStats memory_stats(int device);

/// Queues a host-to-device copy (the host buffer may be reused when this returns).
void copy_to_device(int device, void* dst, const void* src, size_t n);
/// Copies device memory to the host, waiting for the stream.
void copy_to_host(int device, void* dst, const void* src, size_t n);
/// Queues a device-to-device copy.
void copy_on_device(int device, void* dst, const void* src, size_t n);
/// Queues setting n bytes of device memory to zero.
void zero_on_device(int device, void* dst, size_t n);
/// Waits for every queued operation of the device.
void synchronize(int device);
/// Waits for the work queued so far on the device's stream, polling: keep_waiting() is
/// asked every 50 us, and its false ends the wait early (a collective whose peers failed
/// or timed out): false then.
bool synchronize_while(int device, const std::function<bool()>& keep_waiting, const char* op);

/// A PTX module loaded on one device, with its kernels looked up by name.
class Module {
 public:
  Module(int device, const std::string& ptx, const char* op);
  CUfunction function(const std::string& name) const;

 private:
  int device_;
  CUmodule module_ = nullptr;
};

/// Checks a launch's dimensions against CUDA's limits (grid x < 2^31, y and z <= 65535;
/// block x, y <= 1024, z <= 64, at most 1024 threads): ejit::Error naming `op` otherwise.
void check_launch_dims(const int64_t grid[3], const int64_t block[3], const char* op);
/// The names of the kernels (.entry) a PTX module defines, comma-separated.
std::string ptx_kernel_names(const std::string& ptx);
/// Launches f on the device's stream; params points at each kernel parameter's value.
/// The dimensions are checked first (check_launch_dims). `kernel` names it in errors. With
/// EJIT_CUDA_SYNC=1 every launch is followed by a synchronization, so that a failing kernel
/// is named by its own error instead of a later operation's (debugging; slow).
void launch(int device, CUfunction f, const int64_t grid[3], const int64_t block[3], unsigned shared_bytes,
            void** params, const char* op, const std::string& kernel);

}  // namespace ejit::cuda
