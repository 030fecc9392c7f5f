// Dynamic dims: sizes that vary between calls compile once, and every size gives the
// interpreter's answer.
#include <ejit/jit.h>

#include <atomic>
#include <random>
#include <thread>

#include "any_chain.h"
#include "op_chains.h"

using namespace ejit;
using namespace ejit::test;

namespace {

constexpr JitOptions kSync{.compile = CompileMode::Sync, .dynamic = true};

Tensor w1(const Tensor& a, const Tensor& b) { return exp(a * b) + tanh(a) * 0.5f - a / (1 + b * b); }

bool said_dynamic(const std::vector<CacheMiss>& misses) {
  for (const CacheMiss& m : misses)
    for (const std::string& d : m.differences)
      if (d.find("now dynamic") != std::string::npos) return true;
  return false;
}

/// A random chain of ops along dim 0 of an (m, n) input, the dim that varies: rows shifted
/// by slices and pads, windows of concats, flattening reshapes, differences, means and
/// softmax over the rows. Sets *per_size when it took a reversed slice (its start is m - 1,
/// so the chain compiles per size).
std::vector<Tensor> random_rows_chain(uint64_t seed, const Tensor& a, const Tensor& b, bool* per_size) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<uint64_t>(k)); };
  const int64_t m = a.shape()[0], n = a.shape()[1];
  std::vector<Tensor> pool = {a, a * b};  // every entry is (m, n)
  auto any = [&] { return pool[static_cast<size_t>(pick(static_cast<int>(pool.size())))]; };
  const int steps = 3 + pick(6);
  for (int s = 0; s < steps; ++s) {
    Tensor x = any(), y = any(), r;
    const int64_t k = 1 + pick(2);
    switch (pick(9)) {
      case 0: r = pad(slice(x, 0, k, std::nullopt), {{0, k}, {0, 0}}, 0.25) + y; break;                       // rows up
      case 1: r = slice(pad(x, {{k, 0}, {0, 0}}), 0, 0, -k) - y; break;                          // rows down
      case 2: r = slice(concat({x, tanh(y)}, 0), 0, k, k + m); break;                            // a window
      case 3: r = reshape(reshape(x, {-1}) * 2.f + 1.f, {m, n}); break;                          // flat and back
      case 4: r = concat({slice(x, 0, 0, 1), slice(y, 0, 1, std::nullopt) - slice(y, 0, 0, -1)}, 0); break;    // differences
      case 5: r = x - mean(slice(y, 0, k, std::nullopt), {0}, true); break;                                     // m - k rows
      case 6: r = sum(reshape(concat({x, y}, 1), {m, 2, n}), {1}); break;                        // split back
      case 7: r = slice(x, 0, std::nullopt, std::nullopt, -1) * y, *per_size = true; break;      // reversed
      default: r = softmax(x, 0) + sum(y, {0}, true) * 0.1f; break;                              // over rows
    }
    pool.push_back(r);
  }
  const Tensor& last = pool.back();
  return {last, sum(last, {0}), max(pool[pool.size() - 2], {1}), mean(last), sum(reshape(last, {-1}))};
}

}  // namespace

TEST_CASE("dynamic dims: sizes 100..199 in one dim compile twice and all match", "[jit][dynamic]") {
  auto f = jit(w1, "w1", kSync);
  const Tensor b = randn({64}, 2);
  for (int64_t n = 100; n < 200; ++n) {
    Tensor a = randn({n, 64}, static_cast<uint64_t>(n));
    require_agree(f(a, b), w1(a, b), 2e-6, 2e-6, "n = " + std::to_string(n));
  }
  const CacheStats s = f.stats();
  CHECK(s.misses == 2);
  CHECK(s.hits == 98);
  CHECK(s.signatures == 2);  // the first size's static code stays
  CHECK(said_dynamic(f.misses()));
  CHECK(f.misses().back().differences.back() == "arg 0 dim 0 now dynamic");
}

