// Files of the on-disk kernel cache: one file per entry, KEY.entry, holding a text header
// (format, key, extent, payload size, SHA-256) and the payload, in $EJIT_CACHE_DIR/kernels-v2.
#include "kernel_cache.h"
#include "../support/options.h"
#include "../../core/file.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "llvm/Config/llvm-config.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SHA256.h"

namespace ejit::detail {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kMaxBytes = 512ll << 20;       // oldest entries go beyond this
constexpr int64_t kMaxEntryBytes = 256ll << 20;  // a bigger file is not an entry
constexpr const char* kSubFolder = "kernels-v2";
constexpr const char* kMagic = "ejit-cache-entry 2";

bool log_cache() { return options::log("cache"); }

uint64_t fnv1a(std::string_view s, uint64_t h) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string hex(llvm::ArrayRef<uint8_t> bytes) {
  std::string s;
  for (uint8_t b : bytes) s += fmt::format("{:02x}", b);
  return s;
}

/// The GNU build ID of the ELF object (executable or shared library) holding this code.
std::string elf_build_id() {
  struct Search {
    uintptr_t address;
    std::string id;
  } search{reinterpret_cast<uintptr_t>(&elf_build_id), ""};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto& s = *static_cast<Search*>(data);
        bool contains = false;
        for (int i = 0; i < info->dlpi_phnum && !contains; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          uintptr_t start = info->dlpi_addr + ph.p_vaddr;
          contains = ph.p_type == PT_LOAD && s.address >= start && s.address < start + ph.p_memsz;
        }
        if (!contains) return 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE) continue;
          const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
          const char* end = p + ph.p_memsz;
          while (p + sizeof(ElfW(Nhdr)) <= end) {
            const auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
            const char* name = p + sizeof(ElfW(Nhdr));
            const char* desc = name + ((note->n_namesz + 3) & ~3u);
            if (desc + note->n_descsz > end) break;
            if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0)
              s.id = hex({reinterpret_cast<const uint8_t*>(desc), note->n_descsz});
            p = desc + ((note->n_descsz + 3) & ~3u);
          }
        }
        return 1;
      },
      &search);
  return search.id;
}

/// Identifies the compiler build: the GNU build ID of the binary holding this code (the same
/// build gives the same ID whatever path it is started from, and a rebuild a new one); without
/// one, a SHA-256 of that file.
std::string build_fingerprint() {
  static const std::string& fp = *new std::string([] {
    if (std::string id = elf_build_id(); !id.empty()) return "build-id:" + id;
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&build_fingerprint), &info) && info.dli_fname) {
      std::ifstream in(info.dli_fname, std::ios::binary);
      llvm::SHA256 sha;
      std::vector<char> buffer(1 << 20);
      while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0)
        sha.update(llvm::StringRef(buffer.data(), static_cast<size_t>(in.gcount())));
      return "sha256:" + hex(sha.final());
    }
    return std::string("unknown-build");
  }());
  return fp;
}

bool is_key(std::string_view s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(c) && !std::isupper(c); });
}

/// KEY.entry: an entry's name.
bool is_entry_name(const std::string& name) {
  return name.size() == 38 && name.compare(32, 6, ".entry") == 0 && is_key(std::string_view(name).substr(0, 32));
}

/// KEY.entry.tmp-PID-N: a temporary file (write_file_atomically's); the pid of its writer, or
/// -1 for other names.
long temp_file_pid(const std::string& name) {
  if (name.size() < 44 || !is_entry_name(name.substr(0, 38))) return -1;
  return temporary_writer(name, name.substr(0, 38));
}

bool process_is_dead(long pid) { return kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH; }

std::string entry_path(const std::string& dir, const std::string& key) { return dir + "/" + key + ".entry"; }

std::string checksum(const std::string& key, int64_t extent, std::string_view payload) {
  llvm::SHA256 sha;
  sha.update(llvm::StringRef(fmt::format("{}|{}|", key, extent)));
  sha.update(llvm::StringRef(payload.data(), payload.size()));
  return hex(sha.final());
}

/// Removes a bad entry (whatever kind of file has its name) and says why.
void drop_entry(const std::string& path, const std::string& why) {
  std::error_code ec;
  fs::remove(path, ec);
  if (log_cache()) fmt::print(stderr, "[ejit cache] removed a bad disk cache entry {}: {}\n", path, why);
}

