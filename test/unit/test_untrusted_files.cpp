// Hostile and malformed input files: devices, FIFOs, folders and links are refused before any
// read; corrupt .npy and safetensors files (a corpus generated here) are clear errors; saves
// clean up the temporary files of killed saves.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "../../lib/core/file.h"
#include "ejit/checkpoint.h"
#include "ejit/npy.h"
#include "test_util.h"

using namespace ejit;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

using ejit::test::TempDir;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

/// A Trackable holding a fixed list of variables.
struct Bag : Trackable {
  std::vector<std::pair<std::string, Variable>> vars;
  std::vector<std::pair<std::string, Variable>> named_variables() const override { return vars; }
};

/// Each way of reading a file from a path, with the op its errors name.
struct Loader {
  const char* name;
  const char* op;
  std::function<void(const std::string&)> load;
};

std::vector<Loader> loaders() {
  return {
      {"load_npy", "npy", [](const std::string& p) { load_npy(p); }},
      {"load_safetensors", "checkpoint", [](const std::string& p) { load_safetensors(p); }},
      {"Checkpoint::restore", "checkpoint",
       [](const std::string& p) {
         Bag b;
         b.vars = {{"w", Variable(zeros({2}))}};
         Checkpoint{{"m", b}}.restore(p);
       }},
  };
}

/// Little-endian bytes of an integer.
std::string le(uint64_t v, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}

/// A .npy file with the given header length field (not necessarily the dict's length).
std::string npy_raw(int major, uint64_t header_len, const std::string& header, const std::string& data) {
  return std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0' + le(header_len, major == 1 ? 2 : 4) + header +
         data;
}

/// A well-formed .npy file (version 1.0) of the dict and data.
std::string npy(const std::string& dict, const std::string& data) {
  const std::string header = dict + "\n";
  return npy_raw(1, header.size(), header, data);
}

std::string npy_dict(const std::string& descr, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
}

/// A safetensors file: the header's length, the header, the data.
std::string safetensors(const std::string& header, const std::string& data) {
  return le(header.size(), 8) + header + data;
}

struct Case {
  std::string name;
  std::string bytes;
  std::string expect;  // in the message
};

}  // namespace

TEST_CASE("untrusted files: devices, FIFOs and links to them are refused before any read",
          "[untrusted][npy][checkpoint]") {
  TempDir dir("devices");
  const std::string fifo = dir / "fifo", link = dir / "zero.npy", dangling = dir / "dangling.npy";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  fs::create_symlink("/dev/zero", link);
  fs::create_symlink(dir / "no_such_file", dangling);
  for (const Loader& l : loaders()) {
    INFO(l.name);
    const std::string op = std::string("[") + l.op + "] ";
    // Each of these once read until memory ran out (or, for a FIFO, waited for a writer).
    const std::string chr = "' is not a regular file (it is a character device)";
    for (const char* dev : {"/dev/zero", "/dev/urandom", "/dev/null"})
      REQUIRE_THROWS_WITH(l.load(dev), StartsWith(op + "'" + dev + chr));
    REQUIRE_THROWS_WITH(l.load(link), StartsWith(op + "'" + link + chr));
    REQUIRE_THROWS_WITH(l.load(fifo), StartsWith(op + "'" + fifo + "' is not a regular file (it is a FIFO)"));
    REQUIRE_THROWS_WITH(l.load(dangling), StartsWith(op + "cannot open '" + dangling + "'"));
  }
}

TEST_CASE("untrusted files: a folder passed as a file says it is a folder", "[untrusted][npy][checkpoint]") {
  TempDir dir("folders");
  const std::string sub = dir / "a.npy", link = dir / "link.safetensors";
  fs::create_directories(sub);
  fs::create_directory_symlink(sub, link);
  for (const Loader& l : loaders()) {
    INFO(l.name);
    const std::string op = std::string("[") + l.op + "] ";
    REQUIRE_THROWS_WITH(l.load(sub), StartsWith(op + "'" + sub + "' is a directory, not a file"));
    REQUIRE_THROWS_WITH(l.load(link), StartsWith(op + "'" + link + "' is a directory, not a file"));
  }
  REQUIRE_THROWS_WITH(save_npy(sub, zeros({2})), StartsWith("[npy] cannot write '" + sub + "': it is a directory"));
}

