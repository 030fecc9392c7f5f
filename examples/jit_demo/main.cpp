// jit_demo: the same functions run eagerly and compiled; results, times, cache and IR.
//
//   jit_demo [--size N] [--dump STAGE]   STAGE: ejit|linalg|fused|loops|llvm-dialect|llvm|asm
#include <ejit/ejit.h>
#include <ejit/jit.h>

#include <chrono>

#include <cstdlib>
#include <cstring>
#include <string>

using namespace ejit;

namespace {

void report(const char* what, const Comparison& c) {
  if (!c.compiled) {
    fmt::print("{:<40} eager {:8.2f} ms | stays eager: {}\n", what, c.interpreted_ms, c.reason);
    return;
  }
  fmt::print("{:<40} eager {:8.2f} ms | compiled {:8.2f} ms | {:5.1f}x | max abs err {:.2g}, rel {:.2g}\n", what,
             c.interpreted_ms, c.compiled_ms, c.interpreted_ms / c.compiled_ms, c.max_abs_error, c.max_rel_error);
}

Stage parse_stage(const std::string& s) {
  for (int i = 0; i < kNumStages; ++i)
    if (s == stage_name(static_cast<Stage>(i))) return static_cast<Stage>(i);
  throw Error("[jit_demo] unknown stage '" + s + "'");
}

}  // namespace

int main(int argc, char** argv) try {
  int64_t n = 16 << 20;
  std::string dump;
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--size")) n = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--dump")) dump = argv[i + 1];
  }
  fmt::print("ejit jit demo — {} threads, kernels {}\n\n", num_threads(), kernel_isa());

  auto chain = jit([](const Tensor& a, const Tensor& b, const Tensor& c) {
    return exp(a * b) + tanh(c) * 0.5f - a / (1 + b * b);
  }, "chain");
  Tensor a = rand({n}, 1), b = rand({n}, 2), c = rand({n}, 3);
  // The first call records while running eagerly and returns; a background thread compiles.
  const auto t0 = std::chrono::steady_clock::now();
  Tensor first = chain(a, b, c);
  const double first_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  wait_for_compiles();  // here only to report the compile time; calls meanwhile would run eagerly
  fmt::print("first call: {:.1f} ms (eager, recording); the chain compiled meanwhile in {:.1f} ms\n", first_ms,
             chain.stats().compile_ms);
  report(fmt::format("exp(a*b)+tanh(c)*0.5-a/(1+b*b), {} f32", n).c_str(), chain.compare(5, a, b, c));

  Tensor x = randn({4096, 1024}, 4);
  auto sm = jit([](const Tensor& t) { return softmax(t); }, "softmax");
  report("softmax 4096x1024", sm.compare(5, x));
  auto ln = jit([](const Tensor& t) { return layer_norm(t); }, "layer_norm");
  report("layer_norm 4096x1024", ln.compare(5, x));

  // Value-dependent C++ control flow: the host read is a guard. The code before it compiles;
  // the code after it compiles once per value read (a bool here: two branches at most).
  auto branchy = jit([](const Tensor& t) { return (sum(t) > 0.f).item<bool>() ? exp(t) * 2.f : -t; }, "branchy");
  report("(sum(t) > 0) ? exp(t) * 2 : -t", branchy.compare(3, x));
  report("the same, the other branch", branchy.compare(3, -x));

  CacheStats s = chain.stats();
  fmt::print("\nchain cache: {} hits, {} misses, {:.1f} ms compiling\n", s.hits, s.misses, s.compile_ms);
  if (dump == "asm" && chain.ir(Stage::Asm).empty())  // a second code generation: only when asked
    fmt::print("\nasm is kept only when EJIT_DUMP names it: EJIT_DUMP=asm jit_demo (or: ejit dump FILE --stage=asm)\n");
  else if (!dump.empty()) fmt::print("\nIR of the chain at stage {}:\n{}\n", dump, chain.ir(parse_stage(dump)));
  else fmt::print("(--dump ejit|linalg|fused|loops|llvm-dialect|llvm shows the chain's IR; EJIT_DUMP=all prints every stage)\n");
  return 0;
} catch (const Error& e) {
  fmt::print(stderr, "{}\n", e.what());
  return 1;
}
