// The one kernel cache of both back ends: KernelKey names a kernel, lookup_or_build finds it
// in memory or on disk or builds it. The on-disk half: entries keyed by the kernel's MLIR text, the
// compiler build, LLVM's version, the target and the options, so a new process skips
// compilation. Under $EJIT_CACHE_DIR (default ~/.cache/ejit), in its own sub-folder;
// EJIT_CACHE_DIR=off disables it. Entries are untrusted files: each is verified (a regular
// file, size-capped, its key, extent and a SHA-256 of its contents) before use, and a bad
// one is deleted so that the kernel compiles again.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ejit/compile.h"

namespace ejit::detail {

using DiskCacheStats = KernelCacheStats;  // the folder, its entries and their bytes

/// One entry: the kernel's row-chunk extent (CPU kernels) and its payload (object code, or
/// a GPU group's plan and PTX).
struct DiskEntry {
  int64_t extent = 0;
  std::string payload;
};

/// What a compiled kernel depends on. Its digest names the disk entry; it also covers the
/// compiler build (a fingerprint of the running binary) and LLVM's version.
struct KernelKey {
  std::string kind;       // "cpu" (object code), "cpu-fast" (a first tier's), "gpu-plan" (a group's plan and PTX), "gpu-template"
  std::string source;     // the MLIR text compiled, plus anything else that shapes the code
  std::string target;     // the host's triple, CPU and features, or the CUDA chip
  unsigned opt_level = 0;
  std::string digest() const;
};

/// Where lookup_or_build found a kernel.
enum class CacheHit { Built, Memory, Disk };

/// The one lookup path: the in-memory copy (when keep_in_memory), else the disk entry, else
/// build(), whose result is stored in both. build returns nullopt on failure (it keeps its
/// own error); nothing is cached then. A digest appears in the log with EJIT_LOG=cache.
std::optional<std::string> lookup_or_build(const KernelKey& key, bool keep_in_memory,
                                           const std::function<std::optional<std::string>()>& build,
                                           CacheHit* hit = nullptr);

/// The folder that holds the entries ($EJIT_CACHE_DIR/kernels-v2), or "" when the cache is off.
std::string disk_cache_dir();
/// Key of a kernel: its module text plus everything else that changes the compiled code.
std::string disk_cache_key(std::string_view module_text, std::string_view target, unsigned opt_level);
/// Reads and verifies an entry. nullopt when absent; a damaged, foreign or unreadable entry
/// is removed (logged with EJIT_LOG=cache) and reads as absent. Never throws.
std::optional<DiskEntry> disk_cache_read(const std::string& key);
/// Publishes an entry atomically (a temporary file renamed into place) and keeps the folder
/// under its size limit (oldest entries go first). Does nothing when the folder is unusable.
/// Never throws.
void disk_cache_store(const std::string& key, int64_t extent, std::string_view payload);
/// Removes an entry if there is one (one that full code has made useless). Never throws.
void disk_cache_remove(const std::string& key);
/// GPU entries (a fused group's plan and PTX, or a template's PTX) as text: "" when absent.
std::string disk_cache_read_text(const std::string& key);
void disk_cache_store_text(const std::string& key, std::string_view text);
/// Whether entries can be stored: the cache is on and its folder exists (or can be made) and
/// is writable. Says so once per folder with EJIT_LOG=cache when it is not.
bool disk_cache_writable();
DiskCacheStats disk_cache_stats();
/// Removes every entry (and stale temporary files of dead processes); returns how many
/// entries. Touches nothing in the folder that is not named as ejit names its entries.
int64_t disk_cache_clear();

}  // namespace ejit::detail
