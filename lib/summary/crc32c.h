// CRC-32C (Castagnoli), as TFRecord files frame their records: SSE4.2's crc32 instruction where the
// CPU has it, slicing-by-8 tables elsewhere; and TensorFlow's masking of a stored CRC.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ejit::detail {

/// The CRC-32C (reflected polynomial 0x82F63B78) of n bytes, continuing `crc`, the CRC of the
/// bytes before them (0 to start): crc32c(b, m, crc32c(a, n)) is the CRC of a then b.
/// Uses crc32c_sse42() when crc32c_has_sse42(), else crc32c_portable().
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);
/// The table-driven path (slicing by 8 bytes), on every CPU.
uint32_t crc32c_portable(const void* data, size_t n, uint32_t crc = 0);
/// The SSE4.2 path; only to be called when crc32c_has_sse42() (other CPUs: the table path).
uint32_t crc32c_sse42(const void* data, size_t n, uint32_t crc = 0);
/// True when this CPU has SSE4.2's crc32 instruction (x86-64 only).
bool crc32c_has_sse42();

/// The masked form TFRecord stores ("it is problematic to compute the CRC of a string that
/// contains embedded CRCs"): rotate right by 15 bits, add a constant.
constexpr uint32_t mask_crc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

}  // namespace ejit::detail
