// Process-wide runtime controls: the thread pool and the caching allocator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ejit {

/// Threads in the one pool that runs every parallel kernel (EJIT_NUM_THREADS overrides
/// the default, which is the number of hardware threads).
int num_threads();
/// Resizes the pool (1 = run everything on the calling thread).
void set_num_threads(int n);

/// Counters of the caching CPU allocator.
struct AllocatorStats {
  size_t bytes_in_use = 0;     // held by live tensors
  size_t bytes_cached = 0;     // freed, kept for reuse
  uint64_t cache_hits = 0;     // allocations served from the cache
  uint64_t cache_misses = 0;   // allocations that went to the system
};
AllocatorStats allocator_stats();
/// Gives every cached block back to the system.
void empty_cache();

/// The instruction set the interpreter's kernels were selected for ("avx512", "avx2",
/// "generic"); EJIT_ISA=generic|avx2|avx512 forces one the CPU supports.
const char* kernel_isa();

/// What runs float matmuls, e.g. "OpenBLAS (/usr/lib/.../libopenblas.so.0, core Haswell)".
std::string matmul_backend();

}  // namespace ejit
