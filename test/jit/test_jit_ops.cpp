// The interpreter as the oracle for compiled code: every op of the table, and 1000 random
// op chains (broadcasts, reductions, reshapes, casts, where, softmax), compiled vs eager.
#include <ejit/compile.h>
#include <ejit/jit.h>

#include <cmath>
#include <functional>
#include <limits>

#include <fmt/format.h>

#include "op_chains.h"

using namespace ejit;
using namespace ejit::test;


TEST_CASE("every unary op of the table compiles and matches the interpreter", "[jit][ops]") {
  for (int i = 0; i < kNumUnaryOps; ++i) {
    auto op = static_cast<UnaryOp>(i);
    for (DType dt : kDTypes) {
      if (kind(op) == UnaryKind::Numeric && dt == DType::Bool) continue;
      std::string what = std::string(name(op)) + " on " + std::string(name(dt));
      auto f = jit([op](const Tensor& x) { return unary(op, x); });
      Tensor x = inputs_for(dt, {7, 9}, 11 + i);
      f(x);
      Tensor got = f(x);
      INFO(what);
      REQUIRE(f.stats().hits == 1);
      require_agree(got, unary(op, x), 2e-6, 2e-6, what);
    }
  }
}

TEST_CASE("every binary op of the table compiles with broadcasting and matches", "[jit][ops]") {
  const std::pair<Shape, Shape> shapes[] = {{{6, 5}, {6, 5}}, {{6, 1}, {1, 5}}, {{5}, {3, 5}}, {{}, {4}}};
  for (int i = 0; i < kNumBinaryOps; ++i) {
    auto op = static_cast<BinaryOp>(i);
    for (DType dt : kDTypes) {
      if (kind(op) == BinaryKind::ArithNoBool && dt == DType::Bool) continue;
      for (const auto& [sa, sb] : shapes) {
        std::string what = std::string(name(op)) + " on " + std::string(name(dt)) + " " + sa.str() + " " + sb.str();
        auto f = jit([op](const Tensor& a, const Tensor& b) { return binary(op, a, b); });
        Tensor a = inputs_for(dt, sa, 3 + i), b = inputs_for(dt, sb, 5 + i);
        Tensor eager = binary(op, a, b);
        f(a, b);
        Tensor got = f(a, b);
        INFO(what << " (compiled: " << (f.stats().hits == 1) << ")");
        REQUIRE(f.stats().hits == 1);
        require_agree(got, eager, 1e-6, 1e-6, what);
      }
    }
  }
}


TEST_CASE("1000 random op chains: compiled equals interpreted", "[jit][random]") {
  std::mt19937_64 rng(2024);
  int compiled = 0;
  for (uint64_t seed = 0; seed < 1000; ++seed) {
    const int64_t m = 1 + static_cast<int64_t>(rng() % 24), n = 1 + static_cast<int64_t>(rng() % 24);
    const Shape other[] = {{n}, {m, 1}, {1, n}, {}, {m, n}};
    Tensor a = randn({m, n}, seed), b = randn(other[rng() % 5], seed + 7);
    auto f = jit([seed](const Tensor& x, const Tensor& y) { return random_chain(seed, x, y); });
    Tensor eager = random_chain(seed, a, b);
    f(a, b);
    Tensor got = f(a, b);
    compiled += f.stats().hits == 1;
    INFO("seed " << seed << "\n" << f.ir(Stage::Ejit));
    require_agree(got, eager, 2e-4, 2e-5, "random chain");
  }
  REQUIRE(compiled == 1000);  // every chain above has a lowering
}

TEST_CASE("slices with negative steps compile and match", "[jit][ops]") {
  Tensor x = randn({7, 9}, 3);
  auto f = jit([](const Tensor& a) {
    return exp(a.slice(0, std::nullopt, std::nullopt, -1)) + a.slice(1, 8, 0, -2).sum({1}, true);
  });
  f(x);
  Tensor got = f(x);
  REQUIRE(f.stats().hits == 1);
  REQUIRE(f.ir(Stage::Linalg).find("ejit.slice") == std::string::npos);  // lowered, not left to the interpreter
  require_agree(got, exp(x.slice(0, std::nullopt, std::nullopt, -1)) + x.slice(1, 8, 0, -2).sum({1}, true), 2e-6, 2e-6,
                "negative steps");
}

