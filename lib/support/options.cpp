#include "options.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "check.h"

namespace ejit::options {
namespace {

struct Row {
  const char* name;
  const char* doc;
};
constexpr Row kRows[] = {
#define EJIT_OPTION(id, name, doc) {name, doc},
#include "options.def"
};

/// Whether a comma-separated list holds `item`.
bool list_has(std::string_view list, std::string_view item) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (list.substr(0, comma) == item) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::string or_empty(Var v) { return get(v).value_or(""); }
std::optional<std::string> non_empty(Var v) {
  std::optional<std::string> s = get(v);
  return s && !s->empty() ? s : std::nullopt;
}

}  // namespace

const char* name(Var v) { return kRows[static_cast<int>(v)].name; }
const char* doc(Var v) { return kRows[static_cast<int>(v)].doc; }

std::optional<std::string> get(Var v) {
  const char* value = std::getenv(name(v));
  return value ? std::optional<std::string>(value) : std::nullopt;
}

int num_threads() {
  const int n = std::atoi(or_empty(Var::NumThreads).c_str());
  return n > 0 ? n : 0;
}
std::string isa() { return or_empty(Var::Isa); }
std::optional<std::string> blas() { return get(Var::Blas); }
long cache_limit_mb() {
  const std::optional<std::string> s = get(Var::CacheLimitMB);
  const long mb = s ? std::atol(s->c_str()) : 4096;
  return mb < 0 ? 0 : mb;
}

bool dump(std::string_view stage) {
  static const std::string& list = *new std::string(or_empty(Var::Dump));  // leaked: read during exit too
  return list_has(list, "all") || list_has(list, stage);
}
bool dump_any() {
  static const bool any = !or_empty(Var::Dump).empty();
  return any;
}

std::string cache_root() {
  const std::optional<std::string> dir = get(Var::CacheDir);
  if (dir && (*dir == "off" || *dir == "0")) return "";
  if (dir && !dir->empty()) return *dir;
  if (std::optional<std::string> home = non_empty(Var::Home)) return *home + "/.cache/ejit";
  return "";
}

std::optional<std::string> cuda_arch() {
  static const auto& arch = *new std::optional<std::string>(non_empty(Var::CudaArch));
  return arch;
}
std::string default_device() { return get(Var::DefaultDevice).value_or("auto"); }
std::optional<std::string> libcuda() { return non_empty(Var::LibCuda); }
std::optional<std::string> libcublas() { return non_empty(Var::LibCublas); }
bool cuda_sync() {
  static const bool on = or_empty(Var::CudaSync) == "1";
  return on;
}
bool gpu_matmul_generated() { return or_empty(Var::GpuMatmul) == "generated"; }
std::string cuda_home() {
  std::optional<std::string> home = non_empty(Var::CudaHome);
  return home ? *home : "/usr/local/cuda";
}
unsigned opt_level() {
  static const std::string& s = *new std::string(or_empty(Var::OptLevel));
  if (s.empty()) return 2;
  if (s.size() != 1 || s[0] < '0' || s[0] > '3') fail("options", "EJIT_OPT_LEVEL={} is not 0, 1, 2 or 3", s);
  return static_cast<unsigned>(s[0] - '0');
}
bool log(std::string_view topic) {
  static const std::string& list = *new std::string(or_empty(Var::Log));
  return list.find(topic) != std::string::npos;
}
bool codegen_matmul() {
  static const bool on = or_empty(Var::CodegenMatmul) == "1";
  return on;
}
namespace {
/// The largest cache the first CPU sees, from sysfs (/sys/devices/system/cpu/cpu0/cache):
/// glibc's sysconf(_SC_LEVEL3_CACHE_SIZE) gives the whole socket's L3 on AMD EPYC (256 MiB
/// where one core's L3 is 32 MiB). 0 where unknown.
long long largest_cache_bytes() {
  long long best = 0;
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    std::FILE* f = std::fopen((dir + "size").c_str(), "r");
    if (!f) break;
    long long size = 0;
    char unit = 0;
    const int read = std::fscanf(f, "%lld%c", &size, &unit);
    std::fclose(f);
    if (read < 1 || size <= 0) continue;
    if (read == 2 && (unit == 'K' || unit == 'k')) size <<= 10;
    if (read == 2 && (unit == 'M' || unit == 'm')) size <<= 20;
    best = std::max(best, size);
  }
  return best;
}
}  // namespace

long long streaming_bytes() {
  static const long long bytes = [] {
    const std::string s = or_empty(Var::StreamingMB);
    // Twice the cache: a kernel's result that is about the cache's size still partly sits in
    // it for the next kernel (docs/DESIGN-NOTES.md, streaming stores).
    if (s.empty()) return std::max(64LL << 20, 2 * largest_cache_bytes());
    char* end = nullptr;
    const long long mb = std::strtoll(s.c_str(), &end, 10);
    if (end == s.c_str() || *end != 0 || mb < 0 || mb > (1LL << 30))
      fail("options", "EJIT_STREAMING_MB={} is not a number of MiB from 0 to 2^30", s);
    return mb << 20;
  }();
  return bytes;
}
bool compile_sync() {
  static const std::string& s = *new std::string(or_empty(Var::Compile));
  if (s.empty() || s == "background") return false;
  if (s != "sync") fail("options", "EJIT_COMPILE={} is not sync or background", s);
  return true;
}
namespace {
/// A 0/1 switch: unset or "0" is off, "1" on, anything else an error naming the variable.
bool zero_or_one(Var v, const char* name) {
  const std::string s = or_empty(v);
  if (s.empty() || s == "0") return false;
  if (s != "1") fail("options", "{}={} is not 0 or 1", name, s);
  return true;
}
}  // namespace
Dynamic dynamic_dims() {
  static const Dynamic d = [] {
    const std::string s = or_empty(Var::Dynamic);
    if (s.empty()) return Dynamic::Auto;
    return zero_or_one(Var::Dynamic, "EJIT_DYNAMIC") ? Dynamic::On : Dynamic::Off;
  }();
  return d;
}
Nccl nccl() {
  const std::string s = or_empty(Var::Nccl);
  if (s.empty() || s == "auto") return Nccl::Auto;
  if (s == "on") return Nccl::On;
  if (s == "off") return Nccl::Off;
  fail("options", "EJIT_NCCL={} is not auto, on or off", s);
}
std::optional<std::string> libnccl() { return non_empty(Var::LibNccl); }
std::optional<std::string> launcher_rank() {
  if (std::optional<std::string> r = non_empty(Var::OmpiRank)) return r;
  return non_empty(Var::PmiRank);
}
std::string linker() {
  const std::string s = or_empty(Var::Linker);
  return s.empty() ? "cc" : s;
}

double dist_timeout() {
  const std::string s = or_empty(Var::DistTimeout);
  if (s.empty()) return 300;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || !(v > 0)) fail("options", "EJIT_DIST_TIMEOUT={} is not a positive number of seconds", s);
  return v;
}
bool strict_numerics() {
  static const bool on = zero_or_one(Var::Strict, "EJIT_STRICT");
  return on;
}
std::optional<std::string> profile_path() {
  static const auto& path = *new std::optional<std::string>(get(Var::Profile));  // leaked: read at exit
  return path;
}
bool check_kernels() {
  static const bool on = get(Var::CheckKernels).has_value();
  return on;
}

}  // namespace ejit::options