TEST_CASE("untrusted files: a corpus of malformed .npy files", "[untrusted][npy]") {
  const std::string f4x2(8, '\0');
  std::string rank17 = "(";
  for (int i = 0; i < 17; ++i) rank17 += "1, ";
  rank17 += ")";
  const std::vector<Case> corpus = {
      {"empty", "", "not a .npy file"},
      {"magic only", "\x93NUMPY", "not a .npy file"},
      {"version 2.0 cut in its length field", std::string("\x93NUMPY\x02\x00\x10\x00", 10), "truncated header"},
      {"header past the end", npy_raw(1, 1000, npy_dict("<f4", "(2,)"), f4x2), "truncated header"},
      {"header length 4 GiB", npy_raw(2, 0xFFFFFFFF, npy_dict("<f4", "(2,)"), f4x2), "implausible"},
      {"header length 2 MiB", npy_raw(3, 2 << 20, npy_dict("<f4", "(2,)"), f4x2), "implausible"},
      {"not a dict", npy("[1, 2]", ""), "malformed header"},
      {"unterminated dict", npy("{'descr': '<f4'", ""), "malformed header"},
      {"unterminated string", npy("{'descr: ", ""), "malformed header"},
      {"missing shape", npy("{'descr': '<f4', 'fortran_order': False}", f4x2), "malformed header"},
      {"negative dim", npy(npy_dict("<f4", "(-1,)"), f4x2), "malformed header"},
      {"dim past 2^50", npy(npy_dict("<f4", "(99999999999999999999,)"), f4x2), "dimension too large"},
      {"dims whose product overflows", npy(npy_dict("<f4", "(1099511627776, 1099511627776, 1099511627776)"), f4x2),
       "too large for a tensor"},
      {"a zero dim beside huge ones", npy(npy_dict("<f4", "(0, 1099511627776, 1099511627776)"), ""),
       "too large for a tensor"},
      {"rank 17", npy(npy_dict("<f4", rank17), f4x2), "rank 17"},
      {"dtype wider than the data", npy(npy_dict("<f8", "(2,)"), f4x2), "truncated data"},
      {"data cut short", npy(npy_dict("<f4", "(2,)"), f4x2.substr(0, 7)), "truncated data"},
      {"no data at all", npy(npy_dict("<i8", "(1000000000,)"), ""), "truncated data"},
      {"unsupported dtype", npy(npy_dict("<c16", "(2,)"), f4x2), "unsupported dtype"},
  };
  TempDir dir("npy-corpus");
  int i = 0;
  for (const Case& c : corpus) {
    INFO(c.name);
    REQUIRE_THROWS_WITH(parse_npy(c.bytes), StartsWith("[npy] <memory>") && Contains(c.expect));
    const std::string path = dir / (std::to_string(i++) + ".npy");
    write_bytes(path, c.bytes);
    REQUIRE_THROWS_WITH(load_npy(path), StartsWith("[npy] '" + path + "'") && Contains(c.expect));
  }
  // A huge malformed header is not copied whole into the message.
  const std::string garbage(100000, 'x');
  const std::string message = ejit::test::error_of([&] { parse_npy(npy_raw(2, garbage.size(), garbage, "")); });
  REQUIRE_THAT(message, StartsWith("[npy]") && Contains("malformed header"));
  REQUIRE(message.size() < 1000);
}

TEST_CASE("untrusted files: zero-size .npy arrays write and read", "[untrusted][npy]") {
  TempDir dir("npy-empty");
  for (const Shape& shape : {Shape{0}, Shape{2, 0}, Shape{0, 1 << 20}}) {
    INFO(shape.str());
    Tensor t = zeros(shape);
    const std::string path = dir / "empty.npy";
    save_npy(path, t);  // npy_bytes once copied from the null data of an empty tensor
    Tensor back = load_npy(path);
    REQUIRE(back.shape() == shape);
    REQUIRE(back.dtype() == DType::F32);
    REQUIRE(parse_npy(npy_bytes(t)).shape() == shape);
  }
}

