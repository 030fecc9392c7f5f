// Small helpers shared by the writers of files ejit produces (profiles, TensorBoard events):
// UTF-8 validation, and writing a whole buffer to a file descriptor.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string_view>

namespace ejit::detail {

/// The length of the well-formed UTF-8 sequence starting at s[i] (1 for ASCII), or 0 when
/// it is not one (overlong forms, surrogates, code points past U+10FFFF: RFC 3629's table).
inline size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  const size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  // The second byte's range depends on the first; later ones are 80..BF.
  const auto c1 = static_cast<unsigned char>(s[i + 1]);
  const unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
  const unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
  if (c1 < lo || c1 > hi) return 0;
  for (size_t k = 2; k < len; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return len;
}

/// True when all of s is well-formed UTF-8.
inline bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = utf8_sequence_length(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

/// Writes all n bytes (retrying after signals); 0, or the errno of the failure (EIO when
/// write() wrote nothing). `written` says how many bytes went out.
inline int write_all(int fd, const char* data, size_t n, size_t* written = nullptr) {
  size_t done = 0;
  int error = 0;
  while (done < n) {
    const ssize_t w = ::write(fd, data + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      error = w < 0 ? errno : EIO;
      break;
    }
    done += static_cast<size_t>(w);
  }
  if (written) *written = done;
  return error;
}

}  // namespace ejit::detail
