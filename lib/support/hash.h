// FNV-1a, the one byte hash ejit uses for structure (traces, collectives' agreement headers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ejit::detail {

inline constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;

/// h extended with n bytes at p (start with kFnvOffset).
inline uint64_t fnv1a(const void* p, size_t n, uint64_t h = kFnvOffset) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

/// The same mixing eight bytes at a time (whole files: about 8x faster than fnv1a); a change
/// of any one 8-byte word always changes the result.
inline uint64_t fnv1a_words(const void* p, size_t n, uint64_t h = kFnvOffset) {
  const auto* b = static_cast<const unsigned char*>(p);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, b + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
  }
  return fnv1a(b + i, n - i, h);
}

}  // namespace ejit::detail
