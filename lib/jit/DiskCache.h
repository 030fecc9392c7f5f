// The on-disk cache of compiled kernels: object files keyed by the kernel's MLIR text, the
// compiler build, LLVM's version, the host CPU and the options, so a new process skips
// compilation. Under $EJIT_CACHE_DIR (default ~/.cache/ejit); EJIT_CACHE_DIR=off disables it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ejit::detail {

struct DiskCacheStats {
  std::string dir;  // empty when the cache is off
  int64_t entries = 0;
  int64_t bytes = 0;
};

/// The cache folder, or "" when the cache is off.
std::string disk_cache_dir();
/// Key of a kernel: its module text plus everything else that changes the object code.
std::string disk_cache_key(std::string_view module_text, std::string_view target, unsigned opt_level);
/// Paths of an entry's object file and of its metadata (the kernel's row-chunk extent).
std::string disk_cache_object_path(const std::string& key);
/// Reads an entry's metadata; nullopt when absent or unreadable.
std::optional<int64_t> disk_cache_read_extent(const std::string& key);
/// Publishes an object file written at `tmp_object` (renamed into place, atomically) with its
/// metadata; keeps the folder under its size limit (oldest entries go first). Never throws.
void disk_cache_store(const std::string& key, const std::string& tmp_object, int64_t extent);
/// GPU entries: a text file per key (a fused kernel group's plan and PTX, or a reduction
/// template's PTX). Reads "" when absent; stores atomically (tmp + rename), never throws.
std::string disk_cache_read_text(const std::string& key);
void disk_cache_store_text(const std::string& key, const std::string& text);
DiskCacheStats disk_cache_stats();
/// Removes every entry; returns how many.
int64_t disk_cache_clear();

}  // namespace ejit::detail
