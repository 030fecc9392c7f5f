// TensorBoard summaries: CRC-32C (check values, TFRecord vectors, SSE4.2 against the tables),
// histogram buckets, the events file's framing, flushing, threads, and the writer's errors.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "../../lib/summary/crc32c.h"
#include "../../lib/summary/histogram.h"
#include "ejit/summary.h"
#include "test_util.h"

using namespace ejit;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

using ejit::test::TempDir;

using ejit::test::read_bytes;

uint64_t load_le(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

/// The records of a TFRecord file, each checked against its two masked CRCs.
std::vector<std::string> read_records(const fs::path& path) {
  const std::string s = read_bytes(path);
  std::vector<std::string> records;
  for (size_t at = 0; at < s.size();) {
    REQUIRE(at + 12 <= s.size());
    const uint64_t n = load_le(s, at, 8);
    REQUIRE(load_le(s, at + 8, 4) == detail::mask_crc32c(detail::crc32c(s.data() + at, 8)));
    REQUIRE(at + 12 + n + 4 <= s.size());
    std::string data = s.substr(at + 12, n);
    REQUIRE(load_le(s, at + 12 + n, 4) == detail::mask_crc32c(detail::crc32c(data.data(), data.size())));
    records.push_back(std::move(data));
    at += 12 + n + 4;
  }
  return records;
}

uint32_t crc_of(const std::string& s) { return detail::crc32c(s.data(), s.size()); }

}  // namespace

TEST_CASE("crc32c: check value and RFC 3720's vectors, on both paths", "[summary]") {
  std::string inc(32, 0), dec(32, 0);
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<char>(i), dec[i] = static_cast<char>(31 - i);
  const std::vector<std::pair<std::string, uint32_t>> vectors = {
      {"", 0},
      {"123456789", 0xE3069283u},
      {std::string(32, '\0'), 0x8A9136AAu},  // RFC 3720 B.4
      {std::string(32, '\xff'), 0x62A8AB43u},
      {inc, 0x46DD794Eu},
      {dec, 0x113FDB5Cu},
  };
  INFO("SSE4.2 crc32 instruction available: " << detail::crc32c_has_sse42());
  for (const auto& [bytes, want] : vectors) {
    INFO("vector of " << bytes.size() << " bytes");
    CHECK(crc_of(bytes) == want);
    CHECK(detail::crc32c_portable(bytes.data(), bytes.size()) == want);
    if (detail::crc32c_has_sse42()) CHECK(detail::crc32c_sse42(bytes.data(), bytes.size()) == want);
  }
  // Continuing a CRC over a split buffer gives the CRC of the whole.
  const std::string s = "123456789";
  for (size_t cut = 0; cut <= s.size(); ++cut)
    CHECK(detail::crc32c(s.data() + cut, s.size() - cut, detail::crc32c(s.data(), cut)) == 0xE3069283u);
}

TEST_CASE("crc32c: masked CRCs of records from real TensorFlow event files", "[summary]") {
  // From TensorBoard's Rust reader tests (tensorboard/data/server/{tf_record,masked_crc}.rs):
  // records written by TensorFlow, with their stored masked CRCs.
  const std::string length_24("\x18\0\0\0\0\0\0\0", 8), length_50("\x32\0\0\0\0\0\0\0", 8);
  const std::string version_event("\x09\x00\x00\x80\x38\x99\xd6\xd7\x41\x1a\x0d" "brain.Event:2", 24);
  const std::string scalar_event(
      "\x09\xc4\x05\xb7\x3d\x99\xd6\xd7\x41\x10\x4d\x2a\x25\x0a\x23\x0a\x08" "accuracy"
      "\x42\x0a\x08\x01\x12\x00\x22\x04\xa4\x70\x7d\x3f\x4a\x0b\x0a\x09\x0a\x07" "scalars", 50);
  CHECK(detail::mask_crc32c(crc_of(length_24)) == 0x224b7fa3u);
  CHECK(detail::mask_crc32c(crc_of(version_event)) == 0xab364b12u);
  CHECK(detail::mask_crc32c(crc_of(length_50)) == 0xec561924u);
  CHECK(detail::mask_crc32c(crc_of(scalar_event)) == 0x33645ba5u);
  CHECK(detail::mask_crc32c(crc_of(std::string("\x1a\x11" "CRC test, one two"))) == 0x5794d08au);
}

