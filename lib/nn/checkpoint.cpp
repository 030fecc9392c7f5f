// Checkpoints as safetensors files: writing (atomic), reading (validated), matching by path.
#include "ejit/checkpoint.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <unordered_map>

#include "../support/check.h"
#include "../core/file.h"
#include "../core/observer.h"

#ifndef EJIT_VERSION
#define EJIT_VERSION "unknown"
#endif

namespace ejit {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors support assumes a little-endian host");

using json = nlohmann::json;
constexpr const char* kOp = "checkpoint";
constexpr uint64_t kMaxHeader = 100'000'000;  // the limit Python's safetensors applies
constexpr const char* kFormatVersion = "1";

const char* st_dtype(DType t) {
  constexpr const char* names[] = {"BOOL", "I32", "I64", "F32", "F64"};
  return names[static_cast<int>(t)];
}

std::optional<DType> dtype_of_st(const std::string& s) {
  for (DType t : {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64})
    if (s == st_dtype(t)) return t;
  return std::nullopt;
}

std::string sys_error() { return std::strerror(errno); }

std::atomic<int64_t> g_fault_after{-1};
std::atomic<bool> g_fault_crash{false};

/// Writes all of `bytes` to fd, honouring the test fault hook.
void write_all(int fd, const std::string& bytes, const std::string& tmp) {
  size_t limit = bytes.size();
  int64_t fault = g_fault_after.exchange(-1);
  if (fault >= 0) limit = std::min(limit, static_cast<size_t>(fault));
  for (size_t done = 0; done < limit;) {
    ssize_t n = ::write(fd, bytes.data() + done, limit - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(kOp, "error while writing '{}': {}", tmp, sys_error());
    done += static_cast<size_t>(n);
  }
  if (fault >= 0) {
    if (g_fault_crash.load()) ::_exit(77);
    fail(kOp, "simulated failure after {} bytes of '{}'", limit, tmp);
  }
}

/// Removes the PATH.tmp-<pid> files that saves killed before their rename left beside `path`:
/// only those whose process is gone (kill(pid, 0) fails with ESRCH), never a live process's.
/// Best effort: whatever cannot be listed or removed stays. In a folder shared with other hosts
/// (or pid namespaces), another host's live save looks dead here; removing its file makes that
/// save fail at its rename with an error, and the previous checkpoint stays whole.
void remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    // What write_atomically names (PATH.tmp-<pid>; pid_max is at most 2^22 on Linux), or
    // write_file_atomically (PATH.tmp-<pid>-<n>).
    const long writer = detail::temporary_writer(it->path().filename().string(), p.filename().string());
    if (writer < 0) continue;
    const pid_t pid = static_cast<pid_t>(writer);
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // EPERM: alive, not ours
    std::error_code type_ec, remove_ec;
    if (it->symlink_status(type_ec).type() == fs::file_type::regular) fs::remove(it->path(), remove_ec);
  }
}

/// Writes bytes to PATH.tmp-<pid>, fsyncs, renames over path, fsyncs the folder. This is
/// core/file's write_file_atomically with a fault injector (set_checkpoint_save_fault, for
/// the tests of a failed and of a crashed save) and one temporary name per process, which
/// remove_stale_temporaries cleans up after a crash.
void write_atomically(const std::string& path, const std::string& bytes) {
  remove_stale_temporaries(path);
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(kOp, "cannot create '{}': {}", tmp, sys_error());
  try {
    write_all(fd, bytes, tmp);
    if (::fsync(fd) != 0) fail(kOp, "cannot flush '{}': {}", tmp, sys_error());
    if (::close(fd) != 0) {
      fd = -1;
      fail(kOp, "cannot close '{}': {}", tmp, sys_error());
    }
    fd = -1;
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail(kOp, "cannot rename '{}' to '{}': {}", tmp, path, sys_error());
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  // Make the rename itself durable (best effort: some file systems refuse fsync on folders).
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

/// Checks an object name: non-empty, no empty segment ("a//b", "/a", "a/").
void check_name(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.back() == '/' || name.find("//") != std::string::npos)
    fail(kOp, "object name '{}' must be non-empty with no empty path segment", name);
}

std::string join(const std::vector<std::string>& names, size_t max = 20) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < max; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > max) out += fmt::format(", ... ({} in all)", names.size());
  return out;
}

