// InputFile: reads untrusted files: regular files only, their size known before anything is
// allocated. write_file_atomically: whole files or nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

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

/// Writes `parts`, one after the other, to `path` through a temporary file beside it,
/// renamed into place: a reader sees the old file or the new one, never half of one. The
/// temporary is PATH.tmp-<pid>-<n> (n counts this process's writes, below 10^9; a name in use
/// is skipped), so no two writers, threads or processes, share one; it is removed when
/// anything fails. `durable`: fsync
/// the file before the rename, and its folder after it. "" on success, else why (naming
/// the file and the system's error).
std::string write_file_atomically(const std::string& path, std::initializer_list<std::string_view> parts,
                                  bool durable = false);
/// The pid in the name of a temporary of write_file_atomically for `path` (FILE.tmp-<pid>-<n>,
/// or FILE.tmp-<pid> as older versions named it), or -1 when `name` is not one.
long temporary_writer(const std::string& name, const std::string& file);

}  // namespace ejit::detail