TEST_CASE("crc32c: the SSE4.2 and table paths agree on every length and alignment", "[summary]") {
  if (!detail::crc32c_has_sse42()) {
    WARN("skipped: this CPU has no SSE4.2 crc32 instruction (only the table path runs)");
    return;
  }
  std::mt19937_64 rng(42);
  std::vector<unsigned char> buf(4096 + 64);
  for (auto& b : buf) b = static_cast<unsigned char>(rng());
  for (size_t offset = 0; offset < 16; ++offset) {
    for (size_t n = 0; n < 300; ++n) {
      const uint32_t seed = static_cast<uint32_t>(rng());
      INFO("offset " << offset << ", length " << n << ", initial crc " << seed);
      REQUIRE(detail::crc32c_sse42(buf.data() + offset, n, seed) == detail::crc32c_portable(buf.data() + offset, n, seed));
    }
    for (size_t n : {1021, 1024, 2047, 4096}) {
      INFO("offset " << offset << ", length " << n);
      REQUIRE(detail::crc32c_sse42(buf.data() + offset, n) == detail::crc32c_portable(buf.data() + offset, n));
    }
  }
}

TEST_CASE("histogram: equal-width buckets between min and max", "[summary]") {
  const std::vector<double> v = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  detail::Histogram h = detail::make_histogram(v, 5);
  CHECK(h.min == 0);
  CHECK(h.max == 9);
  CHECK(h.num == 10);
  CHECK(h.sum == 45);
  CHECK(h.sum_squares == 285);
  REQUIRE(h.limits.size() == 5);
  const std::vector<double> want_limits = {1.8, 3.6, 5.4, 7.2, 9};
  for (size_t i = 0; i < 5; ++i) CHECK(h.limits[i] == Approx(want_limits[i]));
  CHECK(h.counts == std::vector<double>{2, 2, 2, 2, 2});

  // A value on a boundary counts above it; max counts in the last bucket.
  h = detail::make_histogram(std::vector<double>{-1, 0, 0, 1, 1, 1}, 2);
  CHECK(h.limits == std::vector<double>{0, 1});
  CHECK(h.counts == std::vector<double>{1, 5});

  // All values equal: one bucket at that value.
  h = detail::make_histogram(std::vector<double>{2.5, 2.5, 2.5}, 30);
  CHECK(h.limits == std::vector<double>{2.5});
  CHECK(h.counts == std::vector<double>{3});

  // A range wider than the largest double still gives finite limits and every value counted.
  const double big = std::numeric_limits<double>::max();
  h = detail::make_histogram(std::vector<double>{-big, 0, big}, 4);
  REQUIRE(h.limits.size() == 4);
  for (double l : h.limits) CHECK(std::isfinite(l));
  CHECK(h.counts == std::vector<double>{1, 0, 1, 1});
}