TEST_CASE("dynamic dims: softmax, layer norm and reductions over and across the dynamic dim", "[jit][dynamic]") {
  auto rows = [](const Tensor& x) {
    return std::vector<Tensor>{softmax(x, -1), layer_norm(x), sum(x, {0}), max(x, {1}), mean(x), sum(x * x, {1}, true)};
  };
  for (int axis = 0; axis < 2; ++axis) {
    auto f = jit(rows, "rows", kSync);
    for (int64_t n : {33, 47, 64, 100, 7, 129}) {
      const Shape s = axis == 0 ? Shape{n, 24} : Shape{24, n};
      Tensor x = randn(s, static_cast<uint64_t>(n));
      std::vector<Tensor> got = f(x), want = rows(x);
      for (size_t i = 0; i < want.size(); ++i)
        require_agree(got[i], want[i], 1e-5, 1e-6, fmt::format("axis {} n {} output {}", axis, n, i));
    }
    CHECK(f.stats().misses == 2);
  }
}

TEST_CASE("dynamic dims: size 1 and mismatched sizes stay right", "[jit][dynamic]") {
  auto f = jit([](const Tensor& a, const Tensor& b) { return a * b + 1.f; }, "ab", kSync);
  f(randn({10}, 1), randn({10}, 2));
  f(randn({12}, 3), randn({12}, 4));  // a and b: one dynamic dim, the same size
  const uint64_t misses = f.stats().misses;
  Tensor x = randn({30}, 5), y = randn({30}, 6);
  require_agree(f(x, y), x * y + 1.f, 1e-6, 1e-6, "same sizes");
  CHECK(f.stats().misses == misses);
  Tensor one = randn({1}, 7);
  require_agree(f(one, y), one * y + 1.f, 1e-6, 1e-6, "size 1 broadcasts: compiled on its own");
  CHECK(f.stats().misses == misses + 1);
  CHECK_THROWS_AS(f(randn({30}, 8), randn({31}, 9)), Error);  // as eager: shapes do not broadcast
}

TEST_CASE("dynamic dims: on by default, off per function", "[jit][dynamic]") {
  const Tensor b = randn({8}, 1);
  auto on = jit(w1, "default", JitOptions{.compile = CompileMode::Sync});
  for (int64_t n = 10; n < 15; ++n) require_agree(on(randn({n, 8}, 1), b), w1(randn({n, 8}, 1), b), 2e-6, 2e-6, "default");
  CHECK(on.stats().misses == 2);
  CHECK(said_dynamic(on.misses()));
  auto off = jit(w1, "static", JitOptions{.compile = CompileMode::Sync, .dynamic = false});
  for (int64_t n = 10; n < 15; ++n) off(randn({n, 8}, 1), b);
  CHECK(off.stats().misses == 5);
  CHECK_FALSE(said_dynamic(off.misses()));
}

namespace {
/// Whether some miss says no dynamic dims because C++ code read a size, with `what`.
bool said_size_read(const std::vector<CacheMiss>& misses, const std::string& what) {
  for (const CacheMiss& m : misses)
    for (const std::string& d : m.differences)
      if (d.find("no dynamic dims: the function's C++ code read") != std::string::npos && d.find(what) != std::string::npos)
        return true;
  return false;
}
}  // namespace

