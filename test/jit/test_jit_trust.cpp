// Compiled results that once were wrong, and compile failures that once escaped jit():
// each case is checked against the interpreter.
#include <ejit/jit.h>

#include <cmath>
#include <limits>
#include <random>

#include "../../lib/trace/dynamic_dims.h"
#include "op_chains.h"

using namespace ejit;
using namespace ejit::test;

namespace {

/// Calls f twice (record + compile, then the compiled code) and checks every output against
/// the eager run; requires that the second call ran compiled code.
template <class F, class... A> void require_compiled_matches(F& f, const std::vector<Tensor>& eager, const A&... args) {
  f(args...);
  std::vector<Tensor> got = detail::to_outputs(f(args...));
  INFO("hits " << f.stats().hits << ", eager calls " << f.stats().eager_calls);
  REQUIRE(f.stats().hits == 1);
  REQUIRE(got.size() == eager.size());
  for (size_t i = 0; i < got.size(); ++i) require_agree(got[i], eager[i], 2e-6, 2e-6, "output " + std::to_string(i));
}

}  // namespace

TEST_CASE("several reductions of one type in one function keep their own results", "[jit][trust]") {
  Tensor x = arange(0, 6, 1, DType::F32) + 1.f;             // sum 21
  Tensor y = (arange(0, 6, 1, DType::F32) + 1.f) * 10.f;    // sum 210
  Tensor m = randn({5, 7}, 3);
  SECTION("sum(x), sum(y)") {
    auto f = jit([](const Tensor& a, const Tensor& b) { return std::vector<Tensor>{sum(a), sum(b)}; });
    require_compiled_matches(f, {sum(x), sum(y)}, x, y);
  }
  SECTION("sum(x), sum(x * 2), max(x), min(x)") {
    auto fn = [](const Tensor& a) { return std::vector<Tensor>{sum(a), sum(a * 2.f), max(a), min(a), mean(a)}; };
    auto f = jit(fn);
    require_compiled_matches(f, fn(x), x);
  }
  SECTION("row and column sums, and products") {
    auto fn = [](const Tensor& a) {
      return std::vector<Tensor>{sum(a, {0}), sum(a, {1}), sum(a * a, {1}), prod(a, {1}), max(a, {0}), max(a, {1})};
    };
    auto f = jit(fn);
    require_compiled_matches(f, fn(m), m);
  }
  SECTION("a loss and a rank-0 gradient from value_and_grad") {
    Tensor w = full({}, 0.5f), data = randn({16}, 9);
    auto loss = [](const Tensor& wt, const Tensor& d) { return sum(square(d * wt - 1.f)); };
    auto step = [&](const Tensor& wt, const Tensor& d) {
      auto [value, g] = value_and_grad(loss)(wt, d);
      return std::vector<Tensor>{value, g};
    };
    auto f = jit(step);
    require_compiled_matches(f, step(w, data), w, data);
  }
}

TEST_CASE("two concats with an equal first part keep their own results", "[jit][trust]") {
  // CSE merged the two concats' first insert (p into an empty tensor), and bufferization
  // built y in x's output buffer, which x's own copy then overwrote: y came out with x's
  // second part (found by the dynamic-dims random chains, static code as wrong).
  auto fn = [](const Tensor& a, const Tensor& b) {
    Tensor p = slice(broadcast_to(b, a.shape()), 1, 0, std::nullopt, 2);
    Tensor x = concat({p, slice(a, 1, 1, std::nullopt, 2)}, 1);
    Tensor y = concat({p, slice(x, 1, 1, std::nullopt, 2)}, 1);
    return std::vector<Tensor>{x, y, concat({slice(x, 1, 0, std::nullopt, 2), slice(y, 1, 1, std::nullopt, 2)}, 1)};
  };
  for (DType dt : {DType::I64, DType::F32}) {
    Tensor a = cast(randn({9, 11}, 1) * 4.f, dt), b = cast(randn({11}, 2) * 4.f, dt);
    auto f = jit(fn);
    require_compiled_matches(f, fn(a, b), a, b);
  }
  SECTION("pads of one tensor, each grown further") {
    auto g = [](const Tensor& a) {
      Tensor p = pad(a, {{0, 0}, {1, 0}}, 0.5);
      return std::vector<Tensor>{concat({p, a}, 1), concat({p, exp(a)}, 1) * 2.f};
    };
    Tensor a = randn({6, 5}, 3);
    auto f = jit(g);
    require_compiled_matches(f, g(a), a);
  }
}

