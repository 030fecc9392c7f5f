// The profiler, eager side: op events (name, shapes, dtype, device), allocations, host reads,
// threads, nested profiles, the JSON (read back with nlohmann) and the summary, bad paths.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <atomic>
#include <chrono>

#include <nlohmann/json.hpp>

#include "test_util.h"

using namespace ejit;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

using ejit::test::TempDir;

std::vector<ProfileEvent> of(const std::vector<ProfileEvent>& events, std::string_view category, std::string_view name = {}) {
  std::vector<ProfileEvent> out;
  for (const ProfileEvent& e : events)
    if (e.category == category && (name.empty() || e.name == name)) out.push_back(e);
  return out;
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in);
  return nlohmann::json::parse(in);  // throws on bad JSON, invalid UTF-8 included
}

}  // namespace

TEST_CASE("profile: an eager op's event has its name, input shapes, dtype and device", "[profile]") {
  Tensor a = ones({2, 3}), b = full({3}, 2.0f);
  Profile p;
  REQUIRE(Profile::active());
  Tensor c = a * b;
  Tensor s = sum(c, {1});
  Tensor m = matmul(a, ones({3, 4}, DType::F32));
  p.stop();
  REQUIRE_FALSE(p.recording());
  const std::vector<ProfileEvent> events = p.events();
  const auto mul = of(events, "op", "mul");
  REQUIRE(mul.size() == 1);
  CHECK(mul[0].arg("shapes") == "(2,3) (3,)");
  CHECK(mul[0].arg("dtype") == "f32");
  CHECK(mul[0].arg("device") == "cpu");
  CHECK(mul[0].duration_ns > 0);
  CHECK(mul[0].thread == static_cast<uint64_t>(::gettid()));
  REQUIRE(of(events, "op", "sum").size() == 1);
  CHECK(of(events, "op", "sum")[0].arg("shapes") == "(2,3)");
  const auto mm = of(events, "op", "matmul");
  REQUIRE(mm.size() == 1);
  CHECK(mm[0].arg("shapes") == "(2,3) (3,4)");
  REQUIRE(of(events, "op", "full").size() == 1);  // ones() inside the profile
  CHECK(of(events, "op", "full")[0].arg("shape") == "(3,4)");
  // Ordered by start, all within the profile.
  for (size_t i = 0; i < events.size(); ++i) {
    CHECK(events[i].start_ns >= 0);
    CHECK(events[i].start_ns + events[i].duration_ns <= static_cast<int64_t>(p.seconds() * 1e9) + 1000);
    if (i) CHECK(events[i - 1].start_ns <= events[i].start_ns);
  }
}

TEST_CASE("profile: mixed dtypes show the cast inside the op", "[profile]") {
  Tensor a = ones({4}, DType::I32), b = ones({4});
  Profile p;
  Tensor c = a + b;
  p.stop();
  const auto events = p.events();
  const auto add = of(events, "op", "add"), cast = of(events, "op", "cast");
  REQUIRE(add.size() == 1);
  REQUIRE(cast.size() == 1);
  CHECK(add[0].arg("dtype") == "i32 f32");
  CHECK(cast[0].start_ns >= add[0].start_ns);  // nested in the add
  CHECK(cast[0].start_ns + cast[0].duration_ns <= add[0].start_ns + add[0].duration_ns);
}

TEST_CASE("profile: an op that throws is recorded, marked", "[profile]") {
  Profile p;
  REQUIRE_THROWS_AS(matmul(ones({2, 3}), ones({2, 3})), Error);
  p.stop();
  const auto mm = of(p.events(), "op", "matmul");
  REQUIRE(mm.size() == 1);
  CHECK(mm[0].arg("error") == "the op threw");
}

TEST_CASE("profile: allocations and host reads are events", "[profile]") {
  Tensor a = ones({1000});
  Profile p;
  Tensor b = a * 2.f;  // one 4000-byte output
  std::vector<float> v = b.to_vector<float>();
  p.stop();
  const auto events = p.events();
  const auto allocs = of(events, "alloc");
  size_t spans = 0;
  bool sized = false;
  for (const ProfileEvent& e : allocs) {
    if (e.counter) {
      CHECK(e.name == "cpu bytes in use");
      continue;
    }
    ++spans;
    CHECK((e.name == "cpu (cached)" || e.name == "cpu (new)"));
    sized |= e.bytes >= 4000;
  }
  CHECK(spans >= 1);
  CHECK(sized);
  const auto reads = of(events, "host_read");
  REQUIRE(reads.size() >= 1);
  CHECK(reads.back().name == "item/to_vector/at");
  CHECK(reads.back().arg("shape") == "(1000,)");
  CHECK(reads.back().arg("dtype") == "f32");
  CHECK(reads.back().bytes == 4000);
}