TEST_CASE("dynamic dims: by default, a size the C++ code read keeps static code per size", "[jit][dynamic]") {
  // Recorded at 8 and 10 rows, `x * 3` would serve 16 rows too: wrong. The read is seen.
  auto branchy = [](const Tensor& x) { return x.dim(0) > 12 ? x * 2.f : x * 3.f; };
  auto f = jit(branchy, "branchy", {.compile = CompileMode::Sync});
  for (int64_t n : {8, 10, 16, 11, 20}) {
    const Tensor x = randn({n, 3}, static_cast<uint64_t>(n));
    require_agree(f(x), branchy(x), 0, 0, "n = " + std::to_string(n));
  }
  CHECK(f.stats().misses == 5);
  CHECK_FALSE(said_dynamic(f.misses()));
  CHECK(said_size_read(f.misses(), "read a size that varies: dim 0 of a (8,3) value after 0 ops, then 10"));

  // shape() and numel() are reads of every dim; reads of intermediate values count too.
  auto by_shape = [](const Tensor& x) { return reshape(x * 2.f, {x.shape()[0] * 3}); };
  auto by_numel = [](const Tensor& x) { const Tensor y = exp(x); return y * static_cast<float>(y.numel()); };
  auto g = jit(by_shape, "by_shape", {.compile = CompileMode::Sync});
  auto h = jit(by_numel, "by_numel", {.compile = CompileMode::Sync});
  for (int64_t n : {4, 5, 6}) {
    const Tensor x = randn({n, 3}, static_cast<uint64_t>(n));
    require_agree(g(x), by_shape(x), 0, 0, "shape");
    require_agree(h(x), by_numel(x), 1e-6, 1e-6, "numel");
  }
  CHECK(g.stats().misses == 3);
  CHECK(h.stats().misses == 3);
  CHECK(said_size_read(g.misses(), "the shape of a (4,3) value after 0 ops, then (5,3)"));
  CHECK(said_size_read(h.misses(), "the shape of a (4,3) value after 1 ops"));

  // A value made from constants with an input's shape (the gradient of a sum: a broadcast of
  // the seed 1) is read too.
  auto by_gradient = [](const Tensor& x) {
    const Tensor g = grad([](const Tensor& v) { return sum(v); })(x);
    return g.dim(0) > 12 ? x * 2.f : x * 3.f;
  };
  auto k = jit(by_gradient, "by_gradient", {.compile = CompileMode::Sync});
  for (int64_t n : {8, 10, 16}) {
    const Tensor x = randn({n, 3}, static_cast<uint64_t>(n));
    require_agree(k(x), by_gradient(x), 0, 0, "gradient, n = " + std::to_string(n));
  }
  CHECK(k.stats().misses == 3);
  CHECK_FALSE(said_dynamic(k.misses()));

  // Asked for, dynamic dims trust the C++ code: the reshape's size follows the rows.
  auto trusted = jit(by_shape, "trusted", {.compile = CompileMode::Sync, .dynamic = true});
  for (int64_t n : {4, 5, 6, 9}) {
    const Tensor x = randn({n, 3}, static_cast<uint64_t>(n));
    require_agree(trusted(x), by_shape(x), 0, 0, "trusted");
  }
  CHECK(trusted.stats().misses == 2);
  CHECK(said_dynamic(trusted.misses()));
}

TEST_CASE("dynamic dims: by default, sizes that do not vary and the library's own reads do not count",
          "[jit][dynamic]") {
  // dim(1) is 3 in every call; softmax, mean and layer norm read the rows inside the library.
  auto fn = [](const Tensor& x) {
    const Tensor y = x * static_cast<float>(x.dim(1)) + mean(x, {0}, true);
    return softmax(y, 0) + layer_norm(y);
  };
  auto f = jit(fn, "quiet", {.compile = CompileMode::Sync});
  for (int64_t n = 10; n < 16; ++n) {
    const Tensor x = randn({n, 3}, static_cast<uint64_t>(n));
    require_agree(f(x), fn(x), 2e-6, 2e-6, "n = " + std::to_string(n));
  }
  CHECK(f.stats().misses == 2);
  CHECK(said_dynamic(f.misses()));
}

