// The Philox4x32-10 counter-based generator and the exact formulas behind randn/rand,
// so every back end (interpreter, compiled CPU code, GPU) produces the same numbers.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace ejit::random {

/// Philox4x32 with 10 rounds (Salmon et al., SC'11): a bijection of the 128-bit counter
/// under a 64-bit key.
inline std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  constexpr uint32_t kM0 = 0xD2511F53, kM1 = 0xCD9E8D57, kW0 = 0x9E3779B9, kW1 = 0xBB67AE85;
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = uint64_t{kM0} * c[0], p1 = uint64_t{kM1} * c[2];
    c = {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<uint32_t>(p1),
         static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<uint32_t>(p0)};
    k[0] += kW0, k[1] += kW1;
  }
  return c;
}

/// The four words for element pair j = i / 2 of a tensor drawn with `seed`:
/// counter (j low, j high, 0, 0), key (seed low, seed high).
inline std::array<uint32_t, 4> block(uint64_t seed, uint64_t j) {
  return philox4x32_10({static_cast<uint32_t>(j), static_cast<uint32_t>(j >> 32), 0, 0},
                       {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
}

/// Uniform [0, 1) for flat element i: 53 bits from words (2*(i%2), 2*(i%2)+1) of block(i/2).
inline double uniform(uint64_t seed, uint64_t i) {
  auto w = block(seed, i / 2);
  uint64_t hi = w[2 * (i % 2)], lo = w[2 * (i % 2) + 1];
  return static_cast<double>(((hi << 32) | lo) >> 11) * 0x1p-53;
}

/// Standard normal for flat element i: Box-Muller in f64 on block(i/2),
/// u1 = (w0 + 1) * 2^-32 in (0, 1], u2 = w2 * 2^-32; even i takes the cosine, odd the sine.
inline double normal(uint64_t seed, uint64_t i) {
  auto w = block(seed, i / 2);
  double u1 = (static_cast<double>(w[0]) + 1.0) * 0x1p-32;
  double u2 = static_cast<double>(w[2]) * 0x1p-32;
  double r = std::sqrt(-2.0 * std::log(u1)), theta = 6.283185307179586476925 * u2;
  return i % 2 ? r * std::sin(theta) : r * std::cos(theta);
}

}  // namespace ejit::random
