// InputFile: reads untrusted files: regular files only, their size known before anything is allocated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ejit::detail {

/// A regular file open for reading. Loaders read a header first, check the sizes it announces
/// against size(), and only then allocate and read the data, so a hostile or corrupt file can
/// never make them allocate more than the file holds.
class InputFile {
 public:
  /// Opens `path`; throws ejit::Error "[op] ..." when it is missing or unreadable, a
  /// directory, or not a regular file (a device such as /dev/zero, a FIFO or a socket, also
  /// when reached through a symbolic link). Opening never blocks, even on a FIFO.
  InputFile(const char* op, const std::string& path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  /// The file's size in bytes when it was opened.
  uint64_t size() const { return size_; }
  /// Reads exactly n bytes at `offset` into dst (n may be 0, dst may then be null); throws
  /// "[op] 'path': truncated file ..." when the file ends first (it shrank while being read).
  void read(uint64_t offset, void* dst, size_t n) const;
  /// Reads exactly n bytes at `offset`; n must have been checked against size().
  std::string read(uint64_t offset, size_t n) const;

 private:
  const char* op_;
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace ejit::detail