TEST_CASE("strided copies compile: pads, inner-axis slices, concat and stack on inner axes", "[jit][trust]") {
  Tensor x = randn({4, 6}, 5);
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> cases = {
      {"pad inner", [](const Tensor& a) { return pad(a, {{0, 0}, {1, 1}}) * 2.f; }},
      {"pad both", [](const Tensor& a) { return pad(exp(a), {{2, 1}, {0, 3}}, 1.5) + 1.f; }},
      {"slice step 2", [](const Tensor& a) { return slice(a, 1, 0, 3, 2) + 1.f; }},
      {"slice inner", [](const Tensor& a) { return slice(a, 1, 1, 3) * a.slice(1, 2, 4); }},
      {"slice reversed", [](const Tensor& a) { return slice(a, 1, std::nullopt, std::nullopt, -2) - 1.f; }},
      {"concat inner", [](const Tensor& a) { return concat({a, a * 2.f}, 1) + 1.f; }},
      {"stack inner", [](const Tensor& a) { return stack({a, tanh(a)}, 1) * 3.f; }},
      {"stack last", [](const Tensor& a) { return stack({a, a + 1.f}, 2) * 3.f; }},
  };
  for (const auto& [what, fn] : cases) {
    INFO(what);
    auto f = jit(fn);
    require_compiled_matches(f, {fn(x)}, x);
  }
}

TEST_CASE("a compile failure leaves the signature eager with its reason, never an exception", "[jit][trust]") {
  // EJIT_OPT_LEVEL is read per compile; an invalid pipeline stage is simulated by an op
  // chain the compiler refuses (a dump of a stage that cannot be made is not needed).
  auto f = jit([](const Tensor& a) { return matmul(a, transpose(a)); });  // one op, on the BLAS
  Tensor x = randn({5, 3}, 1);
  Tensor got = f(x);
  REQUIRE_NOTHROW(f(x));
  require_agree(f(x), matmul(x, transpose(x)), 0, 0, "matmul");
  Comparison c = f.compare(1, x);
  REQUIRE_FALSE(c.compiled);
  REQUIRE(c.reason.find("matmul") != std::string::npos);
}

TEST_CASE("compiled f32 sin and cos stay accurate for large arguments", "[jit][trust]") {
  std::vector<float> v;
  for (float a : {33.f, 100.f, 1000.f, 1e4f, 12345.678f, 1e5f, 3e5f, 1e6f, 8191.9f, 8192.1f, 65536.f, 1e7f, 1e10f,
                  1e14f, 1e15f, 1e-30f, 1e-40f, std::numeric_limits<float>::denorm_min(), 0.f})
    for (float s : {1.f, -1.f}) v.push_back(a * s);
  for (int i = 0; i < 2000; ++i) v.push_back(std::ldexp(static_cast<float>(i % 97) + 0.37f * i, i % 17));
  // Every exponent up to 2^49 (compiled sin/cos are exact up to 2^50: docs/DESIGN-NOTES.md).
  for (int i = 0; i < 2000; ++i) v.push_back(std::ldexp(1.f + static_cast<float>(i) / 2000.f, (i * 7) % 176 - 126));
  Tensor x = from_vector(v, {static_cast<int64_t>(v.size())});
  auto fs = jit([](const Tensor& a) { return sin(a) * 1.f; });
  auto fc = jit([](const Tensor& a) { return cos(a) * 1.f; });
  fs(x), fc(x);
  auto s = fs(x).to_vector<float>(), c = fc(x).to_vector<float>();
  REQUIRE(fs.stats().hits == 1);
  for (size_t i = 0; i < v.size(); ++i) {
    INFO("x = " << v[i]);
    // Against the double-precision result: within 2 ulp of f32 (plus a floor near zero).
    REQUIRE(std::fabs(s[i] - std::sin(static_cast<double>(v[i]))) <= 2.5e-7 * std::fabs(std::sin(double(v[i]))) + 1.2e-7);
    REQUIRE(std::fabs(c[i] - std::cos(static_cast<double>(v[i]))) <= 2.5e-7 * std::fabs(std::cos(double(v[i]))) + 1.2e-7);
  }
  // inf and NaN give NaN.
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  Tensor special = from_vector(std::vector<float>{inf, -inf, nan}, {3});
  fs(special), fc(special);
  for (float r : fs(special).to_vector<float>()) CHECK(std::isnan(r));
  for (float r : fc(special).to_vector<float>()) CHECK(std::isnan(r));
}