namespace {

/// fn() on `inputs`, recorded as a trace and compiled in full and as a first tier (with its
/// IR); check(compiled, the eager outputs, the tier's name) for each.
void for_both_tiers(const std::vector<Tensor>& inputs, const std::function<std::vector<Tensor>()>& fn,
                    const std::function<void(const Compiled&, const std::vector<Tensor>&, const char*)>& check) {
  Recorder rec;
  rec.add_inputs(inputs);
  const std::vector<Tensor> eager = fn();
  const Trace t = rec.finish(eager);
  for (bool fast : {false, true}) check(compile(t, {.keep_ir = true, .fast_codegen = fast}), eager, fast ? "first tier" : "full code");
}

/// Inputs at the edges of a float type: zeros of both signs, subnormals, the limits of
/// exp, huge arguments of sin and cos, infinities and NaN.
template <class T> std::vector<T> special_values() {
  using L = std::numeric_limits<T>;
  std::vector<T> v = {T(0),   -T(0),    L::denorm_min(), -L::denorm_min(), L::min() / T(3), -L::min() / T(3), L::min(),
                      T(1e-30), T(1e-10), T(1e-5),  T(0.5), T(-0.5), T(1),   T(-1),  T(2.5),  T(-2.5), T(10),  T(-10),
                      T(20),  T(-20),   T(80),  T(-80), T(87.5), T(-87.5), T(88.5), T(-88.5), T(88.72), T(89),  T(-89),
                      T(100), T(-100),  T(-103.5), T(-104.5), T(709), T(-709), T(746), T(-746), T(1e6), T(-1e6),
                      T(1e10), T(-1e10), T(0x1p39), T(0x1p41), T(-0x1p41), T(1e15), T(1e20), T(1e30), T(-1e30), L::max(), -L::max(), L::infinity(), -L::infinity(),
                      L::quiet_NaN()};
  return v;
}

/// Equal as the interpreter computes it: NaN for NaN, the same infinity, zeros of the same
/// sign, else within `rel` of it or two of the type's smallest subnormals (results that
/// are subnormal count: flushing them to zero is a wrong answer).
template <class T> bool same_edge(T got, T want, double rel) {
  if (std::isnan(want) || std::isnan(got)) return std::isnan(want) && std::isnan(got);
  if (std::isinf(want) || std::isinf(got)) return got == want;
  if (want == 0 && got == 0) return std::signbit(want) == std::signbit(got);
  return std::fabs(double(got) - double(want)) <= rel * std::fabs(double(want)) + 2 * double(std::numeric_limits<T>::denorm_min());
}

template <class T> void check_special_values(DType dtype) {
  const std::vector<T> values = special_values<T>();
  const Tensor x = from_vector(values, {static_cast<int64_t>(values.size())});
  const Tensor one = ones({static_cast<int64_t>(values.size())}, dtype);  // an input: * one keeps the op in a kernel
  for (int i = 0; i < kNumUnaryOps; ++i) {
    const auto op = static_cast<UnaryOp>(i);
    if (kind(op) != UnaryKind::Float && kind(op) != UnaryKind::Numeric) continue;
    for_both_tiers({x, one}, [&] { return std::vector<Tensor>{unary(op, x) * one}; },
                   [&](const Compiled& c, const std::vector<Tensor>& eager, const char* tier) {
                     INFO(name(op) << " on " << name(dtype) << ", " << tier);
                     REQUIRE(c.ok());
                     const std::vector<T> got = c.run({x, one}).at(0).template to_vector<T>();
                     const std::vector<T> want = eager[0].template to_vector<T>();
                     for (size_t k = 0; k < values.size(); ++k) {
                       INFO(name(op) << "(" << values[k] << "): compiled " << got[k] << ", interpreted " << want[k]);
                       CHECK(same_edge(got[k], want[k], 4e-6));
                     }
                   });
  }
}

}  // namespace

TEST_CASE("every float op of the table at the edges of its type matches the interpreter", "[jit][ops][edges]") {
  check_special_values<float>(DType::F32);
  check_special_values<double>(DType::F64);
}

namespace {

template <class T> std::vector<T> special_binary_values() {
  using L = std::numeric_limits<T>;
  if constexpr (std::is_integral_v<T>)
    return {T(0), T(1), T(-1), T(2), T(-2), T(7), T(-7), T(31), T(-31), T(100), L::max(), L::min(), T(L::max() - 1), T(L::min() + 1)};
  else
    return {T(0),   -T(0),  L::denorm_min(), -L::denorm_min(), L::min(), T(1e-30), T(0.5), T(-0.5), T(1), T(-1),
            T(2),   T(-2),  T(2.5),          T(-2.5),          T(3),     T(-3),    T(100), T(-100), T(1e30), L::max(),
            -L::max(), L::infinity(), -L::infinity(), L::quiet_NaN()};
}

/// Every float or integer binary op of the table on every pair of `T`'s edge values.
template <class T> void check_binary_special_values(DType dtype) {
  const std::vector<T> v = special_binary_values<T>();
  std::vector<T> as, bs;
  for (T a : v)
    for (T b : v) as.push_back(a), bs.push_back(b);
  const int64_t n = static_cast<int64_t>(as.size());
  const Tensor a = from_vector(as, {n}), b = from_vector(bs, {n});
  const Tensor one = ones({n}, dtype);
  for (int i = 0; i < kNumBinaryOps; ++i) {
    const auto op = static_cast<BinaryOp>(i);
    if (kind(op) == BinaryKind::Logical) continue;  // computes in bool
    auto fn = [&] {
      const Tensor r = binary(op, a, b);
      return std::vector<Tensor>{is_floating(r.dtype()) ? r * cast(one, r.dtype()) : logical_and(r, one)};  // * one: kept in a kernel
    };
    for_both_tiers({a, b, one}, fn, [&](const Compiled& c, const std::vector<Tensor>& eager, const char* tier) {
      INFO(name(op) << " on " << name(dtype) << ", " << tier);
      REQUIRE(c.ok());
      const std::vector<double> got = c.run({a, b, one}).at(0).to_vector<double>(), want = eager[0].to_vector<double>();
      for (int64_t k = 0; k < n; ++k) {
        INFO(name(op) << "(" << as[k] << ", " << bs[k] << "): compiled " << got[k] << ", interpreted " << want[k]);
        if constexpr (std::is_integral_v<T>) CHECK((got[k] == want[k] || (std::isnan(got[k]) && std::isnan(want[k]))));
        else CHECK(same_edge<T>(static_cast<T>(got[k]), static_cast<T>(want[k]), 4e-6));
      }
    });
  }
}

}  // namespace

