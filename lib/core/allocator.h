// The caching CPU allocator: freed blocks are kept by size class and handed out again.
#pragma once

#include <cstddef>

namespace ejit::detail {

/// Every block's alignment, which compiled kernels rely on (pipeline/StreamingStores.h).
inline constexpr size_t kCpuBlockAlignment = 64;

/// kCpuBlockAlignment-aligned block of at least `nbytes`; `*capacity` receives the real size.
void* cpu_allocate(size_t nbytes, size_t* capacity);
/// Returns a block to the cache (or to the system past the cache limit).
void cpu_deallocate(void* ptr, size_t capacity);

}  // namespace ejit::detail