TEST_CASE("dynamic dims: JitOptions::dynamic_dims names the dims that may vary", "[jit][dynamic]") {
  // Naming dims turns dynamic dims on for this function, for those dims only.
  auto g = [](const Tensor& a, const Tensor& b) { return w1(a, b) + sum(b); };
  auto f = jit(g, "batch_only", {.compile = CompileMode::Sync, .dynamic_dims = {{0, 0}}});
  const Tensor b = randn({8}, 1);
  for (int64_t n = 10; n < 20; ++n) {  // the batch dim: the first size static, the second dynamic
    const Tensor a = randn({n, 8}, static_cast<uint64_t>(n));
    require_agree(f(a, b), g(a, b), 2e-6, 2e-6, "n = " + std::to_string(n));
  }
  CHECK(f.stats().misses == 2);
  CHECK(f.misses().back().differences.back() == "arg 0 dim 0 now dynamic");
  for (int64_t m = 9; m < 12; ++m) {  // arg 1's dim (and so arg 0's dim 1) is not named: a compile per size
    const Tensor a = randn({12, m}, 3), bm = randn({m}, 4);
    require_agree(f(a, bm), g(a, bm), 2e-6, 2e-6, "m = " + std::to_string(m));
  }
  CHECK(f.stats().misses == 5);
  const std::vector<CacheMiss> misses = f.misses();
  for (size_t i = 2; i < misses.size(); ++i)
    for (const std::string& d : misses[i].differences) CHECK(d.find("now dynamic") == std::string::npos);

  REQUIRE_THAT(error_of([&] { jit(g, "both", {.dynamic = false, .dynamic_dims = {{0, 0}}}); }),
               Catch::Contains("[jit] both: JitOptions sets dynamic_dims and dynamic = false"));
  REQUIRE_THAT(error_of([&] { jit(g, "negative", {.dynamic_dims = {{0, -1}}}); }),
               Catch::Contains("JitOptions::dynamic_dims has (arg 0, dim -1)"));
  auto wrong = jit(g, "rank", {.compile = CompileMode::Sync, .dynamic_dims = {{1, 1}}});
  REQUIRE_THAT(error_of([&] { wrong(randn({4, 8}, 1), b); }),
               Catch::Contains("names arg 1 dim 1, but the call has 2 arguments and arg 1 has shape (8,)"));
}

TEST_CASE("dynamic dims: a size constant two symbols could explain stays static", "[jit][dynamic]") {
  // (4, 8) then (8, 16): layer norm's divisor 8 -> 16 is dim 1, but also twice dim 0.
  auto f = jit([](const Tensor& x) { return layer_norm(x); }, "ln", kSync);
  for (Shape s : {Shape{4, 8}, Shape{8, 16}, Shape{5, 16}, Shape{5, 8}}) {
    Tensor x = randn(s, static_cast<uint64_t>(s[0] * 100 + s[1]));
    require_agree(f(x), layer_norm(x), 1e-5, 1e-6, fmt::format("shape {}", s));
  }
}

TEST_CASE("dynamic dims: a function that picks a captured tensor by size is not generalized", "[jit][dynamic]") {
  const Tensor small = full({}, 2.f), large = full({}, 3.f);
  auto pick = [&](const Tensor& x) { return x * (x.shape()[0] > 12 ? large : small); };
  auto f = jit(pick, "pick", kSync);
  for (int64_t n : {10, 20, 11, 21}) {
    Tensor x = randn({n}, static_cast<uint64_t>(n));
    require_agree(f(x), pick(x), 1e-6, 1e-6, "n = " + std::to_string(n));
  }
  CHECK_FALSE(said_dynamic(f.misses()));
}

TEST_CASE("dynamic dims: large outputs run on row chunks of a run-time extent", "[jit][dynamic]") {
  auto f = jit([](const Tensor& x) { return layer_norm(x) + softmax(x) * 2.f; }, "big", kSync);
  for (int64_t n : {300, 301, 517, 64}) {
    Tensor x = randn({n, 256}, static_cast<uint64_t>(n));  // 76800+ elements per output: chunked
    require_agree(f(x), layer_norm(x) + softmax(x) * 2.f, 1e-5, 1e-5, "n = " + std::to_string(n));
  }
  CHECK(f.stats().misses == 2);
}

