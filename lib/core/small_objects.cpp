#include "small_objects.h"

#include <cstdint>
#include <new>

namespace ejit::detail {
namespace {

constexpr size_t kClassBytes[2] = {64, 256};
constexpr uint32_t kMaxCached = 1 << 15;  // per class and thread: at most 2 + 8 MiB kept

/// Trivially destructible, so still usable while the thread (or the process) ends.
struct Lists {
  void* head[2];
  uint32_t count[2];
  bool drained;  // the thread is ending: no more caching
};
thread_local Lists t_lists;

/// Gives a thread's cached blocks back when it ends.
struct Drain {
  ~Drain() {
    t_lists.drained = true;
    for (void*& head : t_lists.head)
      while (void* p = head) {
        head = *static_cast<void**>(p);
        ::operator delete(p);
      }
  }
};

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCache = false;  // AddressSanitizer builds: every block to the system, so use-after-free is caught
#else
constexpr bool kCache = true;
#endif

int size_class(size_t bytes) {
  if (!kCache) return -1;
  return bytes <= kClassBytes[0] ? 0 : bytes <= kClassBytes[1] ? 1 : -1;
}

}  // namespace

void* small_object_allocate(size_t bytes) {
  const int c = size_class(bytes);
  if (c < 0) return ::operator new(bytes);
  Lists& l = t_lists;
  if (void* p = l.head[c]) {
    l.head[c] = *static_cast<void**>(p);
    --l.count[c];
    return p;
  }
  return ::operator new(kClassBytes[c]);
}

void small_object_free(void* p, size_t bytes) noexcept {
  if (!p) return;
  const int c = size_class(bytes);
  Lists& l = t_lists;
  if (c < 0 || l.drained || l.count[c] >= kMaxCached) {
    ::operator delete(p);
    return;
  }
  thread_local Drain drain;  // registered by a thread's first cached block
  (void)drain;
  *static_cast<void**>(p) = l.head[c];
  l.head[c] = p;
  ++l.count[c];
}

}  // namespace ejit::detail
