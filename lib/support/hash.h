// FNV-1a, the one byte hash ejit uses for structure (traces, collectives' agreement headers).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ejit::detail {

inline constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;

/// h extended with n bytes at p (start with kFnvOffset).
inline uint64_t fnv1a(const void* p, size_t n, uint64_t h = kFnvOffset) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

}  // namespace ejit::detail