TEST_CASE("dynamic dims: random op chains at three sizes of a dim equal the interpreter", "[jit][dynamic][random]") {
  int dynamic = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const int axis = static_cast<int>(seed % 2);
    auto chain = [seed](const Tensor& a, const Tensor& b) { return random_chain(seed, a, b); };
    auto f = jit(chain, "chain", kSync);
    for (int64_t n : {20, 37, 64}) {
      const Shape s = axis == 0 ? Shape{n, 9} : Shape{6, n};
      Tensor a = randn(s, seed * 7 + static_cast<uint64_t>(n)), b = randn(s, seed * 11 + static_cast<uint64_t>(n));
      require_agree(f(a, b), chain(a, b), 1e-5, 1e-5, fmt::format("seed {} axis {} n {}", seed, axis, n));
    }
    if (said_dynamic(f.misses())) {
      ++dynamic;
      CHECK(f.stats().misses == 2);
    }
  }
  INFO("chains compiled with a dynamic dim: " << dynamic << " of 40");
  CHECK(dynamic >= 12);  // the others flatten a dynamic dim (reshape to n * 9): not a symbol
}

TEST_CASE("dynamic dims: in the background, many sizes at once still compile twice", "[jit][dynamic][background]") {
  auto f = jit(w1, "w1_bg", JitOptions{.compile = CompileMode::Background, .dynamic = true});
  const Tensor b = randn({32}, 2);
  for (int round = 0; round < 3; ++round) {
    for (int64_t n = 50; n < 80; ++n) {
      Tensor a = randn({n, 32}, static_cast<uint64_t>(n));
      require_agree(f(a, b), w1(a, b), 2e-6, 2e-6, "n = " + std::to_string(n));  // eager or compiled: right
    }
    wait_for_compiles();
  }
  const CacheStats s = f.stats();
  CHECK(s.misses == 2);
  CHECK(s.eager_while_compiling > 0);
  CHECK(s.hits >= 30);
}

TEST_CASE("dynamic dims: with variables, captured tensors and host reads, every size is right", "[jit][dynamic]") {
  Variable total(zeros({8}), "total");
  const Tensor scale = randn({8}, 3);
  auto f = jit([&](const Tensor& x) {
    total.assign(total.value() + sum(x, {0}));
    return x * scale - mean(x, {0}, true);
  }, "vars", kSync);
  Tensor want_total = zeros({8});
  for (int64_t n : {5, 9, 17, 33, 2}) {
    Tensor x = randn({n, 8}, static_cast<uint64_t>(n));
    want_total = want_total + sum(x, {0});
    require_agree(f(x), x * scale - mean(x, {0}, true), 1e-5, 1e-6, "n = " + std::to_string(n));
    require_agree(total.value(), want_total, 1e-5, 1e-5, "total after n = " + std::to_string(n));
  }
  CHECK(f.stats().misses == 2);
  CHECK(said_dynamic(f.misses()));

  auto g = jit([](const Tensor& x) { return (sum(x) > 0.f).item<bool>() ? x * 2.f : x - 1.f; }, "guarded", kSync);
  for (int64_t n : {4, 6, 8, 6, 4}) {
    Tensor x = randn({n}, static_cast<uint64_t>(n));
    require_agree(g(x), sum(x).item<float>() > 0 ? x * 2.f : x - 1.f, 1e-6, 1e-6, "guarded n = " + std::to_string(n));
  }
  CHECK(g.stats().hits >= 2);  // a trace tree per size (host reads are not generalized)
}

