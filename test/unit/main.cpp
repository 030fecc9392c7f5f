// Catch2's main for the unit and jit tests. New tensors go to the CPU even where a GPU
// answers (the tests read host memory); [cuda] tests place theirs explicitly.
// EJIT_DEFAULT_DEVICE set by the caller wins. Compiled kernels go to a disk cache of this
// process's own (under $EJIT_TEST_CACHE_ROOT, else the temp folder), removed at the end,
// unless the caller sets EJIT_CACHE_DIR: tests running at the same time never share one,
// and never use the user's ~/.cache/ejit. jit() compiles synchronously here (EJIT_COMPILE=sync,
// unless the caller sets it), so a test sees the compiled code from the second call on; the
// tests of background compilation ask for it per function.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  setenv("EJIT_DEFAULT_DEVICE", "cpu", /*overwrite=*/0);
  setenv("EJIT_COMPILE", "sync", /*overwrite=*/0);
  std::string own_cache;
  if (!std::getenv("EJIT_CACHE_DIR")) {
    const char* root = std::getenv("EJIT_TEST_CACHE_ROOT");
    own_cache = ((root && *root ? fs::path(root) : fs::temp_directory_path() / "ejit-test-cache") /
                 ("pid-" + std::to_string(getpid())))
                    .string();
    setenv("EJIT_CACHE_DIR", own_cache.c_str(), 1);
  }
  const int status = Catch::Session().run(argc, argv);
  std::error_code ec;
  if (!own_cache.empty()) fs::remove_all(own_cache, ec);
  return status;
}