TEST_CASE("untrusted files: a corpus of malformed safetensors files", "[untrusted][checkpoint]") {
  const auto entry = [](const std::string& name, const std::string& dtype, const std::string& shape,
                        const std::string& offsets) {
    return fmt::format(R"("{}":{{"dtype":"{}","shape":{},"data_offsets":{}}})", name, dtype, shape, offsets);
  };
  // Headers are built with fmt, not '+': GCC 12 warns falsely (-Wrestrict) on "{" + a temporary.
  const auto two = [](const std::string& a, const std::string& b, const std::string& data) {
    return safetensors(fmt::format("{{{},{}}}", a, b), data);
  };
  const auto one = [&](const std::string& dtype, const std::string& shape, const std::string& offsets,
                       const std::string& data) {
    return safetensors(fmt::format("{{{}}}", entry("w", dtype, shape, offsets)), data);
  };
  const std::string d8(8, '\0'), d12(12, '\0');
  std::string dims17 = "[";
  for (int i = 0; i < 17; ++i) dims17 += i ? ",1" : "1";
  dims17 += "]";
  const std::vector<Case> corpus = {
      {"empty", "", "truncated"},
      {"cut in the header length", std::string(5, '\0'), "truncated"},
      {"header length 2^60", le(uint64_t{1} << 60, 8) + "{}", "implausible"},
      {"header length 2^64 - 1", le(~uint64_t{0}, 8) + "{}", "implausible"},
      {"header past the end", le(100, 8) + "{}", "truncated"},
      {"header length 0", le(0, 8), "not a JSON object"},
      {"a JSON array", safetensors("[]", ""), "not a JSON object"},
      {"deeply nested JSON", safetensors(std::string(100000, '['), ""), "not a JSON object"},
      {"invalid UTF-8", safetensors("{\"\xff\":1}", ""), "not a JSON object"},
      {"an entry that is a number", safetensors("{\"w\":5}", ""), "needs 'dtype', 'shape' and 'data_offsets'"},
      {"dtype not a string", safetensors("{\"w\":{\"dtype\":5,\"shape\":[],\"data_offsets\":[0,4]}}", d8),
       "'dtype' is not a string"},
      {"unsupported dtype", one("F16", "[2]", "[0,4]", std::string(4, '\0')), "not supported"},
      {"negative dim", one("F32", "[-1]", "[0,0]", ""), "plausible tensor"},
      {"fractional dim", one("F32", "[1.5]", "[0,4]", d8), "plausible tensor"},
      {"dim 2^64 - 1", one("F32", "[18446744073709551615]", "[0,4]", d8), "plausible tensor"},
      {"zero beside 2^64 - 1 (once a dim of -1)", one("F32", "[0,18446744073709551615]", "[0,0]", ""),
       "plausible tensor"},
      {"dims whose product overflows", one("F32", "[4294967296,4294967296,4294967296]", "[0,0]", ""),
       "plausible tensor"},
      {"a zero dim beside huge ones", one("F32", "[0,1099511627776,1099511627776]", "[0,0]", ""), "plausible tensor"},
      {"17 dims", one("F32", dims17, "[0,4]", std::string(4, '\0')), "at most 16 dims"},
      {"shape not an array", one("F32", "2", "[0,8]", d8), "at most 16 dims"},
      {"offsets not a pair", one("F32", "[2]", "[0]", d8), "not [begin, end]"},
      {"negative offset", one("F32", "[2]", "[-8,0]", d8), "not [begin, end]"},
      {"end before begin", one("F32", "[2]", "[8,0]", d8), "end before begin"},
      {"dtype wider than its offsets", one("F64", "[2]", "[0,8]", d8), "needs 16 bytes"},
      {"offsets past the file", one("F32", "[2]", "[8,16]", d8), "truncated"},
      {"offsets near 2^64", one("F32", "[2]", "[18446744073709551607,18446744073709551615]", d8), "truncated"},
      {"data cut short", one("F32", "[2]", "[0,8]", std::string(7, '\0')), "truncated"},
      {"a gap before the first entry", one("F32", "[2]", "[4,12]", d12), "corrupt"},
      {"bytes after the last entry", one("F32", "[2]", "[0,8]", d12), "follow the last entry"},
      {"two entries on the same bytes",
       two(entry("a", "F32", "[2]", "[0,8]"), entry("b", "F32", "[2]", "[0,8]"), d8),
       "corrupt"},
      {"overlapping entries",
       two(entry("a", "F32", "[2]", "[0,8]"), entry("b", "F32", "[2]", "[4,12]"), d12),
       "corrupt"},
      {"a key given twice",
       two(entry("a", "F32", "[1]", "[0,4]"), entry("a", "F32", "[1]", "[4,8]"), d8),
       "corrupt"},
      {"metadata not an object", safetensors("{\"__metadata__\":5}", ""), "must be an object"},
      {"metadata value not a string", safetensors("{\"__metadata__\":{\"k\":1}}", ""), "not a string"},
  };
  TempDir dir("safetensors-corpus");
  Bag b;
  b.vars = {{"w", Variable(zeros({2}))}};
  int i = 0;
  for (const Case& c : corpus) {
    INFO(c.name);
    REQUIRE_THROWS_WITH(parse_safetensors(c.bytes), StartsWith("[checkpoint] <memory>") && Contains(c.expect));
    const std::string path = dir / (std::to_string(i++) + ".safetensors");
    write_bytes(path, c.bytes);
    REQUIRE_THROWS_WITH(load_safetensors(path), StartsWith("[checkpoint] '" + path + "'") && Contains(c.expect));
    REQUIRE_THROWS_WITH((Checkpoint{{"m", b}}.restore(path)), StartsWith("[checkpoint] '" + path + "'"));
    REQUIRE(b.vars[0].second.value().to_vector<float>() == std::vector<float>{0, 0});
  }
}

