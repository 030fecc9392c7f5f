// Caching CPU allocator: size classes (4 per power of two), free lists, huge pages for big blocks.
//
// Fresh large allocations are slow here (each is a new mapping and every page faults:
// about 50 ms to first touch 64 MB on these machines), so eager chains reuse freed blocks.
// Transparent huge pages (MADV_HUGEPAGE) were measured 4-5x slower still to first touch
// here, so blocks are plain 64-byte aligned allocations.
#include "allocator.h"
#include "../support/options.h"
#include "../support/profiler.h"

#include <bit>
#include <cstdlib>
#include <mutex>

#include <pthread.h>
#include <new>
#include <unordered_map>
#include <vector>

#include "ejit/runtime.h"

namespace ejit::detail {
namespace {

size_t size_class(size_t n) {
  if (n <= 512) return (n + 63) & ~size_t{63};
  size_t p = std::bit_width(n - 1);            // n <= 2^p
  size_t step = (size_t{1} << (p - 1)) / 4;   // four classes between 2^(p-1) and 2^p
  return (n + step - 1) / step * step;
}

size_t cache_limit_bytes() {
  return static_cast<size_t>(options::cache_limit_mb()) << 20;
}

struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  AllocatorStats stats;
  size_t limit = cache_limit_bytes();
};

Cache& cache() {
  static Cache* c = [] {
    // fork(): the child gets a copy of the lists; the lock is taken around fork() so that
    // the copy is never caught mid-update by another thread.
    pthread_atfork([] { cache().mu.lock(); }, [] { cache().mu.unlock(); }, [] { cache().mu.unlock(); });
    return new Cache;  // never destroyed: tensors may die during static destruction
  }();
  return *c;
}

void* system_allocate(size_t capacity) {
  void* p = std::aligned_alloc(64, (capacity + 63) / 64 * 64);
  if (!p) throw std::bad_alloc();
  return p;
}

/// Profiling: the bytes in use, as a counter track sampled at most every 20 us per thread
/// (a sample per allocation and free doubled a profile's events).
void sample_in_use(size_t in_use) {
  static const int64_t interval = profile_ns_to_ticks(20'000);
  thread_local int64_t last = 0;
  const int64_t now = profile_ticks();
  if (now - last < interval) return;
  last = now;
  profile_counter("alloc", "cpu bytes in use", in_use);
}

/// A block from the free lists or the system; `*reused` says which, `*in_use` the bytes in
/// use after it.
inline void* allocate_block(size_t nbytes, size_t* capacity, bool* reused, size_t* in_use) {
  *capacity = 0;
  if (nbytes == 0) return nullptr;
  size_t cap = size_class(nbytes);
  Cache& c = cache();
  {
    std::lock_guard lock(c.mu);
    auto it = c.free_blocks.find(cap);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.stats.bytes_cached -= cap;
      *in_use = c.stats.bytes_in_use += cap;
      ++c.stats.cache_hits;
      *capacity = cap;
      *reused = true;
      return p;
    }
    ++c.stats.cache_misses;
    *in_use = c.stats.bytes_in_use += cap;
  }
  try {
    void* p = system_allocate(cap);
    *capacity = cap;
    return p;
  } catch (...) {
    std::lock_guard lock(c.mu);
    c.stats.bytes_in_use -= cap;
    throw;
  }
}

/// cpu_allocate while profiling: an "alloc" event, and the counter of bytes in use.
[[gnu::noinline]] void* profiled_allocate(size_t nbytes, size_t* capacity) {
  ProfileScope prof("alloc", "cpu");
  bool reused = false;
  size_t in_use = 0;
  void* p = allocate_block(nbytes, capacity, &reused, &in_use);
  prof.bytes(*capacity);
  prof.tag(reused ? "cached" : "new");
  if (p) sample_in_use(in_use);
  return p;
}

}  // namespace

void* cpu_allocate(size_t nbytes, size_t* capacity) {
  if (profiling()) [[unlikely]] return profiled_allocate(nbytes, capacity);
  bool reused;
  size_t in_use;
  return allocate_block(nbytes, capacity, &reused, &in_use);
}

void cpu_deallocate(void* ptr, size_t capacity) {
  if (!ptr) return;
  Cache& c = cache();
  bool kept = false;
  {
    std::lock_guard lock(c.mu);
    c.stats.bytes_in_use -= capacity;
    if (c.stats.bytes_cached + capacity <= c.limit) {
      c.free_blocks[capacity].push_back(ptr);
      c.stats.bytes_cached += capacity;
      kept = true;
    }
  }
  if (!kept) std::free(ptr);
  // Outside the lock: the profiler's own lock is never taken under the allocator's.
  if (profiling()) [[unlikely]] sample_in_use(allocator_stats().bytes_in_use);
}

}  // namespace ejit::detail

namespace ejit {

AllocatorStats allocator_stats() {
  auto& c = detail::cache();
  std::lock_guard lock(c.mu);
  return c.stats;
}

void empty_cache() {
  auto& c = detail::cache();
  std::unordered_map<size_t, std::vector<void*>> blocks;
  {
    std::lock_guard lock(c.mu);
    blocks.swap(c.free_blocks);
    c.stats.bytes_cached = 0;
  }
  for (auto& [cap, list] : blocks)
    for (void* p : list) std::free(p);
}

}  // namespace ejit