TEST_CASE("every binary op of the table on pairs of edge values matches the interpreter", "[jit][ops][edges]") {
  check_binary_special_values<float>(DType::F32);
  check_binary_special_values<double>(DType::F64);
  check_binary_special_values<int32_t>(DType::I32);
  check_binary_special_values<int64_t>(DType::I64);
}

TEST_CASE("reductions, softmax and layer norm over rows of edge values match the interpreter", "[jit][ops][edges]") {
  using L = std::numeric_limits<float>;
  const float inf = L::infinity(), nan = L::quiet_NaN(), big = L::max(), tiny = L::denorm_min();
  // Each row of 9: one kind of trouble (every row's vector loop and remainder). Not sums
  // that cancel (1e30 - 1e30 + 1 ...): compiled sums are reassociated (vector lanes), and
  // their results then differ by design.
  const std::vector<std::vector<float>> rows = {
      {1, 2, 3, 4, 5, 6, 7, 8, 9},                       // ordinary
      {-inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf},
      {-inf, 0, 1, -inf, 2, -inf, 3, 4, 5},
      {inf, 0, 1, 2, 3, 4, 5, 6, 7},
      {inf, -inf, 1, 2, 3, 4, 5, 6, 7},
      {nan, 0, 1, 2, 3, 4, 5, 6, 7},
      {big, big, big, 1, 2, 3, 4, 5, 6},                 // a sum that overflows
      {-0.0f, -0.0f, -0.0f, -0.0f, -0.0f, -0.0f, -0.0f, -0.0f, -0.0f},
      {tiny, tiny, tiny, 0, tiny, tiny, tiny, tiny, tiny},
      {5, 5, 5, 5, 5, 5, 5, 5, 5},                       // variance 0
      {100, -100, 88, -88, 89, -89, 0, 1, -1}};
  std::vector<float> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  const Tensor x = from_vector(flat, {static_cast<int64_t>(rows.size()), 9});
  const Tensor one = ones({static_cast<int64_t>(rows.size()), 9});
  const std::pair<const char*, std::function<Tensor(const Tensor&)>> ops[] = {
      {"sum", [](const Tensor& t) { return sum(t, {1}, true); }},
      {"mean", [](const Tensor& t) { return mean(t, {1}, true); }},
      {"max", [](const Tensor& t) { return max(t, {1}, true); }},
      {"min", [](const Tensor& t) { return min(t, {1}, true); }},
      {"prod", [](const Tensor& t) { return prod(t, {1}, true); }},
      {"var", [](const Tensor& t) { return var(t, {1}, 0, true); }},
      {"softmax", [](const Tensor& t) { return softmax(t, -1); }},
      {"log_softmax", [](const Tensor& t) { return log_softmax(t, -1); }},
      {"layer_norm", [](const Tensor& t) { return layer_norm(t); }},
      {"column sum", [](const Tensor& t) { return sum(t, {0}, true); }},
      {"column max", [](const Tensor& t) { return max(t, {0}, true); }}};
  for (const auto& [what, f] : ops) {
    for_both_tiers({x, one}, [&] { return std::vector<Tensor>{f(x * one)}; },
                   [&](const Compiled& c, const std::vector<Tensor>& eager, const char* tier) {
                     INFO(what << ", " << tier);
                     REQUIRE(c.ok());
                     const std::vector<float> got = c.run({x, one}).at(0).to_vector<float>(), want = eager[0].to_vector<float>();
                     REQUIRE(got.size() == want.size());
                     for (size_t k = 0; k < got.size(); ++k) {
                       INFO(what << " element " << k << ": compiled " << got[k] << ", interpreted " << want[k]);
                       CHECK(same_edge(got[k], want[k], 1e-5));
                     }
                   });
  }
}

TEST_CASE("casts of edge values between every pair of dtypes match the interpreter", "[jit][ops][edges]") {
  // Floats to integers saturate and NaN becomes 0 (lib/core/convert.h); compiled code must agree.
  const std::vector<double> values = {0.0, -0.0, 0.4, -0.4, 0.5, -0.5, 1.5, -1.5, 2.5, 1e9, -1e9, 2147483647.0, 2147483648.0,
                                      -2147483648.0, -2147483649.0, 9.2e18, -9.3e18, 1e30, -1e30,
                                      std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                                      std::numeric_limits<double>::quiet_NaN(), 5e-324, 1e-40};
  const int64_t n = static_cast<int64_t>(values.size());
  for (DType from : kDTypes) {
    const Tensor x = cast(from_vector(values, {n}), from);  // the interpreter's own conversion of each value
    for (DType to : kDTypes) {
      if (to == from) continue;
      Recorder rec;
      rec.add_inputs({x});
      const Tensor out = cast(x, to);
      const Trace t = rec.finish({out, out == out});  // two ops: one kernel computes the cast
      const Compiled c = compile(t);
      INFO(name(from) << " -> " << name(to));
      REQUIRE(c.ok());
      const std::vector<double> got = c.run({x}).at(0).to_vector<double>(), want = out.to_vector<double>();
      for (int64_t k = 0; k < n; ++k) {
        INFO("value " << values[k] << " as " << name(from) << ": compiled " << got[k] << ", interpreted " << want[k]);
        CHECK((got[k] == want[k] ? std::signbit(got[k]) == std::signbit(want[k]) : std::isnan(got[k]) && std::isnan(want[k])));
      }
    }
  }
}

