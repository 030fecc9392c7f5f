// A disk cache folder of a test's own, set as EJIT_CACHE_DIR while alive.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace ejit::test {

namespace fs = std::filesystem;

/// A cache folder of the test's own, set as EJIT_CACHE_DIR while alive.
struct ScopedCache {
  fs::path root;
  std::string saved;
  bool had = false;
  explicit ScopedCache(const std::string& name)
      : root(fs::temp_directory_path() / ("ejit-disk-cache-" + name + "-" + std::to_string(getpid()))) {
    fs::remove_all(root);
    if (const char* old = std::getenv("EJIT_CACHE_DIR")) had = true, saved = old;
    setenv("EJIT_CACHE_DIR", root.c_str(), 1);
  }
  ~ScopedCache() {
    if (had) setenv("EJIT_CACHE_DIR", saved.c_str(), 1);
    else unsetenv("EJIT_CACHE_DIR");
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  fs::path entries() const { return root / "kernels-v2"; }
  std::vector<fs::path> entry_files() const {
    std::vector<fs::path> v;
    for (const auto& e : fs::directory_iterator(entries()))
      if (e.path().extension() == ".entry") v.push_back(e.path());
    std::sort(v.begin(), v.end());
    return v;
  }
};

}  // namespace ejit::test