TEST_CASE("profile: with no profile, nothing is recorded", "[profile]") {
  REQUIRE_FALSE(Profile::active());
  Tensor a = ones({8});
  Tensor before = a - a;  // not recorded: no profile
  Profile p;
  Tensor during = a / 2.f;
  p.stop();
  REQUIRE_FALSE(Profile::active());
  Tensor after = a - a;
  const auto events = p.events();
  CHECK(of(events, "op", "sub").empty());
  CHECK(of(events, "op", "div").size() == 1);
  Profile empty;
  empty.stop();
  CHECK(of(empty.events(), "op").empty());
}

TEST_CASE("profile: events of two threads carry their own thread ids", "[profile]") {
  TempDir dir("profile-threads");
  Profile p;
  Tensor a = ones({16});
  Tensor x = exp(a);
  uint64_t other = 0;
  std::thread t([&] {
    other = static_cast<uint64_t>(::gettid());
    Tensor y = tanh(a);
  });
  t.join();
  p.stop();
  const auto events = p.events();
  REQUIRE(of(events, "op", "exp").size() == 1);
  REQUIRE(of(events, "op", "tanh").size() == 1);
  CHECK(of(events, "op", "exp")[0].thread == static_cast<uint64_t>(::gettid()));
  CHECK(of(events, "op", "tanh")[0].thread == other);
  CHECK(other != static_cast<uint64_t>(::gettid()));
  p.write(dir.path / "threads.json");
  const nlohmann::json j = read_json(dir.path / "threads.json");
  std::set<uint64_t> named;
  for (const auto& e : j["traceEvents"])
    if (e["ph"] == "M" && e["name"] == "thread_name") named.insert(e["tid"].get<uint64_t>());
  CHECK(named.count(other) == 1);
  CHECK(named.count(static_cast<uint64_t>(::gettid())) == 1);
}

TEST_CASE("profile: the JSON is Chrome trace-event format", "[profile]") {
  TempDir dir("profile-json");
  const fs::path path = dir.path / "p.json";
  {
    Profile p(path);  // written by the destructor
    Tensor a = randn({32, 32}, 1);
    Tensor b = softmax(matmul(a, a));
    (void)sum(b).item<float>();
  }
  const nlohmann::json j = read_json(path);
  REQUIRE(j.contains("traceEvents"));
  CHECK(j["displayTimeUnit"] == "ms");
  size_t spans = 0, counters = 0;
  std::set<std::string> categories;
  for (const auto& e : j["traceEvents"]) {
    REQUIRE(e.contains("ph"));
    REQUIRE(e.contains("pid"));
    REQUIRE(e.contains("tid"));
    REQUIRE(e.contains("name"));
    CHECK(e["pid"] == ::getpid());
    if (e["ph"] == "M") continue;
    REQUIRE(e.contains("ts"));
    CHECK(e["ts"].get<double>() >= 0);
    REQUIRE(e.contains("cat"));
    categories.insert(e["cat"].get<std::string>());
    if (e["ph"] == "C") {
      ++counters;
      CHECK(e["args"]["bytes"].is_number());
      continue;
    }
    REQUIRE(e["ph"] == "X");
    REQUIRE(e.contains("dur"));
    CHECK(e["dur"].get<double>() >= 0);
    ++spans;
  }
  CHECK(spans > 5);
  CHECK(categories.count("op") == 1);
  CHECK(categories.count("alloc") == 1);
  CHECK(categories.count("host_read") == 1);
}

TEST_CASE("profile: names that are not plain text still make valid JSON", "[profile]") {
  TempDir dir("profile-escape");
  const std::string name = "q\"uote\\back\nline\ttab \xff\xfe bad utf-8 \xc3\xa9";
  Profile p;
  host_callback(name, [](const std::vector<Tensor>& in) { return std::vector<Tensor>{in[0] * 2.f}; }, {ones({2})},
                {{Shape{2}, DType::F32}});
  p.stop();
  bool found = false;
  for (const ProfileEvent& e : p.events()) found |= e.category == "op" && e.name.find("uote") != std::string::npos;
  CHECK(found);
  p.write(dir.path / "escape.json");
  const nlohmann::json j = read_json(dir.path / "escape.json");  // parses: escapes and U+FFFD
  bool seen = false;
  for (const auto& e : j["traceEvents"]) {
    const std::string n = e.value("name", "");
    if (n.find("uote") == std::string::npos) continue;
    seen = true;
    CHECK_THAT(n, Contains("q\"uote\\back\nline\ttab \xef\xbf\xbd\xef\xbf\xbd bad utf-8 \xc3\xa9"));
  }
  CHECK(seen);
}

TEST_CASE("profile: overlapping profiles each see their own lifetime", "[profile]") {
  Tensor a = ones({4});
  Profile outer;
  Tensor x = exp(a);
  std::optional<Profile> inner(std::in_place);
  Tensor y = log(a);
  inner->stop();
  Tensor z = sin(a);
  outer.stop();
  const auto o = outer.events(), i = inner->events();
  CHECK(of(o, "op", "exp").size() == 1);
  CHECK(of(o, "op", "log").size() == 1);
  CHECK(of(o, "op", "sin").size() == 1);
  CHECK(of(i, "op", "exp").empty());
  CHECK(of(i, "op", "log").size() == 1);
  CHECK(of(i, "op", "sin").empty());
  // events() of a profile still recording: what it has so far.
  Profile running;
  Tensor w = cos(a);
  CHECK(of(running.events(), "op", "cos").size() == 1);
  CHECK(running.recording());
}