TEST_CASE("a raw data read inside a jitted function is a guard: never baked in for other data", "[jit][trust]") {
  auto f = jit([](const Tensor& a) {
    const float first = a.data<float>()[0];  // a host value the C++ code uses
    return a * first;
  });
  Tensor x1 = from_vector(std::vector<float>{2, 3}, {2}), x2 = from_vector(std::vector<float>{5, 7}, {2});
  check_values(f(x1), {4, 6});
  check_values(f(x2), {25, 35});  // the second call must read its own first element
  check_values(f(x1), {4, 6});    // compiled, for the contents read
  check_values(f(x2), {25, 35});
  CHECK(f.stats().hits == 2);
  Comparison c = f.compare(1, x2);
  REQUIRE(c.compiled);
  REQUIRE(c.max_abs_error == 0);
}

TEST_CASE("slices with clamped bounds compile and match", "[jit][trust]") {
  Tensor x = randn({5, 5}, 8);
  auto fn = [](const Tensor& a) {
    return std::vector<Tensor>{slice(a, 1, -10, 10, 2) * 2.f, slice(a, 0, 7, -9, -2) + 1.f, slice(a, 1, 9, 12) + 0.f};
  };
  auto f = jit(fn);
  f(x);
  auto got = f(x);
  REQUIRE(got[0].shape() == Shape{5, 3});
  REQUIRE(got[1].shape() == Shape{3, 5});
  REQUIRE(got[2].shape() == Shape{5, 0});
  auto eager = fn(x);
  for (size_t i = 0; i < got.size(); ++i) require_agree(got[i], eager[i], 0, 0, "slice " + std::to_string(i));
}

TEST_CASE("200 random structural chains with several outputs: compiled equals interpreted", "[jit][trust][random]") {
  std::mt19937_64 rng(77);
  int compiled = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    const int64_t m = 2 + static_cast<int64_t>(rng() % 20), n = 2 + static_cast<int64_t>(rng() % 20);
    const Shape other[] = {{n}, {m, 1}, {1, n}, {}, {m, n}};
    Tensor a = randn({m, n}, seed), b = randn(other[rng() % 5], seed + 7);
    auto fn = [seed](const Tensor& x, const Tensor& y) { return random_structured_chain(seed, x, y); };
    auto f = jit(fn);
    std::vector<Tensor> eager = fn(a, b);
    f(a, b);
    std::vector<Tensor> got = f(a, b);
    compiled += f.stats().hits == 1;
    INFO("seed " << seed << " shapes " << a.shape().str() << " " << b.shape().str());
    REQUIRE(got.size() == eager.size());
    for (size_t i = 0; i < got.size(); ++i) require_agree(got[i], eager[i], 2e-5, 2e-5, "output " + std::to_string(i));
  }
  REQUIRE(compiled == 200);
}

TEST_CASE("compiled gradients of random structural chains equal the interpreter's", "[jit][trust][random][autodiff]") {
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const int64_t m = 2 + static_cast<int64_t>(seed % 7), n = 3 + static_cast<int64_t>(seed % 5);
    Tensor a = randn({m, n}, seed), b = randn({n}, seed + 3);
    auto loss = [seed](const Tensor& x, const Tensor& y) {
      std::vector<Tensor> outs = random_structured_chain(seed, x, y);
      Tensor total = sum(outs[0] * outs[0]);
      for (size_t i = 1; i < outs.size(); ++i) total = total + sum(outs[i]) * static_cast<float>(i);
      return total;
    };
    auto step = [&](const Tensor& x, const Tensor& y) {
      auto [value, grads] = value_and_grad(loss, {0, 1})(x, y);
      return std::vector<Tensor>{value, grads[0], grads[1]};
    };
    auto f = jit(step);
    std::vector<Tensor> eager = step(a, b);
    f(a, b);
    std::vector<Tensor> got = f(a, b);
    INFO("seed " << seed);
    REQUIRE(f.stats().hits == 1);
    for (size_t i = 0; i < got.size(); ++i) require_agree(got[i], eager[i], 1e-4, 1e-4, "output " + std::to_string(i));
  }
}

TEST_CASE("a chain whose every step reads the previous value twice compiles, and matches", "[jit][trust]") {
  // Fusing a producer into each of its consumers clones it; fused all at once, clones were
  // fused into clones, and 10 such steps never finished compiling (8 took 15 s).
  auto step = [](const Tensor& x) {
    Tensor y = x;
    for (int i = 0; i < 10; ++i) y = tanh(y * 1.5f + 0.25f) - sin(y) * 0.5f;
    return y;
  };
  auto f = jit(step);
  Tensor x = randn({64, 300}, 12);
  f(x);
  const Tensor got = f(x);
  REQUIRE(f.stats().hits == 1);
  require_close(got, step(x), 1e-4);
  CHECK(f.ir(Stage::Fused).find("linalg.generic") != std::string::npos);
}

