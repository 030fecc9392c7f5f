// InputFile: regular files only (stat before and after opening), exact reads at offsets.
#include "file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "../support/check.h"
#include "../support/text_io.h"

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

std::string write_file_atomically(const std::string& path, std::initializer_list<std::string_view> parts, bool durable) {
  static std::atomic<uint32_t> counter{0};
  std::string tmp;
  int fd = -1;
  // A name in use (left by a crashed writer with this pid: in a container it is the same pid
  // every run) is skipped: O_EXCL keeps writers of other pid namespaces apart.
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    tmp = fmt::format("{}.tmp-{}-{}", path, static_cast<long>(::getpid()), counter++ % 1000000000u);
    do fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    while (fd < 0 && errno == EINTR);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) return fmt::format("cannot create '{}': {}", tmp, std::strerror(errno));
  std::string why;
  for (std::string_view part : parts)
    if (int e = write_all(fd, part.data(), part.size()); e != 0) {
      why = fmt::format("cannot write '{}': {}", tmp, std::strerror(e));
      break;
    }
  if (why.empty() && durable && ::fsync(fd) != 0) why = fmt::format("cannot flush '{}': {}", tmp, std::strerror(errno));
  if (::close(fd) != 0 && why.empty()) why = fmt::format("cannot close '{}': {}", tmp, std::strerror(errno));
  if (why.empty() && ::rename(tmp.c_str(), path.c_str()) != 0)
    why = fmt::format("cannot rename '{}' to '{}': {}", tmp, path, std::strerror(errno));
  if (!why.empty()) {
    ::unlink(tmp.c_str());
    return why;
  }
  if (durable) {  // the rename itself (best effort: some file systems refuse fsync on folders)
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }
  return "";
}

long temporary_writer(const std::string& name, const std::string& file) {
  const std::string prefix = file + ".tmp-";
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return -1;
  const std::string rest = name.substr(prefix.size());
  const size_t dash = rest.find('-');
  auto digits = [](std::string_view s) {  // a decimal number without a leading zero, at most 9 digits
    return !s.empty() && s.size() <= 9 && s[0] != '0' && s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  const std::string_view pid = std::string_view(rest).substr(0, dash);
  if (!digits(pid)) return -1;
  if (dash != std::string::npos && !(rest.size() > dash + 1 && (rest.substr(dash + 1) == "0" || digits(rest.substr(dash + 1)))))
    return -1;
  return std::stol(std::string(pid));
}

}  // namespace ejit::detail