TEST_CASE("untrusted files: zero-size tensors in safetensors files", "[untrusted][checkpoint]") {
  TempDir dir("safetensors-empty");
  const std::string path = dir / "empty.safetensors";
  // safetensors_bytes once copied from the null data of each empty tensor.
  save_safetensors(path, {{"a", zeros({0})}, {"b", ones({2})}, {"c", zeros({3, 0}, DType::I64)}});
  SafeTensors st = load_safetensors(path);
  REQUIRE(st.tensors.size() == 3);
  for (auto& [name, t] : st.tensors) {
    INFO(name);
    if (name == "b") REQUIRE(t.to_vector<float>() == std::vector<float>{1, 1});
    else REQUIRE(t.numel() == 0);
  }
  Bag only_empty;
  only_empty.vars = {{"e", Variable(zeros({0, 4}))}};
  Checkpoint{{"m", only_empty}}.save(path);
  REQUIRE(Checkpoint{{"m", only_empty}}.restore(path, true).complete());
}

TEST_CASE("untrusted files: a save removes the temporary files of dead saves, not of live ones",
          "[untrusted][checkpoint]") {
  TempDir dir("stale-tmp");
  const std::string path = dir / "ckpt.safetensors";
  int64_t pid_max = 4194304;  // Linux's largest pid_max
  std::ifstream("/proc/sys/kernel/pid_max") >> pid_max;
  // A process that has ended (and was reaped), and a pid that no process can have.
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(0);
  REQUIRE(::waitpid(child, nullptr, 0) == child);
  const std::string dead_child = path + ".tmp-" + std::to_string(child);
  const std::string impossible = path + ".tmp-" + std::to_string(pid_max + 1);
  // Kept: a live process's (pid 1 lives while anything does), names that are no pid, another
  // checkpoint's, and a folder.
  const std::string live = path + ".tmp-1", not_pid = path + ".tmp-abc";
  const std::string zero_led = path + ".tmp-0" + std::to_string(child);
  const std::string other = dir / "other.safetensors.tmp-" + std::to_string(pid_max + 1);
  const std::string folder = path + ".tmp-" + std::to_string(pid_max + 2);
  for (const std::string& p : {dead_child, impossible, live, not_pid, zero_led, other}) write_bytes(p, "partial");
  fs::create_directory(folder);

  Bag b;
  b.vars = {{"w", Variable(ones({3}))}};
  Checkpoint{{"m", b}}.save(path);
  CHECK_FALSE(fs::exists(dead_child));
  CHECK_FALSE(fs::exists(impossible));
  CHECK(fs::exists(live));
  CHECK(fs::exists(not_pid));
  CHECK(fs::exists(zero_led));
  CHECK(fs::exists(other));
  CHECK(fs::is_directory(folder));
  CHECK_FALSE(fs::exists(path + ".tmp-" + std::to_string(::getpid())));  // the save's own was renamed
  REQUIRE(Checkpoint{{"m", b}}.restore(path, true).complete());

  // A file in a relative path: its siblings are found in the working folder.
  const fs::path cwd = fs::current_path();
  fs::current_path(dir.path);
  write_bytes("rel.safetensors.tmp-" + std::to_string(pid_max + 1), "partial");
  Checkpoint{{"m", b}}.save("rel.safetensors");
  const bool removed = !fs::exists("rel.safetensors.tmp-" + std::to_string(pid_max + 1));
  fs::current_path(cwd);
  CHECK(removed);
}