void enforce_size_limit(const std::string& dir);

}  // namespace

std::string disk_cache_dir() {
  const std::string root = options::cache_root();
  return root.empty() ? "" : root + "/" + kSubFolder;
}

std::string disk_cache_key(std::string_view module_text, std::string_view target, unsigned opt_level) {
  std::string material = fmt::format("ejit-kernel-v2|{}|LLVM {}|{}|O{}|", build_fingerprint(), LLVM_VERSION_STRING,
                                     target, opt_level);
  uint64_t a = fnv1a(module_text, fnv1a(material, 1469598103934665603ull));
  uint64_t b = fnv1a(module_text, fnv1a(material, 0x9e3779b97f4a7c15ull ^ module_text.size()));
  return fmt::format("{:016x}{:016x}", a, b);
}

bool disk_cache_writable() {
  const std::string dir = disk_cache_dir();
  if (dir.empty()) return false;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (fs::is_directory(dir, ec) && access(dir.c_str(), W_OK | X_OK) == 0) return true;
  static auto& mu = *new std::mutex;  // leaked: the compile thread may run during exit
  static auto& reported = *new std::set<std::string>;  // say it once per folder
  std::lock_guard lock(mu);
  if (reported.insert(dir).second && log_cache())
    fmt::print(stderr, "[ejit cache] the disk cache folder {} is not usable: kernels are not stored\n", dir);
  return false;
}

std::optional<DiskEntry> disk_cache_read(const std::string& key) {
  const std::string dir = disk_cache_dir();
  if (dir.empty() || !is_key(key)) return std::nullopt;
  const std::string path = entry_path(dir, key);
  // O_NOFOLLOW and O_NONBLOCK: a symlink or a FIFO in an entry's place never blocks or leads
  // elsewhere; fstat then insists on a regular file of bounded size.
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT && errno != ENOTDIR) drop_entry(path, std::string("cannot be opened: ") + std::strerror(errno));
    return std::nullopt;
  }
  struct stat st {};
  std::string bytes;
  std::string bad;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) bad = "not a regular file";
  else if (st.st_size > kMaxEntryBytes) bad = fmt::format("{} bytes, above the {} limit", st.st_size, kMaxEntryBytes);
  else {
    bytes.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < bytes.size()) {
      ssize_t n = read(fd, bytes.data() + got, bytes.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got != bytes.size()) bad = "short read";
  }
  close(fd);
  if (!bad.empty()) return drop_entry(path, bad), std::nullopt;
  // The header: five lines, then a blank line, then the payload.
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (lines.size() < 6) {
    size_t nl = bytes.find('\n', pos);
    if (nl == std::string::npos || nl - pos > 200) break;
    lines.push_back(std::string_view(bytes).substr(pos, nl - pos));
    pos = nl + 1;
  }
  auto field = [&](size_t i, std::string_view name) -> std::string_view {
    if (lines.size() <= i || lines[i].substr(0, name.size() + 1) != std::string(name) + " ") return {};
    return lines[i].substr(name.size() + 1);
  };
  auto number = [](std::string_view s, int64_t& v) {
    if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    v = std::stoll(std::string(s));
    return true;
  };
  int64_t extent = 0, size = 0;
  if (lines.size() != 6 || lines[0] != kMagic || !lines[5].empty()) bad = "not an ejit cache entry of this version";
  else if (field(1, "key") != key) bad = "it holds another key";
  else if (!number(field(2, "extent"), extent) || !number(field(3, "size"), size)) bad = "a malformed header";
  else if (static_cast<uint64_t>(size) != bytes.size() - pos) bad = "a payload size that does not match the file";
  DiskEntry entry;
  if (bad.empty()) {
    const std::string sha256(field(4, "sha256"));  // before the header (which `lines` views) goes
    entry.extent = extent;
    bytes.erase(0, pos);  // the payload, in place: not copied again
    entry.payload = std::move(bytes);
    if (sha256 != checksum(key, extent, entry.payload)) bad = "its checksum does not match its contents";
  }
  if (!bad.empty()) return drop_entry(path, bad), std::nullopt;
  return entry;
}