TEST_CASE("dynamic dims: a two-layer network (matmuls on the BLAS between kernels) for any batch", "[jit][dynamic]") {
  const Tensor w1m = randn({64, 32}, 1) * 0.1f, b1 = randn({32}, 2), w2m = randn({32, 10}, 3) * 0.1f;
  auto net = [&](const Tensor& x) { return softmax(matmul(relu(matmul(x, w1m) + b1), w2m), -1) * 2.f + mean(x); };
  auto f = jit(net, "net", kSync);
  for (int64_t n : {16, 24, 100, 7, 256, 2}) {
    Tensor x = randn({n, 64}, static_cast<uint64_t>(n));
    require_agree(f(x), net(x), 1e-5, 1e-6, "batch " + std::to_string(n));
  }
  CHECK(f.stats().misses == 2);
  CHECK(said_dynamic(f.misses()));
}
TEST_CASE("dynamic dims: a training step with a tape for any batch size equals eager training", "[jit][dynamic]") {
  auto make = [](const std::string& name) {
    return std::pair{Variable(randn({16, 4}, 1) * 0.1f, name + "w"), Variable(zeros({4}), name + "b")};
  };
  auto [w, b] = make("jit");
  auto [we, be] = make("eager");
  auto body = [](Variable& w, Variable& b, const Tensor& x, const Tensor& labels) {
    GradientTape tape;
    Tensor loss = cross_entropy(matmul(x, w) + b, labels);
    auto g = tape.gradient(loss, std::vector<Variable>{w, b});
    w.assign_sub(g[0] * 0.1f);
    b.assign_sub(g[1] * 0.1f);
    return loss;
  };
  auto step = jit([&](const Tensor& x, const Tensor& labels) { return body(w, b, x, labels); }, "step", kSync);
  for (int64_t n : {8, 12, 20, 8, 33, 5}) {
    Tensor x = randn({n, 16}, static_cast<uint64_t>(n)), labels = cast(round(rand({n}, 7) * 3.f), DType::I64);
    require_agree(step(x, labels), body(we, be, x, labels), 1e-5, 1e-6, "loss, batch " + std::to_string(n));
    require_agree(w.value(), we.value(), 1e-5, 1e-6, "w after batch " + std::to_string(n));
    require_agree(b.value(), be.value(), 1e-5, 1e-6, "b after batch " + std::to_string(n));
  }
  CHECK(step.stats().misses == 2);
  CHECK(said_dynamic(step.misses()));
  // cross_entropy's gather of the labels compiles over the dynamic batch (the class dim it
  // indexes is static), and its labels are checked per call.
  CHECK_THAT(step.ir(Stage::Linalg), Catch::Contains("the interpreter runs: matmul runs on the BLAS\n"));
  const std::string e = error_of([&] { step(randn({7, 16}, 1), from_vector<int64_t>({0, 1, 2, 3, 4, 1, 0}, {7})); });
  CHECK_THAT(e, Catch::Contains("[gather] index 4 is out of range for dim 1 of size 4 (shape (7,4))"));
}

TEST_CASE("dynamic dims: structured chains (slices, concat, pad) at three sizes stay right", "[jit][dynamic][random]") {
  // Slices whose start follows the size (x[m - m/2:], reversed rows) do not generalize:
  // those chains compile per size. Whatever happens, every size must match.
  for (uint64_t seed = 0; seed < 12; ++seed) {
    auto chain = [seed](const Tensor& a, const Tensor& b) { return random_structured_chain(seed, a, b); };
    auto f = jit(chain, "structured", kSync);
    for (int64_t m : {6, 9, 14}) {
      Tensor a = randn({m, 10}, seed * 5 + static_cast<uint64_t>(m)), b = randn({10}, seed);
      std::vector<Tensor> got = f(a, b), want = chain(a, b);
      for (size_t i = 0; i < want.size(); ++i)
        require_agree(got[i], want[i], 1e-5, 1e-5, fmt::format("seed {} m {} output {}", seed, m, i));
    }
  }
}

TEST_CASE("dynamic dims: slices, pads, concats and reshapes along the dim that varies", "[jit][dynamic]") {
  auto rows = [](const Tensor& x) {
    Tensor d = slice(x, 0, 1, std::nullopt) - slice(x, 0, 0, -1);              // n - 1 rows
    Tensor c = concat({pad(d, {{1, 0}, {0, 0}}), x * 0.5f}, 0);  // 2n rows
    return std::vector<Tensor>{d, reshape(c, {-1}), mean(slice(x, 0, 1, -1), {0}), sum(reshape(c, {-1, 2}), {1})};
  };
  auto f = jit(rows, "rows", kSync);
  for (int64_t n : {12, 19, 40, 3, 77}) {
    Tensor x = randn({n, 10}, static_cast<uint64_t>(n));
    std::vector<Tensor> got = f(x), want = rows(x);
    for (size_t i = 0; i < want.size(); ++i) require_agree(got[i], want[i], 1e-6, 1e-6, fmt::format("n {} output {}", n, i));
  }
  CHECK(f.stats().misses == 2);
  CHECK(said_dynamic(f.misses()));
  // x[1:-1] has n - 2 rows: n = 2 is below the least size the dynamic code serves.
  Tensor x = randn({2, 10}, 2);
  std::vector<Tensor> got = f(x), want = rows(x);
  for (size_t i = 0; i < want.size(); ++i) require_agree(got[i], want[i], 1e-6, 1e-6, fmt::format("n 2 output {}", i));
  CHECK(f.stats().misses == 3);
}