TEST_CASE("SummaryWriter: file name, version record first, records framed and flushed", "[summary]") {
  TempDir dir("summary-basic");
  const fs::path logdir = dir.path / "runs" / "exp1";  // parents created
  fs::path path;
  {
    SummaryWriter w(logdir, SummaryOptions{.max_queue = 3});
    path = w.path();
    CHECK(path.parent_path() == logdir);
    CHECK_THAT(path.filename().string(), StartsWith("events.out.tfevents."));
    CHECK_THAT(path.filename().string(), Contains(fmt::format(".{}.", ::getpid())));
    std::vector<std::string> records = read_records(path);
    REQUIRE(records.size() == 1);  // the version record, written at once
    CHECK_THAT(records[0], Contains("brain.Event:2"));

    w.scalar("loss", 0.5, 1);
    w.scalar("loss", Tensor(scalar(0.25f)), 2);
    CHECK(read_records(path).size() == 1);  // buffered
    w.histogram("weights", arange(0, 100, 1).astype(DType::F32), 2);
    CHECK(read_records(path).size() == 4);  // the third record filled the queue
    w.text("config", "lr = **3e-3**", 3);
    w.flush();
    CHECK(read_records(path).size() == 5);
    w.text("notes", "buffered until the writer goes", 4);
  }
  std::vector<std::string> records = read_records(path);
  REQUIRE(records.size() == 6);  // the destructor flushed
  CHECK_THAT(records[1], Contains("loss"));
  CHECK_THAT(records[4], Contains("lr = **3e-3**"));

  // Two writers on one folder get files of their own.
  SummaryWriter a(logdir), b(logdir);
  CHECK(a.path() != b.path());
  CHECK(a.path() != path);
}

TEST_CASE("SummaryWriter: threads write whole records", "[summary]") {
  TempDir dir("summary-threads");
  fs::path path;
  {
    SummaryWriter w(dir.path, SummaryOptions{.max_queue = 7});
    path = w.path();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&w, t] {
        for (int i = 0; i < 100; ++i) w.scalar("thread_" + std::to_string(t), i * 0.5, i);
      });
    for (auto& t : threads) t.join();
  }
  CHECK(read_records(path).size() == 401);
}

TEST_CASE("SummaryWriter: a trace's graph", "[summary]") {
  TempDir dir("summary-graph");
  Tensor x = tensor({1.f, 2.f, 3.f}), y = tensor({4.f, 5.f, 6.f});
  Recorder rec;
  rec.add_inputs({x, y});
  Tensor out = sum(exp(x * y));
  Trace trace = rec.finish({out});
  fs::path path;
  {
    SummaryWriter w(dir.path);
    path = w.path();
    w.graph(trace);
  }
  std::vector<std::string> records = read_records(path);
  REQUIRE(records.size() == 2);
  for (const char* name : {"input_0", "input_1", "exp", "output_0", "_output_shapes"})
    CHECK_THAT(records[1], Contains(name));

  // A trace that uses a value nothing defines, or names values it does not have.
  SummaryWriter w(dir.path);
  Trace bad = trace;
  bad.nodes[0].inputs[0] = 99;
  CHECK_THAT(test::error_of([&] { w.graph(bad); }),
             StartsWith("[summary] graph:") && Contains("uses value 99, which no input or earlier node defines"));
  bad = trace;
  bad.nodes.back().output = -5;
  CHECK_THAT(test::error_of([&] { w.graph(bad); }), Contains("is value -5, but the trace has values 0.."));
  bad = trace;
  bad.nodes[1].output = bad.nodes[0].output;
  CHECK_THAT(test::error_of([&] { w.graph(bad); }), Contains("node 1 ('exp') defines value") && Contains("a second time"));
  bad = trace;
  bad.outputs = {1000};
  CHECK_THAT(test::error_of([&] { w.graph(bad); }), Contains("output 0 is value 1000"));
}