TEST_CASE("profile: profiles one after another each keep every event", "[profile]") {
  // Enough events to fill several of a thread's buffer chunks, which the next profile reuses.
  Tensor a = ones({8});
  for (int round = 0; round < 3; ++round) {
    const int n = 5000 * (round + 1);
    Profile p;
    for (int i = 0; i < n; ++i) Tensor b = a + a;
    p.stop();
    INFO("round " << round);
    CHECK(of(p.events(), "op", "add").size() == static_cast<size_t>(n));
    size_t allocs = 0;
    for (const ProfileEvent& e : of(p.events(), "alloc")) allocs += !e.counter;
    CHECK(allocs == static_cast<size_t>(n));
  }
}

TEST_CASE("profile: the summary is a table per category", "[profile]") {
  Tensor a = ones({64, 64});
  Profile p;
  for (int i = 0; i < 10; ++i) Tensor b = a + a;
  Tensor c = matmul(a, a);
  p.stop();
  const std::string s = p.summary(5);
  INFO(s);
  CHECK_THAT(s, Contains("ejit profile:"));
  CHECK_THAT(s, Contains("category"));
  CHECK_THAT(s, Contains("op: "));
  CHECK_THAT(s, Contains("alloc"));
  // The add row: its count.
  bool add_row = false;
  std::istringstream lines(s);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("  add ", 0) == 0) {
      add_row = true;
      CHECK_THAT(line, Contains(" 10 "));
    }
  CHECK(add_row);
}

TEST_CASE("profile: a path that cannot be written is an error naming it", "[profile]") {
  TempDir dir("profile-bad");
  const fs::path missing = dir.path / "no-such-folder" / "p.json";
  try {
    Profile p(missing);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Contains("[profile]"));
    CHECK_THAT(e.what(), Contains(missing.string()));
    CHECK_THAT(e.what(), Contains("No such file or directory"));
  }
  REQUIRE_FALSE(Profile::active());  // the failed profile does not record
  Profile p;
  p.stop();
  try {
    p.write(dir.path);  // a folder
    FAIL("no error");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Contains(dir.path.string()));
  }
  const fs::path fifo = dir.path / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH(p.write(fifo), Contains(fifo.string()));  // fails at once, never blocks
}

TEST_CASE("profile: a fork()ed child records while the parent's threads were recording", "[profile]") {
  Tensor a = ones({64});
  Profile parent;
  std::atomic<bool> stop{false};
  std::thread busy([&] {  // records (and registers with the profiler) around the fork
    while (!stop) Tensor b = exp(a) + a;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const pid_t child = fork();
  if (child == 0) {  // only this thread exists here; the profiler's lock must be usable
    int status = 0;
    try {
      Profile p;
      Tensor c = sin(a) * 2.f;
      std::thread t([&] { Tensor d = cos(a); });
      t.join();
      p.stop();
      size_t sins = 0, coss = 0;
      for (const ProfileEvent& e : p.events()) sins += e.name == "sin", coss += e.name == "cos";
      status = sins == 1 && coss == 1 ? 0 : 1;
    } catch (...) {
      status = 2;
    }
    _exit(status);
  }
  REQUIRE(child > 0);
  int status = -1;
  REQUIRE(waitpid(child, &status, 0) == child);
  stop = true;
  busy.join();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  parent.stop();
  CHECK(of(parent.events(), "op", "exp").size() > 0);
}

// Run by ctest with EJIT_PROFILE=FILE (test/CMakeLists.txt): a fork()ed child that exits
// normally writes FILE.PID.json, and the parent's profile is written at exit while a thread
// of its own still records.
TEST_CASE("profile: EJIT_PROFILE at exit, with a child and a thread still running", "[.profile-env-exit]") {
  REQUIRE(Profile::active());
  Tensor a = ones({16});
  Tensor b = exp(a);
  const pid_t child = fork();
  if (child == 0) {
    Tensor c = sin(a);
    std::exit(0);  // atexit: the child's profile
  }
  REQUIRE(child > 0);
  int status = -1;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  std::printf("child %d\n", static_cast<int>(child));
  std::thread([a] {
    for (;;) Tensor d = tanh(a) * 2.f;  // still running when the process exits
  }).detach();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

// Run by ctest with EJIT_PROFILE naming a file that cannot be written (test/CMakeLists.txt):
// the program runs unprofiled, with a message on stderr, and exits normally.
TEST_CASE("profile: EJIT_PROFILE with a path that cannot be written", "[.profile-bad-env]") {
  CHECK_FALSE(Profile::active());
  Tensor a = ones({4}) * 2.f;
  CHECK(a.to_vector<float>()[0] == 2.f);
}
