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
#include <atomic>
#include <mutex>
#include <thread>

#include <pthread.h>
#include <new>
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

/// The index of a capacity size_class() returns: 0..7 for 64..512, then four per power of
/// two (a table instead of a hash map: a lookup per allocation and free was a fifth of an
/// eager op's instructions, with the lock).
size_t class_index(size_t cap) {
  if (cap <= 512) return cap / 64 - 1;
  const size_t p = std::bit_width(cap - 1);                  // cap <= 2^p
  const size_t quarter = cap / ((size_t{1} << (p - 1)) / 4);  // 5..8
  return 8 + (p - 10) * 4 + (quarter - 5);
}
constexpr size_t kClasses = 8 + (65 - 10) * 4;

/// A lock for the few instructions the free lists take: spins, then yields (a mutex's lock
/// and unlock cost more than the list operations they guard).
class SpinLock {
 public:
  void lock() {
    for (int spins = 0; flag_.test_and_set(std::memory_order_acquire); ++spins)
      if (spins > 64) std::this_thread::yield();
  }
  void unlock() { flag_.clear(std::memory_order_release); }

 private:
  std::atomic_flag flag_ = ATOMIC_FLAG_INIT;
};

struct Cache {
  SpinLock mu;
  std::vector<void*> free_blocks[kClasses];
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
  void* p = std::aligned_alloc(kCpuBlockAlignment, (capacity + kCpuBlockAlignment - 1) / kCpuBlockAlignment * kCpuBlockAlignment);
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
    std::vector<void*>& list = c.free_blocks[class_index(cap)];
    if (!list.empty()) {
      void* p = list.back();
      list.pop_back();
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
    // Only capacities cpu_allocate gave out are kept (another one would be handed out as
    // a block of its class's size).
    if (c.stats.bytes_cached + capacity <= c.limit && capacity > 0 && size_class(capacity) == capacity) {
      c.free_blocks[class_index(capacity)].push_back(ptr);
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
  std::vector<void*> blocks;
  {
    std::lock_guard lock(c.mu);
    for (std::vector<void*>& list : c.free_blocks) {
      blocks.insert(blocks.end(), list.begin(), list.end());
      list = {};
    }
    c.stats.bytes_cached = 0;
  }
  for (void* p : blocks) std::free(p);
}

}  // namespace ejit
