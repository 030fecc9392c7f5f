// Elementwise ops given an rvalue (a temporary, std::move(t), a op= b) may write their result
// over its memory: only when nothing else can see that memory, and with the same values.
#include <cstring>
#include <functional>
#include <random>

#include "test_util.h"

using namespace ejit;

namespace {

/// Bitwise equal tensors (NaN patterns included): in-place and fresh results must not differ.
void require_identical(const Tensor& got, const Tensor& want) {
  REQUIRE(got.shape() == want.shape());
  REQUIRE(got.dtype() == want.dtype());
  REQUIRE(std::memcmp(got.raw_data(), want.raw_data(), got.nbytes()) == 0);
}

Tensor copy_of(const Tensor& t) { return t.astype(DType::F64).astype(t.dtype()); }

}  // namespace

TEST_CASE("an op writes over a temporary's memory, and the given-up handle is undefined after", "[reuse]") {
  const Tensor a = rand({1000}, 1), b = rand({1000}, 2);
  Tensor t = a * b;
  const void* memory = t.raw_data();
  Tensor y = exp(std::move(t));
  CHECK(y.raw_data() == memory);
  CHECK_FALSE(t.defined());  // NOLINT(bugprone-use-after-move): given up, as documented
  CHECK_THROWS_WITH(exp(t) + 1.f, Catch::Contains("[exp]") && Catch::Contains("undefined tensor"));  // NOLINT
  CHECK_THROWS_WITH(t.numel(), Catch::Contains("[tensor] use of an undefined tensor"));             // NOLINT
  require_identical(y, exp(a * b + 0.f));

  Tensor z = (y + 1.f) * 2.f;  // y is named: its memory is not reused
  CHECK(z.raw_data() != y.raw_data());
  y += 1.f;  // in place: y is the only handle
  CHECK(y.raw_data() == memory);
  require_identical(y * 2.f, z);
}

TEST_CASE("the W1 chain takes three fresh results, not nine, eagerly and while recording", "[reuse]") {
  const int64_t n = 1 << 20;  // 4 MB per tensor
  const Tensor a = rand({n}, 1), b = rand({n}, 2), c = rand({n}, 3);
  auto chain = [&] { return exp(a * b) + tanh(c) * 0.5f - a / (1 + b * b); };
  (void)chain();  // makes the small blocks of its scalar operands once
  empty_cache();  // every 4 MB block of the chain now comes from the system or from the chain itself
  const uint64_t before = allocator_stats().cache_misses;
  Tensor eager = chain();
  const uint64_t eager_fresh = allocator_stats().cache_misses - before;
  CHECK(eager_fresh <= 3);
  {
    eager = Tensor();
    empty_cache();
    const uint64_t start = allocator_stats().cache_misses;
    Recorder rec;
    rec.add_inputs({a, b, c});
    Tensor recorded = chain();
    (void)rec.finish({recorded});
    CHECK(allocator_stats().cache_misses - start <= 3);
  }
}

TEST_CASE("memory that another handle, a view or a variable shares is never written over", "[reuse]") {
  const Tensor a = rand({6, 4}, 3);
  SECTION("another handle") {
    Tensor t = a * 2.f, other = t;
    const Tensor before = copy_of(other);
    Tensor y = exp(std::move(t));
    CHECK(y.raw_data() != other.raw_data());
    require_identical(other, before);
    Tensor u = other;
    u += 1.f;  // u and other share: a fresh result for u
    require_identical(other, before);
    require_identical(u, before + 1.f);
  }
  SECTION("a view (reshape)") {
    Tensor t = a * 2.f;
    const Tensor view = t.reshape({24});
    const Tensor before = copy_of(view);
    Tensor y = tanh(std::move(t));
    CHECK(y.raw_data() != view.raw_data());
    require_identical(view, before);
  }
  SECTION("a variable's value") {
    Variable v(a * 2.f);
    const Tensor before = copy_of(v.value());
    Tensor y = exp(v) + 1.f;  // v converts to a Tensor handle that the variable shares
    Tensor w = v.value();
    w *= 3.f;
    require_identical(v.value(), before);
    require_identical(w, before * 3.f);
    require_identical(y, exp(before) + 1.f);
  }
  SECTION("an input read back after the op (sin, cos)") {
    Tensor x = a * 1e30f;  // huge arguments take a second pass that reads the input again
    const Tensor before = copy_of(x);
    require_identical(sin(std::move(x)), sin(before));
    require_identical(cos(before * 1.f), cos(before));
  }
}

