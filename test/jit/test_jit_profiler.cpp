// The profiler, compiled side: a jitted function's compile (its stages), its later calls and
// the steps inside them (kernels, interpreter ops, BLAS calls), background compiles on their
// own thread, ejit::compile().
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "ejit/compile.h"
#include "ejit/jit.h"
#include "test_util.h"

using namespace ejit;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

std::vector<ProfileEvent> of(const std::vector<ProfileEvent>& events, std::string_view category) {
  std::vector<ProfileEvent> out;
  for (const ProfileEvent& e : events)
    if (e.category == category) out.push_back(e);
  return out;
}

bool inside(const ProfileEvent& child, const ProfileEvent& parent) {
  return child.thread == parent.thread && child.start_ns >= parent.start_ns &&
         child.start_ns + child.duration_ns <= parent.start_ns + parent.duration_ns;
}

/// A matmul on the BLAS, kernels (one with a take of indices it computes, checked after it
/// runs) and a host callback on the interpreter between them.
std::vector<Tensor> scores(const Tensor& x, const Tensor& w) {
  Tensor h = relu(matmul(x, w) + 1.f) * 0.5f;
  Tensor top = take(h, argmax(h, 1), 1);  // compiled with h: its indices are checked after the kernel
  const auto halve = [](const std::vector<Tensor>& in) { return std::vector<Tensor>{in[0] * 0.5f}; };
  return {h, host_callback("halve", halve, {top + 1.f}, {{top.shape(), DType::F32}})[0]};
}

}  // namespace

TEST_CASE("profile: a jitted function's compile, its stages, and its compiled calls' steps", "[profile][jit]") {
  Tensor x = randn({8, 16}, 1), w = randn({16, 4}, 2);
  auto f = jit(scores, "scores");  // tests compile synchronously (test/unit/main.cpp)
  Profile p;
  f(x, w);  // records and compiles
  f(x, w);  // runs the compiled steps
  p.stop();
  const auto events = p.events();
  INFO(p.summary());

  const auto calls = of(events, "call");
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].name == "scores (recorded and compiled)");
  CHECK(calls[1].name == "scores (compiled)");

  const auto compiles = of(events, "compile");
  REQUIRE(compiles.size() == 1);
  const ProfileEvent& c = compiles[0];
  CHECK(c.name == "compile scores");
  CHECK(c.arg("target") == "cpu");
  CHECK(c.arg("inputs") == "f32(8,16) f32(16,4)");
  CHECK(c.arg("result") == "compiled");
  CHECK(inside(c, calls[0]));  // sync: inside the call that recorded
  const auto stages = of(events, "stage");
  std::set<std::string> stage_names;
  for (const ProfileEvent& s : stages) {
    stage_names.insert(s.name);
    CHECK(inside(s, c));
  }
  for (const char* s : {"ejit", "linalg", "fused", "loops", "llvm-dialect", "llvm", "codegen"}) {
    INFO(s);
    CHECK(stage_names.count(s) == 1);
  }

  // The compiled call: kernels, the matmul on the BLAS and the host callback on the interpreter.
  const auto kernels = of(events, "kernel");
  const auto blas = of(events, "blas");
  const auto interp = of(events, "interp");
  REQUIRE(kernels.size() >= 1);
  REQUIRE(blas.size() == 1);
  REQUIRE(interp.size() == 1);
  CHECK(blas[0].name == "matmul (8,16) x (16,4)");
  CHECK(interp[0].name == "host_call");
  CHECK_THAT(kernels[0].name, Contains("relu"));
  CHECK_THAT(kernels[0].name, Contains("-> f32(8,4)"));
  for (const ProfileEvent* e : {&kernels[0], &blas[0], &interp[0]}) CHECK(inside(*e, calls[1]));
  // The matmul op itself runs inside the BLAS step.
  bool nested_op = false;
  for (const ProfileEvent& e : of(events, "op")) nested_op |= e.name == "matmul" && inside(e, blas[0]);
  CHECK(nested_op);
}

TEST_CASE("profile: a background compile runs on the compile thread, named", "[profile][jit]") {
  const fs::path path = fs::temp_directory_path() / ("ejit-test-profile-bg-" + std::to_string(::getpid()) + ".json");
  Tensor x = randn({64}, 3);
  auto f = jit([](const Tensor& t) { return exp(t) * 2.f - 1.f; }, "bg", JitOptions{.compile = CompileMode::Background});
  uint64_t compile_thread = 0;
  {
    Profile p(path);
    f(x);
    wait_for_compiles();
    f(x);
    p.stop();
    const auto events = p.events();
    const auto compiles = of(events, "compile");
    REQUIRE(compiles.size() >= 1);
    const ProfileEvent& c = compiles.back();
    CHECK(c.name == "compile bg");
    compile_thread = c.thread;
    CHECK(compile_thread != static_cast<uint64_t>(::gettid()));
    const auto calls = of(events, "call");
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].name == "bg (recorded)");
    CHECK(calls[1].name == "bg (compiled)");
  }
  std::ifstream in(path);
  const nlohmann::json j = nlohmann::json::parse(in);
  fs::remove(path);
  bool named = false;
  for (const auto& e : j["traceEvents"])
    if (e["ph"] == "M" && e["name"] == "thread_name" && e["tid"].get<uint64_t>() == compile_thread)
      named = e["args"]["name"] == "ejit compile";
  CHECK(named);
}

TEST_CASE("profile: ejit::compile() is a compile event, and a disk cache load says so", "[profile][jit]") {
  const Tensor x = randn({32}, 4);
  Recorder rec;
  rec.add_inputs({x});
  const Trace t = rec.finish({sin(x) * 3.25f + 0.5f});
  Profile p;
  Compiled first = compile(t);
  Compiled again = compile(t);  // the process's disk cache (test/unit/main.cpp) has it now
  p.stop();
  REQUIRE(first.ok());
  const auto compiles = of(p.events(), "compile");
  REQUIRE(compiles.size() == 2);
  CHECK(compiles[0].name == "compile");
  CHECK(compiles[0].arg("result") == "compiled");
  CHECK(compiles[1].arg("result") == "loaded from the disk cache");
}
