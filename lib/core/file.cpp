// InputFile: regular files only (stat before and after opening), exact reads at offsets.
#include "file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "../support/check.h"

namespace ejit::detail {
namespace {

/// What a file that is not a regular file is, for messages.
const char* kind_of(mode_t mode) {
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "of an unknown kind";
}

/// Throws unless `st` is a regular file's.
void check_regular(const char* op, const std::string& path, const struct stat& st) {
  if (S_ISDIR(st.st_mode)) fail(op, "'{}' is a directory, not a file", path);
  if (!S_ISREG(st.st_mode)) fail(op, "'{}' is not a regular file (it is {})", path, kind_of(st.st_mode));
}

}  // namespace

InputFile::InputFile(const char* op, const std::string& path) : op_(op), path_(path) {
  // stat (which follows symbolic links) first, so no device or FIFO is even opened.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) fail(op, "cannot open '{}': {}", path, std::strerror(errno));
  check_regular(op, path, st);
  // O_NONBLOCK: should the path be swapped for a FIFO meanwhile, open must not wait for a writer.
  do fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  while (fd_ < 0 && errno == EINTR);
  if (fd_ < 0) fail(op, "cannot open '{}': {}", path, std::strerror(errno));
  try {
    if (::fstat(fd_, &st) != 0) fail(op, "cannot read '{}': {}", path, std::strerror(errno));
    check_regular(op, path, st);  // what was opened, not what was there a moment before
  } catch (...) {
    ::close(fd_);
    throw;
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void InputFile::read(uint64_t offset, void* dst, size_t n) const {
  auto* out = static_cast<char*>(dst);
  for (size_t done = 0; done < n;) {
    ssize_t got = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail(op_, "error while reading '{}': {}", path_, std::strerror(errno));
    if (got == 0)
      fail(op_, "'{}': truncated file: it ends at byte {}, {} bytes at byte {} were expected (did it shrink?)", path_,
           offset + done, n, offset);
    done += static_cast<size_t>(got);
  }
}

std::string InputFile::read(uint64_t offset, size_t n) const {
  std::string out(n, '\0');
  read(offset, out.data(), n);
  return out;
}

}  // namespace ejit::detail