TEST_CASE("dynamic dims: random chains along the dim that varies equal the interpreter", "[jit][dynamic][random]") {
  int generalized = 0;
  for (uint64_t seed = 0; seed < 24; ++seed) {
    bool per_size = false;
    auto chain = [seed, &per_size](const Tensor& a, const Tensor& b) { return random_rows_chain(seed, a, b, &per_size); };
    auto f = jit(chain, "rows", kSync);
    for (int64_t m : {6, 9, 14, 23, 3}) {
      Tensor a = randn({m, 10}, seed * 7 + static_cast<uint64_t>(m)), b = randn({10}, seed);
      std::vector<Tensor> got = f(a, b), want = chain(a, b);
      for (size_t i = 0; i < want.size(); ++i)
        require_agree(got[i], want[i], 1e-5, 1e-5, fmt::format("seed {} m {} output {}", seed, m, i));
      if (m == 23 && !per_size) {
        INFO("seed " << seed);
        CHECK(f.stats().misses == 2);  // 14 and 23 ran the dynamic code
        generalized += f.stats().misses == 2;
      }
    }
  }
  CHECK(generalized >= 8);  // the other seeds took a reversed slice
}

TEST_CASE("dynamic dims: slices, pads and concats along a dim that does not vary", "[jit][dynamic]") {
  auto cols = [](const Tensor& x) {
    Tensor left = slice(x, 1, 0, 5), right = pad(slice(x, 1, 5, 10, 2), {{0, 0}, {1, 0}}, -1.0);
    return concat({left * 2.f, right, slice(x, 1, 9, std::nullopt, -3)}, 1) + sum(x, {1}, true);
  };
  auto f = jit(cols, "cols", kSync);
  for (int64_t n : {12, 19, 40, 3}) {
    Tensor x = randn({n, 10}, static_cast<uint64_t>(n));
    require_agree(f(x), cols(x), 1e-6, 1e-6, "n = " + std::to_string(n));
  }
  CHECK(f.stats().misses == 2);
  CHECK(said_dynamic(f.misses()));
}

TEST_CASE("dynamic dims: an interpreter step's 0-d result broadcast to a dynamic size", "[jit][dynamic]") {
  // argmax runs on the interpreter; its result is broadcast back to the dynamic size, which
  // the compiled kernel reads from another of its inputs (x).
  auto fn = [](const Tensor& x) {
    Tensor top = cast(argmax(reshape(x, {-1, 4}).slice(1, 0, 1).reshape({-1}), 0), DType::F32);
    return std::vector<Tensor>{x + 1.f, tanh(broadcast_to(top, x.shape()) * 2.f + 1.f) - 0.5f};
  };
  auto f = jit(fn, "argmax_broadcast", kSync);
  for (int64_t n : {6, 9, 15}) {
    Tensor x = randn({n, 4}, static_cast<uint64_t>(n));
    std::vector<Tensor> got = f(x), want = fn(x);
    for (size_t i = 0; i < want.size(); ++i)
      require_agree(got[i], want[i], 1e-6, 1e-6, fmt::format("n {} output {}", n, i));
  }
  CHECK(f.stats().misses == 2);
  CHECK(said_dynamic(f.misses()));
}