TEST_CASE("argmax and argmin compile: ties, NaN, infinities, signed zeros, every dtype, both tiers", "[jit][ops]") {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  // Rows: ties (first wins), NaN after and before the extreme (the first NaN wins), all
  // -inf, all +inf, signed zeros, one NaN alone.
  const std::vector<float> v = {1, 3, 3, 0,  2, 5, nan, 5,  nan, 1, nan, 9,  -inf, -inf, -inf, -inf,
                                inf, inf, 1, inf,  -0.f, 0.f, -0.f, 0.f,  0, 0, 0, nan,  -2, 7, -2, 7};
  const Tensor x = from_vector(v, {8, 4});
  for (DType dt : {DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool}) {
    const Tensor t = is_floating(dt) ? cast(x, dt) : cast(where(logical_not(isfinite(x)), 0.f, x), dt);
    const Tensor one = ones({8, 4}, dt == DType::Bool ? DType::Bool : dt);
    for (int axis : {0, 1}) {
      for (bool is_max : {true, false}) {
        auto fn = [&](const Tensor& a, const Tensor& b) {
          const Tensor p = dt == DType::Bool ? logical_and(a, b) : a * b;  // keeps the op in a kernel
          return is_max ? argmax(p, axis) : argmin(p, axis);
        };
        for_both_tiers({t, one}, [&] { return std::vector<Tensor>{fn(t, one)}; },
                       [&](const Compiled& c, const std::vector<Tensor>& want, const char* tier) {
                         INFO(name(dt) << (is_max ? " argmax" : " argmin") << " axis " << axis << ", " << tier);
                         REQUIRE(c.ok());
                         REQUIRE(c.ir(Stage::Linalg).find("ejit.arg") == std::string::npos);  // compiled, not on the interpreter
                         REQUIRE(c.run({t, one}).at(0).to_vector<int64_t>() == want[0].to_vector<int64_t>());
                       });
      }
    }
  }
  // A column of 70001 rows (vector loops, row chunks) with its maximum late and tied.
  Tensor big = rand({70001, 3}, 5);
  big = where(arange(70001).reshape({70001, 1}) == int64_t{69998}, 2.f, big);
  auto f = jit([](const Tensor& a) { return std::vector<Tensor>{argmax(a * 1.f, 0), argmin(a * 1.f, 1)}; });
  f(big);
  const std::vector<Tensor> got = f(big);
  REQUIRE(f.stats().hits == 1);
  REQUIRE(got[0].to_vector<int64_t>() == std::vector<int64_t>{69998, 69998, 69998});
  REQUIRE(got[1].to_vector<int64_t>() == argmin(big, 1).to_vector<int64_t>());
}

namespace {

/// A trace's linalg IR shows every op in compiled kernels: some code, nothing between kernels
/// on the interpreter (ir() is empty when nothing compiled).
bool all_in_kernels(const std::string& linalg) {
  return linalg.find("linalg.generic") != std::string::npos && linalg.find("interpreter runs") == std::string::npos &&
         linalg.find("ejit.take") == std::string::npos && linalg.find("ejit.gather") == std::string::npos;
}

/// take and gather, compiled in a kernel with the ops around them, both tiers: equal to the
/// interpreter bit for bit (they move elements).
void check_indexing(const std::function<Tensor(const Tensor&, const Tensor&)>& fn, const Tensor& x, const Tensor& indices,
                    const std::string& what) {
  for_both_tiers({x, indices}, [&] { return std::vector<Tensor>{fn(x, indices)}; },
                 [&](const Compiled& c, const std::vector<Tensor>& eager, const char* tier) {
                   INFO(what << ", " << tier);
                   REQUIRE(c.ok());
                   const std::string linalg = c.ir(Stage::Linalg);
                   REQUIRE(linalg.find("ejit.take") == std::string::npos);  // in the kernel, not on the interpreter
                   REQUIRE(linalg.find("ejit.gather") == std::string::npos);
                   REQUIRE(linalg.find("interpreter runs") == std::string::npos);
                   const Tensor got = c.run({x, indices}).at(0), &want = eager[0];
                   REQUIRE(got.shape() == want.shape());
                   REQUIRE(got.dtype() == want.dtype());
                   REQUIRE(got.to_vector<double>() == want.to_vector<double>());
                 });
}

}  // namespace