TEST_CASE("a graph whose values meet again and again (v[k] = v[k-1] + v[k-2]) compiles, and matches", "[jit][trust]") {
  // Each round of elementwise fusion fuses one more level of such a graph; past the greedy
  // driver's iterations it stopped converging, and the whole compile failed ("fusion
  // failed": the function stayed eager).
  auto paths = [](const Tensor& t, const Tensor& ids) {
    Tensor a = exp(t), b = sin(t);
    for (int k = 0; k < 23; ++k) {
      Tensor c = a + b;
      a = b, b = c;
    }
    return std::vector<Tensor>{take(b, ids, 0)};
  };
  auto f = jit(paths);
  const Tensor t = randn({500, 8}, 13), ids = from_vector<int64_t>({3, 499, -1, 0}, {4});
  f(t, ids);
  const std::vector<Tensor> got = f(t, ids), want = paths(t, ids);
  REQUIRE(f.stats().hits == 1);
  for (size_t i = 0; i < got.size(); ++i) require_close(got[i], want[i], 1e-4);
}

TEST_CASE("a compiled trace whose interpreter step gives another type than the trace declares fails the call",
          "[jit][trust][errors]") {
  // A trace from a file (a cache entry, an exported library) is untrusted: the kernels after
  // a BLAS step were compiled for the type the trace declares, so a step that gives another
  // must stop the call before a kernel reads past its buffer.
  const Tensor a = ones({2, 3}), b = ones({3, 4});
  Trace t = record_trace([](const std::vector<Tensor>& in) { return std::vector<Tensor>{exp(matmul(in[0], in[1]) * 2.f) + 1.f}; },
                         {a, b});
  for (TraceNode& n : t.nodes)
    if (n.kind == NodeKind::MatMul) t.values[n.output].shape = Shape{2, 5};
  for (TraceNode& n : t.nodes)
    if (n.kind != NodeKind::MatMul && n.kind != NodeKind::Constant) t.values[n.output].shape = Shape{2, 5};
  t.values[t.outputs[0]].shape = Shape{2, 5};
  const Compiled c = compile(t);
  REQUIRE(c.ok());
  REQUIRE(error_of([&] { c.run({a, b}); }) == "[jit] 'matmul' (value 2) gave (2,4) f32, the trace says (2,5) f32");

  // With dynamic dims: the matmul's rows vary, and its forged column count keeps the rank
  // (the check once compared ranks only there, and the kernel after it read past the buffer).
  auto fn = [](const std::vector<Tensor>& in) { return std::vector<Tensor>{exp(matmul(in[0], in[1]) * 2.f) + 1.f}; };
  std::string why;
  std::optional<Trace> dyn = ejit::detail::generalize(record_trace(fn, {ones({5, 3}), b}), record_trace(fn, {ones({7, 3}), b}), why);
  REQUIRE(dyn);
  const Compiled any_rows = compile(*dyn);  // compile() and run() take a trace with dynamic dims too
  REQUIRE(any_rows.ok());
  require_agree(any_rows.run({ones({6, 3}), b}).at(0), fn({ones({6, 3}), b}).at(0), 1e-6, 1e-6, "6 rows");
  CHECK_THAT(error_of([&] { any_rows.run({ones({6, 2}), b}); }), Catch::Contains("[compile] "));
  for (const TraceNode& n : dyn->nodes)
    if (n.kind != NodeKind::Constant) dyn->values[n.output].shape[1] = 5;
  const Compiled d = compile(*dyn);
  REQUIRE(d.ok());
  const std::string e = error_of([&] { d.run({ones({6, 3}), b}); });
  INFO(e);
  REQUIRE(e.find("[jit] 'matmul'") == 0);
  REQUIRE(e.find("gave (6,4) f32, the trace says (6,5) f32") != std::string::npos);

  // A dynamic dim that no input has: no call can give its size (a BLAS step's result here,
  // beside a kernel that compiles).
  Trace unsourced = record_trace(
      [](const std::vector<Tensor>& in) { return std::vector<Tensor>{exp(in[0] * 2.f) + 1.f, matmul(in[0], in[1])}; },
      {ones({2, 3}), b});
  for (const TraceNode& n : unsourced.nodes)
    if (n.kind == NodeKind::MatMul) unsourced.values[n.output].shape[0] = ejit::detail::encode_dim(ejit::detail::DimExpr{0});
  const Compiled u = compile(unsourced);
  INFO(u.error());
  REQUIRE(u.ok());
  CHECK(error_of([&] { u.run({ones({2, 3}), b}); }) ==
        "[compile] a dynamic dim that none of the trace's inputs has: no call gives its size");
}
