// load_trace on hostile input: each case loads or throws a located "[load_trace]" ejit::Error, never a crash.
#include <ejit/jit.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../../lib/jit/compile.h"
#include "test_util.h"

using namespace ejit;
namespace fs = std::filesystem;

namespace {

/// A fresh folder of its own under the system's temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "ejit-load-trace-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  fs::path path_;
};

/// The message of the ejit::Error that load_trace(path) throws, or "" when it loads.
/// Any other exception fails the test.
std::string load_error(const std::string& path) {
  try {
    Trace t = load_trace(path);
    return "";
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("not an ejit::Error: " << e.what());
  }
  return "";
}

/// Checks that loading path fails with a "[load_trace]" message that contains `want`.
void expect_error(const std::string& path, const std::string& want) {
  INFO("case " << path);
  const std::string message = load_error(path);
  INFO("message: " << message);
  REQUIRE(message.rfind("[load_trace] ", 0) == 0);
  CHECK(message.find(want) != std::string::npos);
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  out.reserve(s.size() * n);
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

const std::string kHeader = "func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> attributes {x = ";
const std::string kBody = "} {\n  return %a : tensor<2xf32>\n}\n";

}  // namespace

TEST_CASE("every trace of the fuzz corpus loads or throws a located [load_trace] error", "[load_trace]") {
  // Each file's first line says what it expects: "// LOADS..." or "// EXPECT: <part of the
  // message>", where {DIR} stands for the corpus folder (the file names are in messages).
  const fs::path dir = EJIT_FUZZ_TRACES_DIR;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".mlir") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() > 40);
  for (const fs::path& file : files) {
    std::ifstream in(file);
    std::string first;
    std::getline(in, first);
    const std::string path = file.string();
    INFO("case " << path);
    if (first.rfind("// LOADS", 0) == 0) {
      CHECK(load_error(path) == "");
      continue;
    }
    if (first.empty()) {  // the empty file
      expect_error(path, "no func.func in the IR");
      continue;
    }
    REQUIRE(first.rfind("// EXPECT: ", 0) == 0);
    std::string want = first.substr(11);
    for (size_t at; (at = want.find("{DIR}")) != std::string::npos;) want.replace(at, 5, (dir / "").string());
    expect_error(path, want);
  }
}

TEST_CASE("load_trace refuses deep nesting before MLIR's parser overflows its stack", "[load_trace]") {
  TempDir tmp;
  const int n = 100000;
  expect_error(tmp.write("brackets.mlir", kHeader + repeat("[", n) + repeat("]", n) + kBody),
               "brackets.mlir:1:321: nesting deeper than 256");
  expect_error(tmp.write("tuples.mlir", "func.func @f(%a: " + repeat("tuple<", 10000) + "f32" + repeat(">", 10000) +
                                             ") {\n  return\n}\n"),
               "tuples.mlir:1:1553: nesting deeper than 256");
  expect_error(tmp.write("modules.mlir", repeat("module {\n", 10000) + repeat("}\n", 10000)),
               "modules.mlir:257:8: nesting deeper than 256");
  expect_error(tmp.write("braces.mlir", kHeader + repeat("{a = ", n) + repeat("}", n) + kBody),
               "braces.mlir:1:");
  expect_error(tmp.write("minus.mlir", kHeader + "affine_map<(d0) -> (" + repeat("- ", n) + "d0)>" + kBody),
               "minus.mlir:1:598: more operators in one expression than 256");
  expect_error(tmp.write("plus.mlir", kHeader + "affine_map<(d0) -> (" + repeat("d0 + ", 1000000) + "d0)>" + kBody),
               "more operators in one expression than 256");
  expect_error(tmp.write("floordiv.mlir", kHeader + "affine_map<(d0) -> (d0" + repeat(" floordiv 2", n) + ")>" + kBody),
               "more operators in one expression than 256");
  // Brackets inside strings and comments do not count; "->" is not a closing bracket.
  const std::string quoted = "// " + repeat("[", 1000) + "\n" + kHeader + "\"" + repeat("(", 1000) + "\\\"" + "\"" +
                             ", y = " + repeat("[", 200) + repeat("]", 200) + kBody;
  CHECK(load_error(tmp.write("quoted.mlir", quoted)) == "");
  // parse_trace names the text "<text>".
  try {
    parse_trace(kHeader + repeat("[", n) + repeat("]", n) + kBody);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "[load_trace] <text>:1:321: nesting deeper than 256");
  }
}

TEST_CASE("load_trace reads only regular files of at most 1 GiB", "[load_trace]") {
  TempDir tmp;
  expect_error("/dev/zero", "'/dev/zero' is not a regular file");
  expect_error(tmp.path().string(), "is a directory");
  const fs::path link = tmp.path() / "zero.mlir";
  fs::create_symlink("/dev/zero", link);
  expect_error(link.string(), "is not a regular file");
  const std::string fifo = (tmp.path() / "fifo.mlir").string();
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  expect_error(fifo, "is not a regular file");  // refused without waiting for a writer
  const std::string big = tmp.write("big.mlir", "");
  fs::resize_file(big, (uint64_t{1} << 30) + 1);  // sparse: no disk space used
  expect_error(big, "has 1073741825 bytes; trace files are at most 1073741824 (1 GiB)");
  expect_error((tmp.path() / "missing.mlir").string(), "cannot open '");
  // A symlink to a trace is fine.
  const std::string real = tmp.write("real.mlir", "func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {\n"
                                                  "  return %a : tensor<2xf32>\n}\n");
  fs::create_symlink(real, tmp.path() / "link.mlir");
  CHECK(load_error((tmp.path() / "link.mlir").string()) == "");
}

TEST_CASE("a loaded trace with no op to compile says why", "[load_trace]") {
  Trace t = parse_trace("func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {\n  return %a : tensor<2xf32>\n}\n");
  detail::CompileResult r = detail::compile_trace(t, CompileOptions{});
  CHECK(!r.executable);
  CHECK(r.error == "[jit] no op of this trace compiles (the trace has no ops besides constants: its outputs are "
                   "inputs or constants)");
}