TEST_CASE("take and gather compile with the ops around them: every dtype, axis and index dtype, negative indices",
          "[jit][ops][indexing]") {
  const Tensor base = rand({5, 6, 7}, 3, DType::F64, -8.0, 8.0);
  for (DType dt : {DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool}) {
    const Tensor x = dt == DType::Bool ? base > 0.0 : cast(is_floating(dt) ? base : round(base), dt);
    // An exact op before the take keeps it in a kernel with company.
    auto scaled = [&](const Tensor& t) { return dt == DType::Bool ? logical_not(logical_not(t)) : t + t; };
    for (DType it : {DType::I32, DType::I64}) {
      for (int axis : {0, 1, 2}) {
        const int64_t n = base.dim(axis);
        // Repeats, negative indices (from the end), the first and the last.
        const Tensor idx = cast(from_vector<int64_t>({n - 1, 0, -1, -n, 2, 2}, {2, 3}), it);
        check_indexing([&](const Tensor& t, const Tensor& i) { return take(scaled(t), i, axis); }, x, idx,
                       fmt::format("take {} by {} on axis {}", name(dt), name(it), axis));
        // gather: indices of x's rank, broadcasting on the other dims (size 1 there).
        Shape is = x.shape();
        is[axis] = 4;
        for (int d = 0; d < 3; ++d)
          if (d != axis && d != 2) is[d] = 1;
        const Tensor g = cast(rand(is, 9, DType::F64, static_cast<double>(-n), static_cast<double>(n) - 0.01), DType::F64);
        check_indexing([&](const Tensor& t, const Tensor& i) { return gather(scaled(t), i, axis); }, x,
                       cast(floor(g), it), fmt::format("gather {} by {} on axis {}", name(dt), name(it), axis));
      }
    }
  }
  // x broadcasting along the indices (its size-1 dims), and the indices along x.
  check_indexing([](const Tensor& t, const Tensor& i) { return gather(t + t, i, 1); }, randn({1, 6, 7}, 2),
                 from_vector<int64_t>(std::vector<int64_t>(5 * 4 * 7, -2), {5, 4, 7}), "gather: x broadcasts");
  check_indexing([](const Tensor& t, const Tensor& i) { return gather(t + t, i, 1); }, randn({5, 6, 7}, 2),
                 from_vector<int64_t>({0, 5, -1, 3}, {1, 4, 1}), "gather: indices broadcast");
  // A 0-d index: take drops the axis.
  check_indexing([](const Tensor& t, const Tensor& i) { return take(t * 2.f, i, 1); }, randn({4, 9}, 1),
                 from_vector<int64_t>({-3}, {}), "take of a 0-d index");
}

TEST_CASE("compiled take and gather check their indices before the kernel runs, as the interpreter does",
          "[jit][ops][indexing]") {
  const Tensor table = randn({50, 8}, 1);
  auto embed = jit([](const Tensor& t, const Tensor& ids) { return take(t * 2.f, ids, 0) + 1.f; }, "embed");
  const Tensor ids = from_vector<int64_t>({3, -1, 49, 0}, {2, 2});
  embed(table, ids);
  REQUIRE(embed(table, ids).to_vector<float>() == (take(table * 2.f, ids, 0) + 1.f).to_vector<float>());
  REQUIRE(embed.stats().hits == 1);
  for (int64_t bad : {int64_t{50}, int64_t{-51}, int64_t{1} << 40}) {
    const std::string e = error_of([&] { embed(table, from_vector<int64_t>({3, bad, 1, 0}, {2, 2})); });
    INFO(e);
    REQUIRE(e.find("[take] index " + std::to_string(bad) + " is out of range for dim 0 of size 50 (shape (50,8))") !=
            std::string::npos);
  }
  REQUIRE(embed(table, ids).to_vector<float>() == (take(table * 2.f, ids, 0) + 1.f).to_vector<float>());

  // Numbers of ids that vary: jit() makes their dim dynamic and compiles once more; every
  // size right, a bad id an error.
  auto embed_any = jit([](const Tensor& t, const Tensor& i) { return take(t * 2.f, i, 0) + 1.f; }, "embed_any");
  for (int64_t k : {3, 5, 9, 4, 7}) {
    const Tensor some = cast(round(rand({k}, static_cast<uint64_t>(k), DType::F32, -50.0, 49.0)), DType::I64);
    REQUIRE(embed_any(table, some).to_vector<float>() == (take(table * 2.f, some, 0) + 1.f).to_vector<float>());
  }
  REQUIRE(error_of([&] { embed_any(table, from_vector<int64_t>({1, 2, 3, 4, 50, 6}, {6})); }).find("[take] index 50") !=
          std::string::npos);
  REQUIRE(embed_any.stats().misses == 2);
  REQUIRE(all_in_kernels(embed_any.ir(Stage::Linalg)));

  // An index that is a size (a constant jit() generalizes over sizes): computed per call,
  // so the take stays on the interpreter, which checks it.
  JitOptions any_size;
  any_size.dynamic = true;
  const Tensor pos = randn({8, 8}, 5);
  auto at_size = [&](const Tensor& x) { return exp(x) * 2.f + take(pos, full({}, x.dim(0), DType::I64), 0); };
  auto row = jit(at_size, "row", any_size);
  for (int64_t n : {3, 5, 6}) {
    const Tensor x = randn({n, 8}, static_cast<uint64_t>(n));
    require_agree(row(x), at_size(x), 1e-6, 1e-6, "row of size " + std::to_string(n));
  }
  REQUIRE(row.stats().misses == 2);  // the second size compiled code for every size
  REQUIRE(error_of([&] { row(randn({9, 8}, 9)); }).find("[take] index 9 is out of range for dim 0 of size 8") !=
          std::string::npos);

  // A trace from a file whose constant indices are out of range: the take stays on the
  // interpreter, and the call fails as it would eagerly.
  const Trace bad = parse_trace(R"(func.func @f(%x: tensor<10x4xf32>) -> (tensor<4xf32>) {
  %c = ejit.constant dense<100> : tensor<i64>
  %a = ejit.exp %x : tensor<10x4xf32> -> tensor<10x4xf32>
  %b = ejit.mul %a, %x : tensor<10x4xf32>, tensor<10x4xf32> -> tensor<10x4xf32>
  %r = ejit.take %b, %c {axis = 0 : i64} : tensor<10x4xf32>, tensor<i64> -> tensor<4xf32>
  return %r : tensor<4xf32>
})");
  const Compiled compiled_bad = compile(bad);
  REQUIRE(compiled_bad.ok());
  REQUIRE(error_of([&] { compiled_bad.run({randn({10, 4}, 1)}); }).find("[take] index 100 is out of range") !=
          std::string::npos);

  // cross_entropy's gather of the labels: compiled, its labels checked.
  const Tensor logits = randn({16, 10}, 2), labels = cast(round(rand({16}, 3) * 9.f), DType::I64);
  auto loss = jit([](const Tensor& l, const Tensor& y) { return cross_entropy(l * 1.5f, y); }, "loss");
  loss(logits, labels);
  require_agree(loss(logits, labels), cross_entropy(logits * 1.5f, labels), 1e-6, 1e-6, "cross entropy");
  REQUIRE(all_in_kernels(loss.ir(Stage::Linalg)));
  const std::string e = error_of([&] { loss(logits, labels + int64_t{10}); });
  REQUIRE(e.find("[gather] index") != std::string::npos);
  REQUIRE(e.find("out of range for dim 1 of size 10") != std::string::npos);

  // Indices computed in the same kernel: compiled, and checked after it runs.
  auto pick = [](const Tensor& t) { return take(t * 2.f, argmax(t * 3.f, 1), 0) + 1.f; };
  auto computed = jit(pick, "computed");
  const Tensor sq = randn({6, 6}, 4);
  computed(sq);
  REQUIRE(computed(sq).to_vector<float>() == pick(sq).to_vector<float>());
  REQUIRE(all_in_kernels(computed.ir(Stage::Linalg)));
}