TEST_CASE("reuse follows dtypes, broadcasting and repeated operands", "[reuse]") {
  const Tensor m = rand({5, 8}, 4), row = rand({8}, 5);
  SECTION("a broadcast operand smaller than the result is not reused") {
    Tensor r = row * 1.f;
    const void* memory = r.raw_data();
    Tensor y = std::move(r) + m;
    CHECK(y.raw_data() != memory);
    require_identical(y, row + m);
  }
  SECTION("the full-size operand is, on either side") {
    Tensor t = m * 1.f;
    const void* memory = t.raw_data();
    Tensor y = row - std::move(t);
    CHECK(y.raw_data() == memory);
    require_identical(y, row - m);
  }
  SECTION("a result of another element size gets fresh memory") {
    Tensor t = m * 1.f;
    Tensor y = std::move(t) > 0.5f;
    CHECK(y.dtype() == DType::Bool);
    require_identical(y, m > 0.5f);
    Tensor d = m.astype(DType::F64) * 1.0;
    require_identical(std::move(d) + m, m.astype(DType::F64) + m);
  }
  SECTION("an integer operand's float conversion is the op's own and is reused") {
    const Tensor i = cast(m * 10.f, DType::I32);
    require_identical(tanh(i), tanh(i.astype(DType::F32)));
    Tensor j = i + 0;
    require_identical(std::move(j) / 3, i.astype(DType::F32) / 3.f);
  }
  SECTION("one tensor as both operands") {
    Tensor t = m * 1.f;
    Tensor y = add(std::move(t), t);  // NOLINT(bugprone-use-after-move): both are read before t is given up
    require_identical(y, m * 2.f);
    Tensor u = m * 1.f;
    u += u;
    require_identical(u, m * 2.f);
  }
  SECTION("a failing op leaves the given-up handle as it was") {
    Tensor t = m * 1.f;
    CHECK_THROWS_AS(add(std::move(t), ones({3})), Error);
    REQUIRE(t.defined());  // NOLINT(bugprone-use-after-move)
    require_identical(t, m);
  }
}

TEST_CASE("a gradient tape sees its inputs unchanged: no reuse while it records", "[reuse]") {
  const Tensor c = rand({64}, 6);
  Tensor w = rand({64}, 7);
  GradientTape tape;
  tape.watch(w);
  Tensor loss = sum(w * (c + 1.f));  // the tape keeps c + 1 for w's gradient
  Tensor g = tape.gradient(loss, {w})[0];
  require_identical(g, c + 1.f);
}

TEST_CASE("a recorder keeps ids, not values: recorded temporaries are reused, traces stay right", "[reuse]") {
  const Tensor a = rand({300}, 8), b = rand({300}, 9), c = rand({300}, 10);
  auto chain = [](const Tensor& a, const Tensor& b, const Tensor& c) {
    return exp(a * b) + tanh(c) * 0.5f - a / (1 + b * b);
  };
  Recorder rec;
  rec.add_inputs({a, b, c});
  Tensor t = a * b;
  const void* memory = t.raw_data();
  Tensor y = exp(std::move(t));
  CHECK(y.raw_data() == memory);
  Tensor z = chain(a, b, c) + std::move(y);
  Trace trace = rec.finish({z});
  const Tensor want = chain(a, b, c) + exp(a * b);
  require_identical(z, want);
  require_identical(eval_trace(trace, {a, b, c})[0], want);
}