void disk_cache_store(const std::string& key, int64_t extent, std::string_view payload) {
  if (!is_key(key) || extent < 0 || !disk_cache_writable()) return;
  const std::string dir = disk_cache_dir();
  const std::string header = fmt::format("{}\nkey {}\nextent {}\nsize {}\nsha256 {}\n\n", kMagic, key, extent,
                                         payload.size(), checksum(key, extent, payload));
  // A cache that cannot be written is no error: the entry is simply not kept.
  (void)write_file_atomically(entry_path(dir, key), {header, payload});
  enforce_size_limit(dir);
}

void disk_cache_remove(const std::string& key) {
  const std::string dir = disk_cache_dir();
  if (!dir.empty() && is_key(key)) (void)::unlink(entry_path(dir, key).c_str());
}

std::string disk_cache_read_text(const std::string& key) {
  std::optional<DiskEntry> e = disk_cache_read(key);
  return e ? std::move(e->payload) : std::string();
}

void disk_cache_store_text(const std::string& key, std::string_view text) { disk_cache_store(key, 0, text); }

std::string KernelKey::digest() const { return disk_cache_key(source, kind + "|" + target, opt_level); }

std::optional<std::string> lookup_or_build(const KernelKey& key, bool keep_in_memory,
                                           const std::function<std::optional<std::string>()>& build, CacheHit* hit) {
  static auto& memo_mutex = *new std::mutex;  // leaked: the compile thread may run during exit
  static auto& memo = *new std::map<std::string, std::string>;  // digest -> payload, for the life of the process
  const std::string digest = key.digest();
  auto found = [&](CacheHit where, std::string payload) {
    if (hit) *hit = where;
    if (log_cache())
      fmt::print(stderr, "[ejit cache] {} kernel {} for {}: {}\n", key.kind, digest, key.target,
                 where == CacheHit::Built ? "built" : where == CacheHit::Memory ? "in memory" : "from disk");
    if (keep_in_memory && where != CacheHit::Memory) {
      std::lock_guard lock(memo_mutex);
      memo[digest] = payload;
    }
    return std::optional<std::string>(std::move(payload));
  };
  if (keep_in_memory) {
    std::optional<std::string> kept;
    {
      std::lock_guard lock(memo_mutex);
      if (auto it = memo.find(digest); it != memo.end()) kept = it->second;
    }
    if (kept) return found(CacheHit::Memory, std::move(*kept));
  }
  if (!disk_cache_dir().empty())
    if (std::optional<DiskEntry> e = disk_cache_read(digest)) return found(CacheHit::Disk, std::move(e->payload));
  std::optional<std::string> built = build();
  if (!built) return std::nullopt;
  if (!disk_cache_dir().empty()) disk_cache_store(digest, 0, *built);
  return found(CacheHit::Built, std::move(*built));
}

namespace {

void enforce_size_limit(const std::string& dir) {
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> entries;
  int64_t total = 0;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (long pid = temp_file_pid(name); pid > 0) {  // a save that a killed process left behind
      if (process_is_dead(pid)) fs::remove(e.path(), ec);
      continue;
    }
    if (!is_entry_name(name) || !e.is_regular_file(ec)) continue;
    total += static_cast<int64_t>(e.file_size(ec));
    entries.emplace_back(e.last_write_time(ec), e.path());
  }
  if (total <= kMaxBytes) return;
  std::sort(entries.begin(), entries.end());
  for (const auto& [time, path] : entries) {
    if (total <= kMaxBytes / 2) break;
    total -= static_cast<int64_t>(fs::file_size(path, ec));
    fs::remove(path, ec);
  }
}

}  // namespace

DiskCacheStats disk_cache_stats() {
  DiskCacheStats s;
  s.dir = disk_cache_dir();
  std::error_code ec;
  if (s.dir.empty()) return s;
  for (const auto& e : fs::directory_iterator(s.dir, ec))
    if (is_entry_name(e.path().filename().string()) && e.is_regular_file(ec))
      ++s.entries, s.bytes += static_cast<int64_t>(e.file_size(ec));
  return s;
}

int64_t disk_cache_clear() {
  const std::string dir = disk_cache_dir();
  std::error_code ec;
  int64_t removed = 0;
  if (dir.empty()) return 0;
  std::vector<fs::path> doomed;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    long pid = temp_file_pid(name);
    if (is_entry_name(name) || (pid > 0 && process_is_dead(pid))) doomed.push_back(e.path());
  }
  for (const auto& p : doomed)
    if (fs::remove(p, ec) && is_entry_name(p.filename().string())) ++removed;
  return removed;
}

}  // namespace ejit::detail