TEST_CASE("SummaryWriter: bad values are errors naming the tag", "[summary]") {
  TempDir dir("summary-values");
  SummaryWriter w(dir.path);
  CHECK(test::error_of([&] { w.scalar("loss", ones({2, 3}), 0); }) ==
        "[summary] scalar 'loss' needs a tensor with one element; got shape (2,3) (6 elements)");
  CHECK_THAT(test::error_of([&] { w.scalar("loss", Tensor(), 0); }), Contains("'loss' of an undefined tensor"));
  CHECK(test::error_of([&] { w.scalar("ok", ones({1, 1}, DType::Bool), 0); }) == "(no error)");  // any dtype
  CHECK(test::error_of([&] { w.histogram("mask", ones({4}, DType::Bool), 0); }) ==
        "[summary] histogram 'mask' of a bool tensor (numbers only)");
  CHECK(test::error_of([&] { w.histogram("w", zeros({0, 3}), 0); }) ==
        "[summary] histogram 'w' of an empty tensor of shape (0,3)");
  CHECK(test::error_of([&] { w.histogram("w", tensor({1.f, NAN, INFINITY, 2.f}), 0); }) ==
        "[summary] histogram 'w': 2 of the 4 values of the tensor of shape (4,) are NaN or infinite");
  CHECK(test::error_of([&] { w.histogram("w", ones({3}), 0, 0); }) == "[summary] histogram 'w': 0 buckets (1 to 10000)");
  CHECK(test::error_of([&] { w.scalar("", 1.0, 0); }) == "[summary] scalar with an empty tag");
  CHECK_THAT(test::error_of([&] { w.text("bad\xff", "x", 0); }), Contains("tag 'bad") && Contains("is not valid UTF-8"));
  CHECK_THAT(test::error_of([&] { w.text("notes", "\xc0\xaf", 0); }), Contains("text 'notes' is not valid UTF-8"));
  CHECK(test::error_of([&] { w.text("notes", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x88", 0); }) == "(no error)");

  // Inside a trace, reading a tensor would be a host read of a traced value.
  Tensor x = ones({2});
  Recorder rec;
  rec.add_inputs({x});
  Tensor loss = sum(x);
  CHECK_THAT(test::error_of([&] { w.scalar("loss", loss, 0); }), Contains("called while a trace records"));
  CHECK_THAT(test::error_of([&] { w.histogram("x", x, 0); }), Contains("called while a trace records"));
  rec.finish({loss});

  SummaryWriter moved(std::move(w));
  CHECK(test::error_of([&] { w.flush(); }) == "[summary] use of a moved-from SummaryWriter");
  CHECK(test::error_of([&] { moved.scalar("after_move", 1.0, 0); }) == "(no error)");
}

TEST_CASE("SummaryWriter: folders and files it cannot use are errors naming the path", "[summary]") {
  TempDir dir("summary-io");
  const fs::path file = dir.path / "a_file";
  std::ofstream(file) << "x";
  CHECK(test::error_of([&] { SummaryWriter w(file); }) ==
        "[summary] log folder '" + file.string() + "' exists and is not a folder");
  CHECK_THAT(test::error_of([&] { SummaryWriter w(file / "sub"); }),
             StartsWith("[summary] cannot create log folder '" + (file / "sub").string() + "': ") &&
                 Contains("Not a directory"));
  CHECK_THAT(test::error_of([&] { SummaryWriter w("/proc/ejit-no-such-folder"); }),
             StartsWith("[summary] cannot create log folder '/proc/ejit-no-such-folder': "));
  CHECK(test::error_of([&] { SummaryWriter w(""); }) == "[summary] empty log folder name");
  CHECK_THAT(test::error_of([&] { SummaryWriter w(dir.path, SummaryOptions{.max_queue = -1}); }),
             Contains("max_queue = -1"));
  if (::geteuid() != 0) {  // root writes anywhere
    const fs::path ro = dir.path / "read_only";
    fs::create_directories(ro);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    CHECK_THAT(test::error_of([&] { SummaryWriter w(ro); }),
               StartsWith("[summary] cannot create '" + ro.string() + "/events.out.tfevents.") &&
                   Contains("Permission denied"));
  }
}

TEST_CASE("SummaryWriter: a failed write is an error naming the file, which the destructor only prints", "[summary]") {
  TempDir dir("summary-write-fails");
  SummaryWriter w(dir.path, SummaryOptions{.max_queue = 100});
  const auto size = fs::file_size(w.path());
  // Files may not grow past their size now: write() fails with EFBIG (SIGXFSZ ignored).
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = size;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  w.scalar("loss", 1.0, 1);
  const std::string err = test::error_of([&] { w.flush(); });
  {
    SummaryWriter doomed(std::move(w));  // its destructor fails to flush, prints, does not throw
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);
  CHECK_THAT(err, StartsWith("[summary] cannot write to '" + dir.path.string() + "/events.out.tfevents.") &&
                      Contains("File too large"));
}