TEST_CASE("take and gather of indices a kernel computes compile and are checked after it runs, as the interpreter checks",
          "[jit][ops][indexing]") {
  // Buckets: indices computed from floats (negative ones count from the end), into a table.
  const Tensor table = randn({10, 4}, 1);
  auto bucket = [&](const Tensor& x) { return take(table * 2.f, cast(floor(x * 10.f), DType::I64), 0) + 1.f; };
  auto f = jit(bucket, "bucket");
  const Tensor inside = rand({3, 5}, 2, DType::F32, -0.99, 0.99);
  f(inside);
  REQUIRE(f(inside).to_vector<float>() == bucket(inside).to_vector<float>());
  REQUIRE(f.stats().hits == 1);
  REQUIRE(all_in_kernels(f.ir(Stage::Linalg)));
  // An index out of range: the call fails as it does eagerly, and the next call is right.
  for (float v : {1.5f, -1.05f, 3e9f}) {
    const Tensor bad = where(arange(15).reshape({3, 5}) == int64_t{7}, v, inside);
    const std::string want = error_of([&] { bucket(bad); }), got = error_of([&] { f(bad); });
    INFO(want);
    REQUIRE(want.find("[take] index") != std::string::npos);
    REQUIRE(got == want);
  }
  REQUIRE(f(inside).to_vector<float>() == bucket(inside).to_vector<float>());

  // Two takes in one kernel, both indices bad: the call fails on the first in trace order,
  // as it does eagerly, whether the kernel computes that one's indices or is given them.
  auto computed_first = [&](const Tensor& x, const Tensor& ids) {
    return take(table * 2.f, cast(floor(x * 10.f), DType::I64), 0).sum() + take(table + 1.f, ids, 0).sum();
  };
  auto given_first = [&](const Tensor& x, const Tensor& ids) {
    return take(table + 1.f, ids, 0).sum() + take(table * 2.f, cast(floor(x * 10.f), DType::I64), 0).sum();
  };
  const Tensor good_ids = from_vector<int64_t>({1, 2}, {2}), bad_ids = from_vector<int64_t>({1, 40}, {2});
  const Tensor bad_x = where(arange(15).reshape({3, 5}) == int64_t{4}, 1.6f, inside);
  using Fn = std::function<Tensor(const Tensor&, const Tensor&)>;
  for (const Fn& fn : {Fn(computed_first), Fn(given_first)}) {
    auto j = jit(fn, "two takes");
    j(inside, good_ids);
    require_agree(j(inside, good_ids), fn(inside, good_ids), 1e-5, 1e-5, "two takes");
    REQUIRE(j.stats().hits == 1);
    for (const Tensor* x : {&inside, &bad_x})
      for (const Tensor* ids : {&good_ids, &bad_ids}) {
        if (x == &inside && ids == &good_ids) continue;
        const std::string want = error_of([&] { fn(*x, *ids); });
        INFO(want);
        REQUIRE(want.find("[take] index") != std::string::npos);
        REQUIRE(error_of([&] { j(*x, *ids); }) == want);
      }
  }

  // gather: each row's largest element through argmax, reshaped to a column in the kernel.
  auto top = [](const Tensor& l) { return gather(l * 2.f, argmax(l + 1.f, 1).reshape({l.dim(0), 1}), 1) - 1.f; };
  auto g = jit(top, "top");
  const Tensor logits = randn({7, 5}, 3);
  g(logits);
  REQUIRE(g(logits).to_vector<float>() == top(logits).to_vector<float>());
  REQUIRE(all_in_kernels(g.ir(Stage::Linalg)));

  // Large enough for row chunks on every thread (the kernel reads only its inputs at computed
  // rows), in both tiers.
  const Tensor rows = rand({40000, 3}, 4, DType::F32, -0.99, 0.99);
  for_both_tiers({rows, table}, [&] { return std::vector<Tensor>{bucket(rows)}; },
                 [&](const Compiled& c, const std::vector<Tensor>& eager, const char* tier) {
                   INFO(tier);
                   REQUIRE(c.ok());
                   REQUIRE(all_in_kernels(c.ir(Stage::Linalg)));
                   REQUIRE(c.run({rows, table}).at(0).to_vector<float>() == eager[0].to_vector<float>());
                   const Tensor bad = where(arange(120000).reshape({40000, 3}) == int64_t{99999}, 2.f, rows);
                   REQUIRE(error_of([&] { c.run({bad, table}); }) == error_of([&] { bucket(bad); }));
                 });
}