/// A safetensors file's table of contents, validated against the file's size.
struct Contents {
  struct Item {
    std::string name;
    DType dtype;
    Shape shape;
    uint64_t begin, end;  // in the file, not in the data
  };
  std::vector<Item> items;  // by offset
  std::map<std::string, std::string> metadata;
};

/// Parses and checks the header of a safetensors file of `size` bytes: its length, its JSON,
/// each entry's dtype, shape and offsets (back to back from the start of the data to the end
/// of the file, as the spec asks). read(offset, n) gives n bytes of the file, n already checked
/// against size, so nothing is read or allocated beyond what the file holds.
template <class Read>
Contents parse_contents(uint64_t size, Read read, const std::string& what) {
  if (size < 8) fail(kOp, "{}: truncated file ({} bytes, not even a header length)", what, size);
  const std::string len = read(0, 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(len[i])) << (8 * i);
  if (n > kMaxHeader) fail(kOp, "{}: corrupt file: header length {} is implausible", what, n);
  if (n > size - 8) fail(kOp, "{}: truncated file: the header needs {} bytes, {} remain", what, n, size - 8);
  json header = json::parse(read(8, static_cast<size_t>(n)), nullptr, false);
  if (header.is_discarded() || !header.is_object())
    fail(kOp, "{}: corrupt file: the header is not a JSON object", what);

  const uint64_t data_start = 8 + n, data_size = size - data_start;
  Contents out;
  for (const auto& [key, v] : header.items()) {
    const auto bad = [&](const std::string& why) { fail(kOp, "{}: corrupt entry '{}': {}", what, key, why); };
    if (key == "__metadata__") {
      if (!v.is_object()) bad("must be an object of strings");
      for (const auto& [k, s] : v.items()) {
        if (!s.is_string()) bad(fmt::format("value of '{}' is not a string", k));
        out.metadata[k] = s.template get<std::string>();
      }
      continue;
    }
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      bad("needs 'dtype', 'shape' and 'data_offsets'");
    const json &jd = v["dtype"], &js = v["shape"], &jo = v["data_offsets"];
    if (!jd.is_string()) bad("'dtype' is not a string");
    auto dtype = dtype_of_st(jd.get<std::string>());
    if (!dtype) bad(fmt::format("dtype {} is not supported (ejit reads BOOL, I32, I64, F32, F64)", jd.dump()));
    if (!js.is_array() || js.size() > static_cast<size_t>(kMaxRank)) bad("'shape' is not an array of at most 16 dims");
    std::vector<int64_t> dims;
    uint64_t span = 1;  // the product of the non-zero dims, bounded as Tensor::empty bounds it
    bool zero = false;
    constexpr auto kMax = static_cast<uint64_t>(kMaxElements);
    for (const json& d : js) {
      // Checked one by one, so that no dim wraps to a negative int64 and no product overflows.
      const uint64_t dim = d.is_number_unsigned() ? d.get<uint64_t>() : kMax + 1;
      if (dim > kMax || (dim != 0 && span > kMax / dim)) bad("'shape' is not a list of sizes of a plausible tensor");
      if (dim == 0) zero = true;
      else span *= dim;
      dims.push_back(static_cast<int64_t>(dim));
    }
    if (!jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() || !jo[1].is_number_unsigned())
      bad("'data_offsets' is not [begin, end]");
    const uint64_t begin = jo[0].get<uint64_t>(), end = jo[1].get<uint64_t>();
    if (end < begin) bad("'data_offsets' end before begin");
    const uint64_t want = zero ? 0 : span * itemsize(*dtype);
    if (end - begin != want)
      bad(fmt::format("{}{} needs {} bytes, its offsets span {}", *dtype, Shape(dims), want, end - begin));
    if (end > data_size)
      fail(kOp, "{}: truncated file: entry '{}' ends at byte {} of the data, which has {}", what, key, end, data_size);
    out.items.push_back({key, *dtype, Shape(dims), data_start + begin, data_start + end});
  }
  // As the spec asks: buffers back to back from 0 to the end of the file, no gaps, no overlap.
  std::stable_sort(out.items.begin(), out.items.end(), [](const Contents::Item& a, const Contents::Item& b) {
    return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
  });
  uint64_t pos = data_start;
  for (const Contents::Item& it : out.items) {
    if (it.begin != pos)
      fail(kOp, "{}: corrupt file: entry '{}' starts at {}, expected {}", what, it.name, it.begin - data_start,
           pos - data_start);
    pos = it.end;
  }
  if (pos != size) fail(kOp, "{}: corrupt file: {} bytes of data follow the last entry", what, size - pos);
  return out;
}

