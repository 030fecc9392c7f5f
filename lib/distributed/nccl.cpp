// NCCL loaded at run time: the library, its entry points, and ejit's dtypes and ops in its terms.
#include "nccl.h"

#include <dlfcn.h>

#include <map>
#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "../support/options.h"

namespace ejit::distributed::detail {
namespace {

// ncclDataType_t and ncclRedOp_t values (nccl.h, stable since NCCL 2.0).
constexpr int kNcclUint8 = 1, kNcclInt32 = 2, kNcclInt64 = 4, kNcclFloat32 = 7, kNcclFloat64 = 8;
constexpr int kNcclSum = 0, kNcclMax = 2, kNcclMin = 3;
constexpr int kMinimumVersion = 2400;  // ncclCommGetAsyncError and ncclCommAbort came in 2.4

template <class F> bool resolve(void* lib, const std::string& library, const char* name, F& fn, std::string& why) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn) why = fmt::format("{} has no {} (not NCCL 2?)", library, name);
  return fn != nullptr;
}

struct Loaded {
  NcclApi api;
  std::string why;  // empty when api is usable
};

Loaded load(const std::string& library) {
  Loaded l;
  void* lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* e = dlerror();
    l.why = fmt::format("NCCL ({}) cannot be loaded{}", library, e ? std::string(": ") + e : "");
    return l;
  }
  NcclApi& a = l.api;
  std::string& w = l.why;
  const bool ok = resolve(lib, library, "ncclGetVersion", a.ncclGetVersion, w) && resolve(lib, library, "ncclGetUniqueId", a.ncclGetUniqueId, w) &&
                  resolve(lib, library, "ncclCommInitRank", a.ncclCommInitRank, w) &&
                  resolve(lib, library, "ncclCommDestroy", a.ncclCommDestroy, w) && resolve(lib, library, "ncclCommAbort", a.ncclCommAbort, w) &&
                  resolve(lib, library, "ncclCommGetAsyncError", a.ncclCommGetAsyncError, w) &&
                  resolve(lib, library, "ncclAllReduce", a.ncclAllReduce, w) && resolve(lib, library, "ncclBroadcast", a.ncclBroadcast, w) &&
                  resolve(lib, library, "ncclGetErrorString", a.ncclGetErrorString, w);
  if (!ok) return l;
  a.ncclCommInitRankConfig = reinterpret_cast<decltype(a.ncclCommInitRankConfig)>(dlsym(lib, "ncclCommInitRankConfig"));
  if (a.ncclGetVersion(&a.version) != 0) {
    l.why = fmt::format("{}: ncclGetVersion failed", library);
    return l;
  }
  if (a.version < kMinimumVersion)
    l.why = fmt::format("{} is {}; ejit needs NCCL 2.4 or later", library, nccl_version_text(a.version));
  return l;
}

}  // namespace

std::string nccl_library() { return options::libnccl().value_or("libnccl.so.2"); }

const NcclApi* load_nccl(const std::string& library, std::string& why) {
  static std::mutex& mu = *new std::mutex;  // leaked, as the map: used at exit too
  static auto& loaded = *new std::map<std::string, std::unique_ptr<Loaded>>;  // leaked: used at exit
  std::lock_guard lock(mu);
  std::unique_ptr<Loaded>& l = loaded[library];
  if (!l) l = std::make_unique<Loaded>(load(library));
  why = l->why;
  return l->why.empty() ? &l->api : nullptr;
}

int nccl_dtype(DType dtype) {
  switch (dtype) {
    case DType::Bool: return kNcclUint8;
    case DType::I32: return kNcclInt32;
    case DType::I64: return kNcclInt64;
    case DType::F32: return kNcclFloat32;
    case DType::F64: return kNcclFloat64;
  }
  return -1;
}

int nccl_op(Op op, DType dtype) {
  switch (op) {
    case Op::Sum: case Op::Mean: return dtype == DType::Bool ? kNcclMax : kNcclSum;
    case Op::Max: return kNcclMax;
    case Op::Min: return kNcclMin;
  }
  return -1;
}

std::string nccl_version_text(int code) {
  const bool old = code < 10000;  // NCCL_VERSION: X*1000+Y*100+Z up to 2.8, X*10000+Y*100+Z after
  const int major = old ? code / 1000 : code / 10000, rest = old ? code % 1000 : code % 10000;
  return fmt::format("NCCL {}.{}.{}", major, rest / 100, rest % 100);
}

}  // namespace ejit::distributed::detail