TEST_CASE("dynamic dims and guards: threads calling at once, in the background, stay right", "[jit][dynamic][guards][threads]") {
  auto fn = [](const Tensor& x) { return (sum(x) > 0.f).item<bool>() ? softmax(x) * 2.f : layer_norm(x) - 1.f; };
  auto f = jit(fn, "threads", JitOptions{.compile = CompileMode::Background, .dynamic = true});
  std::atomic<int> wrong{0};
  for (int round = 0; round < 3; ++round) {  // compiles start in the first, later rounds hit them
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        const int64_t n = 8 + (t * 7 + i * 3) % 23;
        Tensor x = randn({n, 16}, static_cast<uint64_t>(t * 1000 + i)) + (i % 2 ? 0.5f : -0.5f);
        const Tensor got = f(x), want = fn(x);
        auto a = got.to_vector<float>(), b = want.to_vector<float>();
        for (size_t k = 0; k < a.size(); ++k)
          if (std::fabs(a[k] - b[k]) > 1e-4f * (1.f + std::fabs(b[k]))) {
            ++wrong;
            break;
          }
      }
    });
  for (std::thread& th : threads) th.join();
  wait_for_compiles();
  }
  CHECK(wrong == 0);
  const CacheStats s = f.stats();
  CHECK(s.hits + s.misses + s.eager_calls == 480);
  CHECK(s.hits > 0);
}


TEST_CASE("dynamic dims: random chains over every op kind at four row counts equal the interpreter", "[jit][dynamic][random][any]") {
  // any_chain.h's chains with the rows free to vary: every op kind, dtype and axis, the
  // rows of a (and of b, when it has rows) dynamic after the second size. Whatever jit()
  // makes of a chain (dynamic code, or static code per size where a size constant is
  // ambiguous), every size must give the interpreter's answer.
  static constexpr DType kAll[] = {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64};
  constexpr int64_t kRows[] = {5, 9, 14, 22};
  constexpr int64_t kMaxRows = 22;
  constexpr uint64_t kChains = 150;
  int generalized = 0;
  for (uint64_t seed = 20000; seed < 20000 + kChains; ++seed) {
    std::mt19937_64 rng(seed);
    int64_t n = 0;
    do n = 1 + static_cast<int64_t>(rng() % 13); while (n == 5 || n == 9);  // never a row count
    const DType da = kAll[rng() % 5], db = kAll[rng() % 5];
    const uint64_t b_kind = rng() % 5;  // b: (n), (m, 1), (1, n), (), (m, n)
    auto f = jit([seed](const Tensor& x, const Tensor& y) { return random_any_chain_any_rows(seed, x, y, kMaxRows); }, "rows",
                 kSync);
    for (int64_t m : kRows) {
      const Shape sb = b_kind == 0 ? Shape{n} : b_kind == 1 ? Shape{m, 1} : b_kind == 2 ? Shape{1, n} : b_kind == 3 ? Shape{} : Shape{m, n};
      const Tensor a = bounded_input(da, {m, n}, seed * 31 + static_cast<uint64_t>(m));
      const Tensor b = bounded_input(db, sb, seed * 37 + static_cast<uint64_t>(m));
      std::vector<ChainOutput> info;
      const std::vector<Tensor> want = random_any_chain_any_rows(seed, a, b, kMaxRows, &info);
      const std::vector<Tensor> got = f(a, b);
      INFO("seed " << seed << ": a " << a.shape().str() << " " << name(da) << ", b " << sb.str() << " " << name(db) << "\n"
                   << f.ir(Stage::Ejit));
      REQUIRE(got.size() == want.size());
      for (size_t i = 0; i < got.size(); ++i)
        require_chain_output(got[i], want[i], info[i], false, fmt::format("rows {}, output {}", m, i));
    }
    // Dynamic code from the second size on: 14 and 22 rows ran it.
    generalized += said_dynamic(f.misses()) && f.stats().misses == 2 && f.stats().hits == 2;
  }
  INFO("chains whose rows became dynamic: " << generalized << " of " << kChains);
  CHECK(generalized >= static_cast<int>(kChains) / 3);
}