TEST_CASE("a recorder captures a tensor it has not seen before an op may write over it", "[reuse]") {
  const Tensor a = rand({8}, 11);
  Tensor c = a * 2.f;  // made before recording: the trace captures it as an input
  const Tensor c_before = copy_of(c);
  Recorder rec;
  rec.add_inputs({a});
  Tensor y = exp(std::move(c)) + a;
  const Trace trace = rec.finish({y});
  const Tensor want = exp(c_before) + a;
  require_identical(y, want);
  REQUIRE(rec.input_tensors().size() == 2);
  require_identical(rec.input_tensors()[1], c_before);  // captured with its values, not exp's
  require_identical(eval_trace(trace, rec.input_tensors())[0], want);
}

TEST_CASE("unary ops are one function each: they pass where a function is wanted", "[reuse]") {
  const Tensor x = rand({2, 3}, 12);
  std::function<Tensor(const Tensor&)> f = ejit::exp;
  require_identical(f(x), exp(x));
  Tensor (*g)(Tensor) = ejit::tanh;
  require_identical(g(x), tanh(x));
  nn::Dense layer(3, 4, ejit::tanh);
  const Tensor h = layer(x);
  CHECK(h.shape() == Shape{2, 4});
  CHECK(max(abs(h)).item<float>() <= 1.f);
}

TEST_CASE("random expressions give identical values with temporaries reused and kept", "[reuse]") {
  std::mt19937 rng(42);
  const std::vector<Shape> shapes = {{4, 5}, {5}, {1, 5}, {4, 1}, {}};
  const DType dtypes[] = {DType::F32, DType::F32, DType::F64, DType::I32, DType::Bool};
  int checked = 0, errors = 0;
  for (int trial = 0; trial < 400; ++trial) {
    // One random expression tree, evaluated twice: every intermediate passed on as a
    // temporary (reusable), then with each intermediate kept alive (never reused).
    std::vector<std::tuple<int, int, int>> plan;  // (kind: 0 leaf, 1 unary, 2 binary; op; operand seed)
    const int ops = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < ops; ++k)
      plan.emplace_back(static_cast<int>(rng() % 2) + 1, static_cast<int>(rng() % 64), static_cast<int>(rng() % 1000));
    const int leaf_shape = static_cast<int>(rng() % shapes.size());
    const DType leaf_dtype = dtypes[rng() % std::size(dtypes)];
    auto leaf = [&](int seed, int shape_index, DType dt) {
      Tensor r = randn(shapes[shape_index], static_cast<uint64_t>(seed)) * 3.f;
      return dt == DType::Bool ? r > 0.f : cast(r, dt);
    };
    auto evaluate = [&](bool keep) {
      std::vector<Tensor> kept;
      Tensor v = leaf(trial, leaf_shape, leaf_dtype);
      for (auto [kind, op, seed] : plan) {
        if (keep) kept.push_back(v);
        if (kind == 1) {
          v = unary(static_cast<UnaryOp>(op % kNumUnaryOps), std::move(v));
        } else {
          Tensor other = leaf(seed, seed % static_cast<int>(shapes.size()), dtypes[seed % std::size(dtypes)]);
          if (keep) kept.push_back(other);
          const auto bop = static_cast<BinaryOp>(op % kNumBinaryOps);
          v = seed % 2 ? binary(bop, std::move(v), std::move(other)) : binary(bop, std::move(other), std::move(v));
        }
      }
      return v;
    };
    Tensor reused, fresh;
    bool reused_failed = false, fresh_failed = false;
    try { reused = evaluate(false); } catch (const Error&) { reused_failed = true; }
    try { fresh = evaluate(true); } catch (const Error&) { fresh_failed = true; }
    INFO("trial " << trial);
    REQUIRE(reused_failed == fresh_failed);
    if (reused_failed) { ++errors; continue; }
    require_identical(reused, fresh);
    ++checked;
  }
  CHECK(checked > 200);  // most expressions are valid (bool arithmetic is an error)
  CHECK(errors > 0);
}
