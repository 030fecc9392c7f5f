// The disk cache treats its files as untrusted: damaged, foreign, swapped or special files in
// an entry's place are removed and the kernel compiles again, with the right result.
#include <ejit/jit.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../../lib/backend/common/kernel_cache.h"
#include "scoped_cache.h"
#include "test_util.h"

using namespace ejit;
using ejit::test::ScopedCache;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_all(const fs::path& p, const std::string& s) {
  fs::remove(p);
  std::ofstream(p, std::ios::binary) << s;
}

Tensor chain(const Tensor& a) { return exp(a) * 0.5f + tanh(a * 3.f); }
// A row-wise kernel (its extent is the row count), so a wrong extent would leave rows out.
Tensor rows(const Tensor& a) { return softmax(a * 2.f, -1) + 1.f; }

/// A new jit() of fn: compiles (or loads) on the first call, checked against the interpreter.
/// Returns whether the kernel came from the disk.
bool run_fresh(Tensor (*fn)(const Tensor&), const Tensor& x) {
  auto f = jit(fn);
  f(x);
  test::require_close(f(x), fn(x), 1e-5);
  REQUIRE(f.stats().hits == 1);
  return f.stats().disk_hits == 1;
}

}  // namespace

TEST_CASE("disk cache: damaged, swapped and special files in an entry's place", "[jit][cache][trust]") {
  ScopedCache cache("damage");
  Tensor x = randn({64, 300}, 1);
  REQUIRE_FALSE(run_fresh(chain, x));
  REQUIRE_FALSE(run_fresh(rows, x));
  REQUIRE(run_fresh(chain, x));
  REQUIRE(run_fresh(rows, x));
  auto files = cache.entry_files();
  REQUIRE(files.size() == 2);
  const std::string a = read_all(files[0]), b = read_all(files[1]);
  auto restore = [&] { write_all(files[0], a), write_all(files[1], b); };
  auto both_recompile = [&] {  // each kernel is compiled again (entry dropped), then loads again
    REQUIRE_FALSE(run_fresh(chain, x));
    REQUIRE_FALSE(run_fresh(rows, x));
    REQUIRE(run_fresh(chain, x));
    REQUIRE(run_fresh(rows, x));
  };

  SECTION("another entry's file") {
    write_all(files[0], b), write_all(files[1], a);
    both_recompile();
  }
  SECTION("flipped bytes in the object code") {
    for (const auto& [f, s] : {std::pair{files[0], a}, std::pair{files[1], b}}) {
      std::string d = s;
      d[d.size() - 100] ^= 0x5a;
      write_all(f, d);
    }
    both_recompile();
  }
  SECTION("a wrong extent") {
    for (const auto& [f, s] : {std::pair{files[0], a}, std::pair{files[1], b}}) {
      std::string d = s;
      const size_t at = d.find("extent ");
      REQUIRE(at != std::string::npos);
      d.replace(at, d.find('\n', at) - at, "extent 1");
      write_all(f, d);
    }
    both_recompile();
  }
  SECTION("truncated files and empty files") {
    write_all(files[0], a.substr(0, a.size() / 2));
    write_all(files[1], "");
    both_recompile();
  }
  SECTION("a FIFO and a symlink to /dev/zero") {
    fs::remove(files[0]);
    REQUIRE(mkfifo(files[0].c_str(), 0600) == 0);
    fs::remove(files[1]);
    fs::create_symlink("/dev/zero", files[1]);
    both_recompile();
  }
  SECTION("a huge sparse file") {
    fs::remove(files[0]);
    { std::ofstream(files[0]) << "ejit-cache-entry 2\n"; }
    fs::resize_file(files[0], 1ull << 30);
    fs::remove(files[1]);
    fs::create_directory(files[1]);  // a directory in an entry's place
    both_recompile();
  }
  restore();
}

TEST_CASE("disk cache: only ejit's own files are counted, limited and cleared", "[jit][cache][trust]") {
  ScopedCache cache("foreign");
  Tensor x = randn({8, 8}, 2);
  REQUIRE_FALSE(run_fresh(chain, x));
  const fs::path precious = cache.root / "precious_build_output.o";
  const fs::path meta = cache.entries() / "user.meta";
  const fs::path object = cache.entries() / "0123456789abcdef0123456789abcdef.o";
  for (const fs::path& p : {precious, meta, object}) write_all(p, "user data");
  // Temporary files of a save: a dead writer's go, a live one's stay.
  const std::string key = cache.entry_files()[0].stem().string();
  const fs::path dead = cache.entries() / (key + ".entry.tmp-999999999-0");
  const fs::path live = cache.entries() / (key + ".entry.tmp-1-0");
  write_all(dead, "half"), write_all(live, "half");
  detail::DiskCacheStats s = detail::disk_cache_stats();
  CHECK(s.entries == 1);
  CHECK(detail::disk_cache_clear() == 1);
  for (const fs::path& p : {precious, meta, object, live}) CHECK(fs::exists(p));
  CHECK_FALSE(fs::exists(dead));
  CHECK(cache.entry_files().empty());
}

TEST_CASE("disk cache: an unusable folder stores nothing and stays quiet", "[jit][cache][trust]") {
  ScopedCache cache("unusable");
  write_all(cache.root, "a file where the folder should be");
  Tensor x = randn({8, 8}, 3);
  REQUIRE_FALSE(detail::disk_cache_writable());
  REQUIRE_FALSE(run_fresh(chain, x));
  REQUIRE_FALSE(run_fresh(chain, x));
  fs::remove(cache.root);
}

TEST_CASE("disk cache: keys are checked before they name a file", "[jit][cache][trust]") {
  ScopedCache cache("keys");
  CHECK_FALSE(detail::disk_cache_read("../../etc/passwd").has_value());
  CHECK_FALSE(detail::disk_cache_read("").has_value());
  detail::disk_cache_store("../evil", 0, "payload");
  CHECK_FALSE(fs::exists(cache.root / "evil.entry"));
  detail::disk_cache_store("0123456789abcdef0123456789abcdef", 7, "payload");
  auto e = detail::disk_cache_read("0123456789abcdef0123456789abcdef");
  REQUIRE(e.has_value());
  CHECK(e->extent == 7);
  CHECK(e->payload == "payload");
}