TEST_CASE("take and gather along a dynamic dim compile: indices checked against each call's size", "[jit][ops][indexing]") {
  JitOptions dynamic;
  dynamic.dynamic = true;
  // Tables whose number of rows varies; -1 is each table's last row.
  const Tensor ids = from_vector<int64_t>({0, -1, 3, 5, -7}, {5});
  auto lookup = [](const Tensor& t, const Tensor& i) { return take(t * 2.f, i, 0) + 1.f; };
  auto f = jit(lookup, "lookup", dynamic);
  for (int64_t rows : {12, 20, 33, 9}) {
    const Tensor t = randn({rows, 4}, static_cast<uint64_t>(rows));
    INFO(rows << " rows");
    REQUIRE(f(t, ids).to_vector<float>() == lookup(t, ids).to_vector<float>());
  }
  REQUIRE(f.stats().misses == 2);  // the second size compiled code for every size
  REQUIRE(all_in_kernels(f.ir(Stage::Linalg)));
  const Tensor few = randn({6, 4}, 6);
  const std::string e = error_of([&] { f(few, ids); });
  REQUIRE(e == error_of([&] { lookup(few, ids); }));
  REQUIRE(e.find("[take] index -7 is out of range for dim 0 of size 6") != std::string::npos);

  // gather along a number of classes that varies.
  auto pick = [](const Tensor& l, const Tensor& i) { return gather(l * 2.f, i, 1) + 1.f; };
  auto g = jit(pick, "pick", dynamic);
  const Tensor idx = from_vector<int64_t>({0, -1, 4, 2, 7, -3, 1, 0}, {4, 2});
  for (int64_t classes : {10, 13, 17}) {
    const Tensor l = randn({4, classes}, static_cast<uint64_t>(classes));
    REQUIRE(g(l, idx).to_vector<float>() == pick(l, idx).to_vector<float>());
  }
  REQUIRE(g.stats().misses == 2);
  REQUIRE(all_in_kernels(g.ir(Stage::Linalg)));
  const Tensor narrow = randn({4, 5}, 5);
  REQUIRE(error_of([&] { g(narrow, idx); }) == error_of([&] { pick(narrow, idx); }));

  // Constant indices into rows that vary: checked before each call's kernel, for its size.
  auto fixed = [](const Tensor& t) { return take(t * 2.f, from_vector<int64_t>({0, -1, 3, -4}, {4}), 0) + 1.f; };
  auto k = jit(fixed, "fixed", dynamic);
  for (int64_t rows : {8, 11, 15, 4}) {
    const Tensor t = randn({rows, 6}, static_cast<uint64_t>(rows));
    REQUIRE(k(t).to_vector<float>() == fixed(t).to_vector<float>());
  }
  REQUIRE(k.stats().misses == 2);
  REQUIRE(all_in_kernels(k.ir(Stage::Linalg)));
  const Tensor three = randn({3, 6}, 3);
  const std::string e3 = error_of([&] { k(three); });
  REQUIRE(e3 == error_of([&] { fixed(three); }));
  REQUIRE(e3.find("[take] index 3 is out of range for dim 0 of size 3") != std::string::npos);
  REQUIRE(k.stats().misses == 2);  // the dynamic code's check, not a recording, failed it

  // Indices computed in the kernel into a dim that varies: the take runs on the interpreter
  // (a call could make that dim empty), and every size is right.
  auto first = [](const Tensor& t) { return take(t * 2.f, argmax(t * 3.f, 1), 0) + 1.f; };
  auto h = jit(first, "first", dynamic);
  for (int64_t rows : {8, 11, 15}) {
    const Tensor t = randn({rows, 6}, static_cast<uint64_t>(rows));
    REQUIRE(h(t).to_vector<float>() == first(t).to_vector<float>());
  }
  REQUIRE(h.stats().misses == 2);
  REQUIRE(h.ir(Stage::Linalg).find("indices computed into a dynamic dim runs on the interpreter") != std::string::npos);
}