TEST_CASE("write_file_atomically: the whole file or the old one, and temporaries named for their writer", "[io]") {
  TempDir dir("atomic-write");
  const std::string path = (dir.path / "f.bin").string();
  REQUIRE(detail::write_file_atomically(path, {"abc", "", "de"}) == "");
  CHECK(detail::InputFile("test", path).read(0, 5) == "abcde");
  REQUIRE(detail::write_file_atomically(path, {"xy"}, /*durable=*/true) == "");
  CHECK(detail::InputFile("test", path).read(0, 2) == "xy");
  // A folder in the way: the rename fails, the message says so, the temporary goes.
  const std::string folder = (dir.path / "sub").string();
  fs::create_directories(folder + "/keep");
  CHECK_THAT(detail::write_file_atomically(folder, {"z"}), StartsWith("cannot rename '" + folder + ".tmp-"));
  // No folder: nothing can be created.
  CHECK_THAT(detail::write_file_atomically((dir.path / "none" / "f").string(), {"z"}), StartsWith("cannot create"));
  size_t left = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) left += e.path().filename().string().find(".tmp-") != std::string::npos;
  CHECK(left == 0);
  // Temporaries a crashed writer with this pid left (in a container, the same pid every run)
  // are skipped, not reused and not an error.
  const std::string other = (dir.path / "g.bin").string();
  for (int n = 0; n < 40; ++n) write_bytes(other + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(n), "old");
  REQUIRE(detail::write_file_atomically(other, {"new"}) == "");
  CHECK(detail::InputFile("test", other).read(0, 3) == "new");
  // The names of temporaries, and what is not one.
  CHECK(detail::temporary_writer("f.bin.tmp-123-0", "f.bin") == 123);
  CHECK(detail::temporary_writer("f.bin.tmp-123-45", "f.bin") == 123);
  CHECK(detail::temporary_writer("f.bin.tmp-123", "f.bin") == 123);
  CHECK(detail::temporary_writer("f.bin.tmp-0123-1", "f.bin") == -1);
  CHECK(detail::temporary_writer("f.bin.tmp-123-", "f.bin") == -1);
  CHECK(detail::temporary_writer("f.bin.tmp-123-01", "f.bin") == -1);
  CHECK(detail::temporary_writer("f.bin.tmp-abc", "f.bin") == -1);
  CHECK(detail::temporary_writer("g.bin.tmp-123-0", "f.bin") == -1);
  CHECK(detail::temporary_writer("f.bin.tmp-1234567890-0", "f.bin") == -1);
}
