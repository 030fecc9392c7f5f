// The disk cache treats its files as untrusted: damaged, foreign, swapped or special files in
// an entry's place are removed and the kernel compiles again, with the right result.
#include <ejit/jit.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>
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

/// `count` outputs x * (i + 2) - 1: several kernels in one module once count is large.
std::vector<Tensor> many_outputs(const Tensor& x, int count) {
  std::vector<Tensor> outs;
  for (int i = 0; i < count; ++i) outs.push_back(x * float(i + 2) - 1.f);
  return outs;
}

/// As run_fresh, for many_outputs(x, count): whether the module came from the disk.
bool run_fresh_outputs(int count, const Tensor& x) {
  auto fn = [count](const Tensor& t) { return many_outputs(t, count); };
  auto f = jit(fn);
  f(x);
  const std::vector<Tensor> got = f(x), want = fn(x);
  REQUIRE(f.stats().hits == 1);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) test::require_close(got[i], want[i], 1e-4);
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

TEST_CASE("disk cache: a module compiled in parts is one entry, and a forged list of its objects is refused",
          "[jit][cache][trust]") {
  ScopedCache cache("parts");
  // 300 ops: two kernels in one module, large enough to be compiled in parts (LLVM's half on
  // a thread each), too small to be compiled in groups (each a module of its own).
  const Tensor x = randn({64}, 3);
  auto run_fresh_many = [&] { return run_fresh_outputs(150, x); };
  REQUIRE_FALSE(run_fresh_many());
  REQUIRE(run_fresh_many());
  const auto files = cache.entry_files();
  REQUIRE(files.size() == 1);
  const std::string entry = read_all(files[0]);
  const size_t payload_at = entry.find("\n\n") + 2, key_at = entry.find("\nkey ") + 5;
  const std::string key = entry.substr(key_at, entry.find('\n', key_at) - key_at);
  if (std::thread::hardware_concurrency() < 2) {
    WARN("skipped: one hardware thread, so modules are compiled whole and there is no list of objects to forge");
    return;
  }
  std::string payload = entry.substr(payload_at);
  REQUIRE(payload.compare(0, 8, "EJITOBJS") == 0);
  uint64_t count = 0;
  std::memcpy(&count, payload.data() + 8, 8);
  REQUIRE(count >= 2);
  // Each forged entry has a valid checksum (stored through the cache): the list itself is
  // checked, the entry dropped and the module compiled again.
  SECTION("a count of objects past the limit") {
    const uint64_t forged = 1000;  // the limit is 8
    std::memcpy(payload.data() + 8, &forged, 8);
  }
  SECTION("an object larger than the entry") {
    const uint64_t forged = uint64_t(1) << 40;
    std::memcpy(payload.data() + 16, &forged, 8);
  }
  SECTION("bytes after the last object") { payload += "trailing"; }
  SECTION("a truncated list") { payload.resize(20); }
  detail::disk_cache_store(key, 0, payload);
  REQUIRE_FALSE(run_fresh_many());
  REQUIRE(run_fresh_many());
}

TEST_CASE("disk cache: a module compiled in groups, a thread and a module each, is an entry per group", "[jit][cache]") {
  ScopedCache cache("groups");
  // 1200 ops in five kernels: compiled as groups of kernels, MLIR stages and all, on threads
  // (as many as the machine has; the groups do not depend on it).
  const Tensor x = randn({64}, 3);
  auto run_fresh_many = [&] { return run_fresh_outputs(600, x); };
  REQUIRE_FALSE(run_fresh_many());
  REQUIRE(run_fresh_many());
  CHECK(cache.entry_files().size() == 2);  // 1200 ops: two groups, on any machine
  {  // a background jit's first call finds every group on disk: compiled code at once
    auto f = jit([](const Tensor& t) { return many_outputs(t, 600); }, "grouped", JitOptions{.compile = CompileMode::Background});
    const std::vector<Tensor> got = f(x);
    CHECK(f.stats().disk_hits == 1);
    CHECK(f.stats().eager_calls == 0);
    REQUIRE(got.size() == 600);
    test::require_close(got[599], x * 601.f - 1.f, 1e-4);
  }
  fs::remove(cache.entry_files().at(0));  // one group missing: it compiles again, the other loads
  run_fresh_many();
  CHECK(cache.entry_files().size() == 2);
}
