// Files of the on-disk kernel cache: KEY.o (object code) and KEY.meta ("extent N").
#include "DiskCache.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "llvm/Config/llvm-config.h"

namespace ejit::detail {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kMaxBytes = 512ll << 20;  // oldest entries go beyond this

uint64_t fnv1a(std::string_view s, uint64_t h) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

/// Identifies the compiler build: the file (executable or shared library) holding this code,
/// by path, size and modification time, so a rebuilt ejit never reads stale kernels.
std::string build_fingerprint() {
  static const std::string fp = [] {
    Dl_info info{};
    struct stat st {};
    if (!dladdr(reinterpret_cast<void*>(&build_fingerprint), &info) || !info.dli_fname || stat(info.dli_fname, &st) != 0)
      return std::string("unknown-build");
    return fmt::format("{}:{}:{}", info.dli_fname, static_cast<int64_t>(st.st_size), static_cast<int64_t>(st.st_mtime));
  }();
  return fp;
}

std::string meta_path(const std::string& key) { return disk_cache_dir() + "/" + key + ".meta"; }
std::string text_path(const std::string& key) { return disk_cache_dir() + "/" + key + ".gpu"; }

void enforce_size_limit(const std::string& dir);

/// Files that hold compiled code (what the size limit and the stats count).
bool is_entry(const fs::path& p) { return p.extension() == ".o" || p.extension() == ".gpu"; }

}  // namespace

std::string disk_cache_dir() {
  const char* env = std::getenv("EJIT_CACHE_DIR");
  if (env && (std::string(env) == "off" || std::string(env) == "0")) return "";
  if (env && *env) return env;
  const char* home = std::getenv("HOME");
  return home && *home ? std::string(home) + "/.cache/ejit" : "";
}

std::string disk_cache_key(std::string_view module_text, std::string_view target, unsigned opt_level) {
  std::string material = fmt::format("ejit-kernel-v1|{}|LLVM {}|{}|O{}|", build_fingerprint(), LLVM_VERSION_STRING,
                                     target, opt_level);
  uint64_t a = fnv1a(module_text, fnv1a(material, 1469598103934665603ull));
  uint64_t b = fnv1a(module_text, fnv1a(material, 0x9e3779b97f4a7c15ull ^ module_text.size()));
  return fmt::format("{:016x}{:016x}", a, b);
}

std::string disk_cache_object_path(const std::string& key) { return disk_cache_dir() + "/" + key + ".o"; }

std::optional<int64_t> disk_cache_read_extent(const std::string& key) {
  std::ifstream in(meta_path(key));
  std::string word;
  int64_t extent;
  if (!(in >> word >> extent) || word != "extent" || extent < 0) return std::nullopt;
  return extent;
}

void disk_cache_store(const std::string& key, const std::string& tmp_object, int64_t extent) {
  std::error_code ec;
  const std::string dir = disk_cache_dir();
  const std::string tmp_meta = tmp_object + ".meta";
  {
    std::ofstream out(tmp_meta);
    out << "extent " << extent << "\n";
    if (!out) return fs::remove(tmp_object, ec), fs::remove(tmp_meta, ec), void();
  }
  // The metadata first: an object is only ever read together with metadata written for it.
  fs::rename(tmp_meta, meta_path(key), ec);
  if (!ec) fs::rename(tmp_object, disk_cache_object_path(key), ec);
  if (ec) fs::remove(tmp_object, ec), fs::remove(tmp_meta, ec);
  enforce_size_limit(dir);
}

namespace {
void enforce_size_limit(const std::string& dir) {
  std::error_code ec;
  // Size limit: drop the least recently written entries.
  std::vector<std::pair<fs::file_time_type, fs::path>> objects;
  int64_t total = 0;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (is_entry(e.path())) {
      total += static_cast<int64_t>(e.file_size(ec));
      objects.emplace_back(e.last_write_time(ec), e.path());
    }
  if (total <= kMaxBytes) return;
  std::sort(objects.begin(), objects.end());
  for (const auto& [time, path] : objects) {
    if (total <= kMaxBytes / 2) break;
    total -= static_cast<int64_t>(fs::file_size(path, ec));
    fs::remove(path, ec);
    fs::path meta = path;
    fs::remove(meta.replace_extension(".meta"), ec);
  }
}

}  // namespace

std::string disk_cache_read_text(const std::string& key) {
  std::ifstream in(text_path(key), std::ios::binary);
  if (!in) return "";
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void disk_cache_store_text(const std::string& key, const std::string& text) {
  const std::string dir = disk_cache_dir();
  if (dir.empty()) return;
  std::error_code ec;
  fs::create_directories(dir, ec);
  const std::string tmp = text_path(key) + fmt::format(".tmp-{}", static_cast<long>(getpid()));
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out) return fs::remove(tmp, ec), void();
  }
  fs::rename(tmp, text_path(key), ec);
  if (ec) fs::remove(tmp, ec);
  enforce_size_limit(dir);
}

DiskCacheStats disk_cache_stats() {
  DiskCacheStats s;
  s.dir = disk_cache_dir();
  std::error_code ec;
  if (s.dir.empty()) return s;
  for (const auto& e : fs::directory_iterator(s.dir, ec))
    if (is_entry(e.path())) ++s.entries, s.bytes += static_cast<int64_t>(e.file_size(ec));
  return s;
}

int64_t disk_cache_clear() {
  const std::string dir = disk_cache_dir();
  std::error_code ec;
  int64_t removed = 0;
  if (dir.empty()) return 0;
  std::vector<fs::path> doomed;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (is_entry(e.path()) || e.path().extension() == ".meta") doomed.push_back(e.path());
  for (const auto& p : doomed) removed += is_entry(p) && fs::remove(p, ec);
  for (const auto& p : doomed) fs::remove(p, ec);
  return removed;
}

}  // namespace ejit::detail
