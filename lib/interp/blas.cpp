// Loads OpenBLAS with dlopen, after telling it the real CPU core type.
//
// Debian's OpenBLAS picks its kernels when it is loaded, and on these machines its CPU
// detection falls back to generic SSE kernels (about 4x slower). Loading it ourselves lets
// ejit set OPENBLAS_CORETYPE first (SkylakeX on AVX-512 CPUs, Haswell on AVX2 CPUs) unless
// the user set it. ejit's pool splits the work and calls the BLAS from its threads, so the
// BLAS runs single-threaded (openblas_set_num_threads(1)): never a second pool of spinning
// threads. Debian's serial build is NOT safe to call from two threads at once (its buffer
// pool is unlocked: 1-3% of concurrent 256x784x512 sgemms came out wrong), so the pthread
// build, which locks it, is preferred; a sequential build found instead is called from one
// thread at a time.
#include "blas.h"
#include "../support/options.h"

#include <dlfcn.h>

#include <cstdlib>
#include <string>

#include "ejit/runtime.h"

namespace ejit::detail {
namespace {

const char* core_type_for_this_cpu() {
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;
}

Blas load() {
  Blas b;
  if (!options::get(options::Var::OpenBlasCoreType))
    if (const char* core = core_type_for_this_cpu()) setenv(options::name(options::Var::OpenBlasCoreType), core, 0);
  std::string tried;
  const std::optional<std::string> forced = options::blas();
  for (const char* path : {forced ? forced->c_str() : nullptr, "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0", "libopenblas.so.0",
                           "/usr/lib/x86_64-linux-gnu/openblas-serial/libopenblas.so.0"}) {
    if (!path) continue;
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      tried += std::string(tried.empty() ? "" : "; ") + path;
      continue;
    }
    b.sgemm = reinterpret_cast<SgemmFn>(dlsym(h, "cblas_sgemm"));
    b.dgemm = reinterpret_cast<DgemmFn>(dlsym(h, "cblas_dgemm"));
    if (!b.sgemm || !b.dgemm) {
      b.sgemm = nullptr, b.dgemm = nullptr;
      continue;
    }
    if (auto set_threads = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"))) set_threads(1);
    // 0: sequential build (unlocked), 1: pthreads, 2: OpenMP.
    auto get_parallel = reinterpret_cast<int (*)()>(dlsym(h, "openblas_get_parallel"));
    b.concurrent_calls = get_parallel && get_parallel() != 0;
    std::string core = "?";
    if (auto get_core = reinterpret_cast<char* (*)()>(dlsym(h, "openblas_get_corename"))) core = get_core();
    b.description = std::string("OpenBLAS (") + path + ", core " + core +
                    (b.concurrent_calls ? "" : ", sequential build: one call at a time") + ")";
    return b;
  }
  b.description = "built-in loops (no OpenBLAS found: tried " + tried + ")";
  return b;
}

}  // namespace

const Blas& blas() {
  static const Blas b = load();
  return b;
}

}  // namespace ejit::detail

std::string ejit::matmul_backend() { return detail::blas().description; }
