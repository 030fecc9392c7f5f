// Strict numerics: compiled results equal the interpreter's bit for bit (JitOptions::strict,
// CompileOptions::strict, EJIT_STRICT=1).
#include <ejit/jit.h>

#include <cstring>
#include <random>

#include "op_chains.h"

using namespace ejit;
using namespace ejit::test;

namespace {

/// Same shape, dtype and bytes (NaNs included).
void require_bits(const Tensor& got, const Tensor& want, const std::string& what) {
  INFO(what);
  REQUIRE(got.shape() == want.shape());
  REQUIRE(got.dtype() == want.dtype());
  const Tensor g = got.to(Device::cpu()), w = want.to(Device::cpu());
  if (std::memcmp(g.raw_data(), w.raw_data(), g.nbytes()) == 0) return;
  const auto a = g.to_vector<double>(), b = w.to_vector<double>();
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(static_cast<const char*>(g.raw_data()) + i * itemsize(g.dtype()),
                    static_cast<const char*>(w.raw_data()) + i * itemsize(w.dtype()), itemsize(g.dtype())) != 0) {
      INFO("element " << i << ": compiled " << a[i] << ", interpreted " << b[i]);
      REQUIRE(false);
    }
}

JitOptions strict() {
  JitOptions o;
  o.strict = true;
  return o;
}

}  // namespace

TEST_CASE("strict: 200 random op chains, compiled equals interpreted bit for bit", "[jit][strict][random]") {
  std::mt19937_64 rng(5);
  int compiled = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    const int64_t m = 1 + static_cast<int64_t>(rng() % 40), n = 1 + static_cast<int64_t>(rng() % 70);
    const Shape other[] = {{n}, {m, 1}, {1, n}, {}, {m, n}};
    const Tensor a = randn({m, n}, seed) * 3.f, b = randn(other[rng() % 5], seed + 11) * 3.f;
    auto fn = [seed](const Tensor& x, const Tensor& y) { return random_chain(seed, x, y); };
    auto f = jit(fn, "chain", strict());
    const Tensor eager = fn(a, b);
    f(a, b);
    const Tensor got = f(a, b);
    compiled += f.stats().hits == 1;
    require_bits(got, eager, "seed " + std::to_string(seed) + " shapes " + a.shape().str() + " " + b.shape().str());
  }
  CHECK(compiled >= 150);  // the rest: chains with nothing to fuse in strict mode run eagerly
}

TEST_CASE("strict: random structural chains with reductions and several outputs, bit for bit",
          "[jit][strict][random]") {
  std::mt19937_64 rng(78);
  int compiled = 0;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    const int64_t m = 2 + static_cast<int64_t>(rng() % 30), n = 2 + static_cast<int64_t>(rng() % 40);
    const Shape other[] = {{n}, {m, 1}, {1, n}, {}, {m, n}};
    const Tensor a = randn({m, n}, seed), b = randn(other[rng() % 5], seed + 7);
    auto fn = [seed](const Tensor& x, const Tensor& y) { return random_structured_chain(seed, x, y); };
    auto f = jit(fn, "structured", strict());
    const std::vector<Tensor> eager = fn(a, b);
    f(a, b);
    const std::vector<Tensor> got = f(a, b);
    compiled += f.stats().hits == 1;
    REQUIRE(got.size() == eager.size());
    for (size_t i = 0; i < got.size(); ++i)
      require_bits(got[i], eager[i], "seed " + std::to_string(seed) + " output " + std::to_string(i));
  }
  CHECK(compiled == 100);
}

TEST_CASE("strict: softmax, layer norm and a training step equal the interpreter bit for bit", "[jit][strict]") {
  auto layer_norm = [](const Tensor& x, const Tensor& g) {
    Tensor mu = mean(x, {-1}, true), d = x - mu;
    return d / sqrt(mean(d * d, {-1}, true) + 1e-5f) * g;
  };
  const Tensor x = randn({64, 300}, 1) * 4.f, g = randn({300}, 2);
  // softmax alone is all reductions and exp in strict mode: nothing to fuse. Around work:
  auto scaled_softmax = [](const Tensor& t) { return softmax(t * 0.5f + 1.f, -1) * 3.f - 1.f; };
  auto sm = jit(scaled_softmax, "softmax", strict());
  auto ln = jit(layer_norm, "layer_norm", strict());
  for (int i = 0; i < 2; ++i) {
    require_bits(sm(x), scaled_softmax(x), "softmax");
    require_bits(ln(x, g), layer_norm(x, g), "layer norm");
  }
  CHECK(sm.stats().hits == 1);
  CHECK(ln.stats().hits == 1);
  CHECK(sm.ir(Stage::Loops).find("strict numerics: exp runs on the interpreter") != std::string::npos);

  auto loss = [](const Tensor& w, const Tensor& xs, const Tensor& labels) {
    return cross_entropy(matmul(xs, w), labels);
  };
  auto step = [&](const Tensor& w, const Tensor& xs, const Tensor& labels) {
    auto [l, gw] = value_and_grad(loss)(w, xs, labels);
    return std::make_tuple(l, w - gw * 0.1f);
  };
  auto jstep = jit(step, "step", strict());
  Tensor w = randn({20, 5}, 3) * 0.1f, w_eager = w;
  const Tensor xs = randn({32, 20}, 4), labels = cast(minimum(abs(randn({32}, 5)) * 2.f, 4.f), DType::I64);
  for (int i = 0; i < 4; ++i) {
    auto [l, next] = jstep(w, xs, labels);
    auto [l_eager, next_eager] = step(w_eager, xs, labels);
    require_bits(l, l_eager, "loss, step " + std::to_string(i));
    require_bits(next, next_eager, "weights, step " + std::to_string(i));
    w = next, w_eager = next_eager;
  }
  CHECK(jstep.stats().hits == 3);
}

TEST_CASE("strict: compile() takes the option, and a strict GPU compile says it is not there yet", "[jit][strict]") {
  const Tensor x = randn({8, 16}, 1);
  Recorder rec;
  rec.add_inputs({x});
  const Tensor y = exp(x * 0.5f) + sum(x, {1}, true) * 2.f;
  const Trace t = rec.finish({y});
  const Compiled c = compile(t, {.keep_ir = true, .strict = true});
  REQUIRE(c.ok());
  require_bits(c.run({x})[0], eval_trace(t, {x})[0], "compile(strict)");
  CHECK(c.ir(Stage::Loops).find("strict numerics: float reductions run on the interpreter") != std::string::npos);
  const Compiled gpu = compile(t, {.target = Target::CUDA, .strict = true});
  CHECK_FALSE(gpu.ok());
  CHECK(gpu.error().find("GPU programs are not strict yet") != std::string::npos);
}

TEST_CASE("compiled maximum and minimum treat zeros and NaN as the interpreter does", "[jit][strict]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor a = tensor({-0.f, 0.f, nan, 1.f, -0.f, 2.f}), b = tensor({0.f, -0.f, 1.f, nan, -0.f, 1.f});
  auto f = [](const Tensor& x, const Tensor& y) { return std::make_tuple(maximum(x, y) * 1.f, minimum(x, y) * 1.f); };
  auto jf = jit(f);  // not strict: the lowering itself matches
  jf(a, b);
  auto [mx, mn] = jf(a, b);
  auto [mx_eager, mn_eager] = f(a, b);
  CHECK(jf.stats().hits == 1);
  require_bits(mx, mx_eager, "maximum");
  require_bits(mn, mn_eager, "minimum");
}
