// `ejit cache stats|clear`: the on-disk cache of compiled kernels (ejit::kernel_cache_stats, ejit/compile.h).
#include <fmt/format.h>

#include "commands.h"
#include "ejit/compile.h"

namespace ejit::tool {

const char* const kCacheHelp = R"(usage: ejit cache stats|clear

The on-disk cache of compiled kernels: jit() and `ejit run` store each compiled kernel's
object code there and load it in later processes instead of compiling again. It lives in
the sub-folder kernels-v2 of $EJIT_CACHE_DIR (default ~/.cache/ejit; EJIT_CACHE_DIR=off
disables it). Entries are keyed by the kernel's IR, the ejit build (its build ID), LLVM's
version, the host CPU and the options, so a rebuilt ejit or another CPU never reads a stale
kernel; each is verified (checksum, key, size) before use, and a damaged one is removed and
compiled again. The folder is kept under 512 MB. Files that ejit did not name are never
touched.
  stats   the folder, the number of kernels and their size
  clear   removes every kernel (and temporary files of processes that died while saving)
)";

int cmd_cache(const std::string& action) {
  if (action == "stats") {
    const KernelCacheStats s = kernel_cache_stats();
    if (s.dir.empty()) return fmt::print("disk cache: off (EJIT_CACHE_DIR=off, or no HOME)\n"), 0;
    fmt::print("disk cache: {}\nkernels: {}\nsize: {:.1f} MB\n", s.dir, s.entries, s.bytes / 1e6);
    return 0;
  }
  if (action == "clear") {
    const std::string dir = kernel_cache_stats().dir;
    if (dir.empty()) return fmt::print("disk cache: off, nothing to clear\n"), 0;
    fmt::print("removed {} kernels from {}\n", kernel_cache_clear(), dir);
    return 0;
  }
  throw UsageError(action.empty() ? "ejit cache needs an action: stats or clear"
                                  : fmt::format("unknown cache action '{}' (expected stats or clear)", action));
}

}  // namespace ejit::tool