TEST_CASE("interpreter steps write over values read for the last time, and never over a value read again or the caller's",
          "[jit][indexing]") {
  // index_add and exp (strict: transcendentals run on the interpreter) between kernels: z
  // dies at its index_add (written over), w is read again after its index_add, x is the
  // caller's, the constant is the program's.
  auto fn = [](const Tensor& x, const Tensor& ids, const Tensor& u) {
    Tensor z = x * 2.f, w = x + 1.f;
    Tensor a = index_add(z, ids, u, 0), b = index_add(w, ids, u, 0), c = index_add(x, ids, u, 0);
    Tensor k = index_add(full({6, 4}, 0.5f), ids, u, 0);
    Tensor e = exp(a * 0.5f) + exp(w);
    return std::vector<Tensor>{a * 3.f, b + w, c - 1.f, k + 2.f, e * 1.f};
  };
  const Tensor x = randn({6, 4}, 1), ids = from_vector<int64_t>({5, 0, -1, 5}, {4}), u = randn({4, 4}, 2);
  const std::vector<float> x_before = x.to_vector<float>();
  const std::vector<Tensor> want = fn(x, ids, u);
  for (bool strict : {false, true}) {
    INFO("strict " << strict);
    auto f = jit([&](const Tensor& a, const Tensor& i, const Tensor& v) { return fn(a, i, v); }, "given up",
                 JitOptions{.strict = strict});
    f(x, ids, u);
    for (int call = 0; call < 3; ++call) {  // the program's constants stay as they were
      const std::vector<Tensor> got = f(x, ids, u);
      REQUIRE(f.stats().hits == call + 1);
      REQUIRE(got.size() == want.size());
      for (size_t i = 0; i < got.size(); ++i) require_agree(got[i], want[i], 1e-5, 1e-5, "output");
      REQUIRE(x.to_vector<float>() == x_before);
    }
  }
}

TEST_CASE("gather's gradient with several picks a slice is scatter_add between kernels: jitted equals eager", "[jit][indexing]") {
  // Each row's 3 largest-scored classes of 50 (top-k style), their log-probabilities summed.
  auto loss_and_grad = [](const Tensor& logits, const Tensor& picks) {
    GradientTape tape;
    tape.watch(logits);
    Tensor loss = -sum(gather(log_softmax(logits * 1.5f, 1), picks, 1));
    return std::vector<Tensor>{loss, tape.gradient(loss, {logits})[0]};
  };
  auto f = jit(loss_and_grad, "picks");
  const Tensor logits = randn({8, 50}, 1), picks = cast(floor(rand({8, 3}, 2, DType::F32, 0.0, 49.99)), DType::I64);
  f(logits, picks);
  const std::vector<Tensor> got = f(logits, picks), want = loss_and_grad(logits, picks);
  REQUIRE(f.stats().hits == 1);
  CHECK_THAT(f.ir(Stage::Linalg), Catch::Contains("scatter_add runs on the interpreter"));
  CHECK_THAT(f.ir(Stage::Linalg), Catch::Contains("linalg.generic"));
  require_agree(got[0], want[0], 1e-5, 1e-5, "loss");
  require_agree(got[1], want[1], 1e-5, 1e-5, "gradient");
  // A bad pick fails as eagerly, and the next call is right.
  const Tensor bad = where(arange(24).reshape({8, 3}) == int64_t{5}, int64_t{50}, picks);
  const std::string e = error_of([&] { f(logits, bad); });
  REQUIRE(e == error_of([&] { loss_and_grad(logits, bad); }));
  REQUIRE(e.find("[gather] index 50 is out of range for dim 1 of size 50") != std::string::npos);
  require_agree(f(logits, picks)[1], want[1], 1e-5, 1e-5, "gradient after a failed call");

  // scatter_add in a trace saved as text and loaded.
  ejit::test::TempDir dir("scatter-add-trace");
  auto fn = [](const std::vector<Tensor>& a) { return std::vector<Tensor>{scatter_add(a[0] * 2.f, a[1], exp(a[2]), 1) - 1.f}; };
  const Tensor x = randn({8, 50}, 3), u = randn({8, 3}, 4);
  const Trace t = ejit::test::record_trace(fn, {x, picks, u});
  const std::string path = (dir.path / "t.mlir").string();
  t.save(path);
  const Compiled c = compile(load_trace(path), {.keep_ir = true});
  REQUIRE(c.ok());
  CHECK_THAT(c.ir(Stage::Linalg), Catch::Contains("scatter_add runs on the interpreter"));
  require_agree(c.run({x, picks, u}).at(0), fn({x, picks, u}).at(0), 1e-6, 1e-6, "scatter_add between kernels");
}

TEST_CASE("index_add in a trace: saved as text, loaded, run between compiled kernels as eagerly", "[jit][indexing]") {
  ejit::test::TempDir dir("index-add-trace");
  const Tensor x = randn({6, 4}, 1), ids = from_vector<int32_t>({5, 0, -1, 2, 5}, {5}), u = randn({5, 4}, 2);
  auto fn = [](const std::vector<Tensor>& a) {
    return std::vector<Tensor>{index_add(a[0] * 2.f + 0.5f, a[1], exp(a[2]) * 3.f, 0) * 0.25f - 1.f};
  };
  const Trace t = ejit::test::record_trace(fn, {x, ids, u});
  const std::string path = (dir.path / "t.mlir").string();
  t.save(path);
  const Trace back = load_trace(path);
  const Compiled c = compile(back, {.keep_ir = true});
  REQUIRE(c.ok());
  CHECK_THAT(c.ir(Stage::Linalg), Catch::Contains("index_add runs on the interpreter"));
  CHECK_THAT(c.ir(Stage::Linalg), Catch::Contains("linalg.generic"));
  require_agree(c.run({x, ids, u}).at(0), fn({x, ids, u}).at(0), 1e-6, 1e-6, "index_add between kernels");
  const Tensor bad = from_vector<int32_t>({5, 0, 6, 2, 5}, {5});
  const std::string e = error_of([&] { c.run({x, bad, u}); });
  REQUIRE(e == error_of([&] { fn({x, bad, u}); }));
  REQUIRE(e.find("[index_add] index 6 is out of range for dim 0 of size 6") != std::string::npos);
}