/// The tensors of checked contents, in offset order; read(offset, dst, n) copies n bytes of
/// the file to dst.
template <class Read>
SafeTensors read_tensors(Contents& c, Read read) {
  SafeTensors out;
  out.metadata = std::move(c.metadata);
  for (Contents::Item& it : c.items) {
    Tensor t = Tensor::empty(it.shape, it.dtype);
    read(it.begin, t.raw_data(), static_cast<size_t>(it.end - it.begin));
    if (it.dtype == DType::Bool) {  // any non-zero byte is true
      auto* p = static_cast<unsigned char*>(t.raw_data());
      for (uint64_t i = 0; i < it.end - it.begin; ++i) p[i] = p[i] != 0;
    }
    out.tensors.emplace_back(std::move(it.name), std::move(t));
  }
  return out;
}

}  // namespace

// ---- safetensors bytes ----

std::string safetensors_bytes(const std::vector<std::pair<std::string, Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") fail(kOp, "'__metadata__' cannot name a tensor");
    if (!seen.insert(name).second) fail(kOp, "two tensors are named '{}'", name);
    if (!t.defined()) fail(kOp, "tensor '{}' is undefined", name);
    if (!t.device().is_cpu()) fail(kOp, "tensor '{}' is on {}; copy it to the CPU first", name, t.device().str());
    header[name] = {
        {"dtype", st_dtype(t.dtype())}, {"shape", t.shape().vec()}, {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {  // a name that is not valid UTF-8
    fail(kOp, "cannot write the header: {}", e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((static_cast<uint64_t>(text.size()) >> (8 * i)) & 0xFF);
  out.reserve(8 + text.size() + offset);
  out += text;
  for (const auto& [name, t] : tensors) {
    Tensor host = t.to(Device::cpu());
    if (host.nbytes() != 0) out.append(static_cast<const char*>(host.raw_data()), host.nbytes());  // null when empty
  }
  return out;
}

SafeTensors parse_safetensors(const std::string& bytes, const std::string& what) {
  Contents c = parse_contents(
      bytes.size(), [&](uint64_t offset, size_t n) { return bytes.substr(offset, n); }, what);
  return read_tensors(c, [&](uint64_t offset, void* dst, size_t n) {
    if (n != 0) std::memcpy(dst, bytes.data() + offset, n);  // dst is null for a zero-size tensor
  });
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  write_atomically(path, safetensors_bytes(tensors, metadata));
}

SafeTensors load_safetensors(const std::string& path) {
  detail::InputFile f(kOp, path);
  Contents c = parse_contents(
      f.size(), [&](uint64_t offset, size_t n) { return f.read(offset, n); }, "'" + path + "'");
  return read_tensors(c, [&](uint64_t offset, void* dst, size_t n) { f.read(offset, dst, n); });
}

void detail::set_checkpoint_save_fault(int64_t after_bytes, bool crash) {
  g_fault_crash = crash;
  g_fault_after = after_bytes;
}

// ---- Checkpoint ----

std::string RestoreReport::str() const {
  std::string out = fmt::format("restored {} variables", restored.size());
  if (!unmatched_file_entries.empty())
    out += fmt::format("\n{} file entries matched no variable: {}", unmatched_file_entries.size(),
                       join(unmatched_file_entries));
  if (!unmatched_variables.empty())
    out += fmt::format("\n{} variables are not in the file: {}", unmatched_variables.size(), join(unmatched_variables));
  return out;
}

Checkpoint::Checkpoint(std::initializer_list<Entry> objects) : Checkpoint(std::vector<Entry>(objects)) {}

Checkpoint::Checkpoint(std::vector<Entry> objects) : objects_(std::move(objects)) {
  std::set<std::string> names;
  for (const Entry& e : objects_) {
    check_name(e.name);
    if (!names.insert(e.name).second) fail(kOp, "two objects are named '{}'", e.name);
  }
}

std::vector<std::pair<std::string, Variable>> Checkpoint::named_variables() const {
  std::vector<std::pair<std::string, Variable>> out;
  std::set<std::string> keys;
  for (const Entry& e : objects_) {
    for (auto& [path, var] : e.object.get().named_variables()) {
      std::string key = e.name + "/" + path;
      if (path.empty()) fail(kOp, "object '{}' lists a variable with an empty path", e.name);
      if (!var.defined()) fail(kOp, "variable '{}' is undefined", key);
      if (!keys.insert(key).second) fail(kOp, "two variables have the key '{}'", key);
      out.emplace_back(std::move(key), var);
    }
  }
  return out;
}

void Checkpoint::save(const std::string& path) const {
  detail::PauseRecording pause;  // reading values to save them is no op of a tape or trace
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (auto& [key, var] : named_variables()) tensors.emplace_back(key, var.value());
  json objects = json::array();
  for (const Entry& e : objects_) objects.push_back(e.name);
  std::map<std::string, std::string> metadata{{"format", "ejit.checkpoint"},
                                              {"format_version", kFormatVersion},
                                              {"ejit_version", EJIT_VERSION},
                                              {"objects", objects.dump()}};
  save_safetensors(path, tensors, metadata);
}

RestoreReport Checkpoint::restore(const std::string& path, bool strict) const {
  detail::PauseRecording pause;
  SafeTensors file = load_safetensors(path);
  // Files from other tools carry no ejit metadata; they are matched by key all the same.
  const auto meta = [&](const char* k) {
    auto it = file.metadata.find(k);
    return it == file.metadata.end() ? std::string() : it->second;
  };
  if (meta("format") == "ejit.checkpoint" && meta("format_version") != kFormatVersion)
    fail(kOp, "'{}' has checkpoint format version '{}'; this ejit reads version {}", path, meta("format_version"),
         kFormatVersion);

  // Match and validate everything first: nothing is assigned unless all of it fits.
  auto vars = named_variables();
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < vars.size(); ++i) index.emplace(vars[i].first, i);
  RestoreReport report;
  std::vector<std::pair<Variable, Tensor>> assignments;
  std::vector<bool> matched(vars.size(), false);
  std::vector<std::string> mismatches;
  for (auto& [key, t] : file.tensors) {
    auto it = index.find(key);
    if (it == index.end()) {
      report.unmatched_file_entries.push_back(key);
      continue;
    }
    const Variable& v = vars[it->second].second;
    matched[it->second] = true;
    if (v.dtype() != t.dtype() || v.shape() != t.shape())
      mismatches.push_back(
          fmt::format("'{}' is {}{} in the file, {}{} in the object", key, t.dtype(), t.shape(), v.dtype(), v.shape()));
    report.restored.push_back(key);
    assignments.emplace_back(v, t);
  }
  for (size_t i = 0; i < vars.size(); ++i)
    if (!matched[i]) report.unmatched_variables.push_back(vars[i].first);
  if (!mismatches.empty())
    fail(kOp, "'{}' does not fit the objects (nothing restored): {}", path, join(mismatches, 10));
  if (strict && !report.complete()) {
    std::string what;
    if (!report.unmatched_file_entries.empty())
      what += fmt::format("file entries matching no variable: {}", join(report.unmatched_file_entries));
    if (!report.unmatched_variables.empty())
      what += fmt::format("{}variables missing from the file: {}", what.empty() ? "" : "; ",
                          join(report.unmatched_variables));
    fail(kOp, "strict restore of '{}' (nothing restored): {}", path, what);
  }
  for (auto& [v, t] : assignments) v.assign(t);
  return report;
}

}  // namespace ejit
