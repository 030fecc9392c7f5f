// host_callback: C++ functions called on concrete values, eagerly and from compiled code on
// every call (never baked in), with their errors and gradients.
#include <ejit/autodiff.h>
#include <ejit/host_callback.h>
#include <ejit/jit.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>

#include "test_util.h"

using namespace ejit;
using ejit::test::error_of;
using ejit::test::require_close;

namespace {

/// A running sum written as a C++ loop: its result depends on every input value.
std::vector<Tensor> host_cumsum(const std::vector<Tensor>& in) {
  std::vector<float> v = in[0].to_vector<float>();
  for (size_t i = 1; i < v.size(); ++i) v[i] += v[i - 1];
  return {from_vector(v, in[0].shape())};
}

Tensor cumsum_reference(const Tensor& x) { return host_cumsum({x})[0]; }

/// y = x^3 on the host, with its gradient 3 x^2 dy in ejit ops.
Tensor host_cube(const Tensor& x) {
  return host_callback(
      "cube",
      [](const std::vector<Tensor>& in) {
        std::vector<double> v = in[0].to_vector<double>();
        for (double& e : v) e = e * e * e;
        return std::vector<Tensor>{from_vector(v, in[0].shape()).astype(in[0].dtype())};
      },
      {x}, {{x.shape(), x.dtype()}},
      [](const std::vector<Tensor>& in, const std::vector<Tensor>&, const std::vector<Tensor>& g) {
        return std::vector<Tensor>{g[0] * in[0] * in[0] * 3.0};
      })[0];
}

}  // namespace

TEST_CASE("host_callback: eager calls return the function's results", "[jit][host_callback]") {
  const Tensor x = tensor({1.f, 2.f, 3.f, 4.f});
  const std::vector<Tensor> r = host_callback("cumsum", host_cumsum, {x}, {{Shape{4}, DType::F32}});
  REQUIRE(r.size() == 1);
  CHECK(r[0].to_vector<float>() == std::vector<float>{1.f, 3.f, 6.f, 10.f});
  // A function returning its input: the result is a copy, not the input itself.
  const Tensor same = host_callback("identity", [](const std::vector<Tensor>& in) { return in; }, {x},
                                    {{Shape{4}, DType::F32}})[0];
  CHECK_FALSE(same.shares_storage(x));
  CHECK(same.to_vector<float>() == x.to_vector<float>());
  // No inputs at all.
  const Tensor seven = host_callback("seven", [](const std::vector<Tensor>&) { return std::vector<Tensor>{full({}, 7.0)}; },
                                     {}, {{Shape{}, DType::F32}})[0];
  CHECK(seven.item<float>() == 7.f);
}

TEST_CASE("host_callback: wrong results, exceptions and bad arguments are errors naming the callback",
          "[jit][host_callback][errors]") {
  const Tensor x = tensor({1.f, 2.f});
  auto returns = [](std::vector<Tensor> out) { return [out](const std::vector<Tensor>&) { return out; }; };
  CHECK(error_of([&] { host_callback("two", returns({x, x}), {x}, {{Shape{2}, DType::F32}}); }) ==
        "[host_callback 'two'] the function returned 2 tensors, 1 declared");
  CHECK(error_of([&] { host_callback("shape", returns({x}), {x}, {{Shape{3}, DType::F32}}); }) ==
        "[host_callback 'shape'] result 0 is f32 (2,), declared f32 (3,)");
  CHECK(error_of([&] { host_callback("dtype", returns({x}), {x}, {{Shape{2}, DType::F64}}); }) ==
        "[host_callback 'dtype'] result 0 is f32 (2,), declared f64 (2,)");
  CHECK(error_of([&] { host_callback("undef", returns({Tensor()}), {x}, {{Shape{2}, DType::F32}}); }) ==
        "[host_callback 'undef'] result 0 is an undefined tensor (declared f32 (2,))");
  CHECK(error_of([&] {
          host_callback("throws", [](const std::vector<Tensor>&) -> std::vector<Tensor> { throw std::runtime_error("disk full"); },
                        {x}, {});
        }) == "[host_callback 'throws'] the function threw: disk full");
  CHECK(error_of([&] {
          host_callback("throws", [](const std::vector<Tensor>&) -> std::vector<Tensor> { throw 42; }, {x}, {});
        }) == "[host_callback 'throws'] the function threw an exception that is not a std::exception");
  CHECK(error_of([&] { host_callback("", host_cumsum, {x}, {}); }).find("needs a name") != std::string::npos);
  CHECK(error_of([&] { host_callback("empty", HostFunction(), {x}, {}); }) == "[host_callback 'empty'] the function is empty");
  CHECK(error_of([&] { host_callback("undef_in", host_cumsum, {Tensor()}, {}); }) ==
        "[host_callback 'undef_in'] input 0 is an undefined tensor");
  CHECK(error_of([&] { host_callback("neg", host_cumsum, {x}, {{Shape{-1}, DType::F32}}); }) ==
        "[host_callback 'neg'] declared result 0 has a negative dim: shape (-1,)");
}

TEST_CASE("host_callback: a jitted function calls it on every compiled call with that call's values",
          "[jit][host_callback]") {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto f = jit(
      [calls](const Tensor& x) {
        Tensor y = exp(x * 0.5f) - 1.f;  // compiled before the callback
        Tensor c = host_callback(
            "cumsum",
            [calls](const std::vector<Tensor>& in) {
              ++*calls;
              return host_cumsum(in);
            },
            {y}, {{y.shape(), DType::F32}})[0];
        return tanh(c) * 2.f + y;  // and after it
      },
      "with_callback");
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    const Tensor x = randn({64}, seed);
    const Tensor y = exp(x * 0.5f) - 1.f;
    require_close(f(x), tanh(cumsum_reference(y)) * 2.f + y, 1e-5);
  }
  CHECK(calls->load() == 6);
  const CacheStats s = f.stats();
  CHECK(s.misses == 1);
  CHECK(s.hits == 5);
  CHECK(s.eager_calls == 0);
  const std::string loops = f.ir(Stage::Loops);
  CHECK(loops.find("2 kernels; between them the interpreter runs: host callbacks run on the host") != std::string::npos);
}

TEST_CASE("host_callback: several results come from one call of the function", "[jit][host_callback]") {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto min_max = [calls](const Tensor& x) {
    return host_callback(
        "min_max",
        [calls](const std::vector<Tensor>& in) {
          ++*calls;
          const std::vector<float> v = in[0].to_vector<float>();
          const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
          return std::vector<Tensor>{full({}, *lo), full({}, *hi)};
        },
        {x}, {{Shape{}, DType::F32}, {Shape{}, DType::F32}});
  };
  auto f = jit([&](const Tensor& x) {
    std::vector<Tensor> r = min_max(x * 2.f);
    return (x - r[0]) / (r[1] - r[0]);
  });
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const Tensor x = randn({32}, seed);
    const Tensor lo = min(x * 2.f), hi = max(x * 2.f);
    require_close(f(x), (x - lo) / (hi - lo), 1e-5);
  }
  CHECK(calls->load() == 4);
  CHECK(f.stats().hits == 3);
  // The interpreter runs a recorded trace the same way: one call for both results.
  const Tensor x = randn({8}, 9);
  Recorder rec;
  rec.add_inputs({x});
  std::vector<Tensor> r = min_max(x);
  const Trace t = rec.finish({r[1] - r[0]});
  const int before = calls->load();
  require_close(eval_trace(t, {x})[0], max(x) - min(x), 1e-6);
  CHECK(calls->load() == before + 1);
}

TEST_CASE("host_callback: an exception in a compiled call reaches the caller, and the next call works",
          "[jit][host_callback][errors]") {
  auto f = jit([](const Tensor& x) {
    Tensor y = x * 3.f + 1.f;
    Tensor checked = host_callback(
        "positive",
        [](const std::vector<Tensor>& in) {
          for (float v : in[0].to_vector<float>())
            if (v <= 0) throw std::invalid_argument("a value is not positive");
          return std::vector<Tensor>{in[0] * 1.f};
        },
        {y}, {{y.shape(), y.dtype()}})[0];
    return sqrt(checked) + exp(checked * 0.1f);
  });
  const Tensor good = tensor({1.f, 2.f, 3.f}), bad = tensor({1.f, -2.f, 3.f});
  const Tensor want = sqrt(good * 3.f + 1.f) + exp((good * 3.f + 1.f) * 0.1f);
  require_close(f(good), want, 1e-6);
  require_close(f(good), want, 1e-6);
  CHECK(f.stats().hits == 1);
  CHECK(error_of([&] { f(bad); }) == "[host_callback 'positive'] the function threw: a value is not positive");
  require_close(f(good), want, 1e-6);
  CHECK(f.stats().hits == 3);
}

TEST_CASE("host_callback: its gradient function, inside a jitted training step", "[jit][host_callback][autodiff]") {
  auto loss = [](const Tensor& w, const Tensor& x) { return sum(host_cube(w * x) + w * 0.5f); };
  auto step = jit([&](const Tensor& w, const Tensor& x) {
    auto [l, g] = value_and_grad(loss)(w, x);
    return std::make_tuple(l, w - g * 0.01f);
  });
  Tensor w = randn({16}, 3);
  const Tensor x = randn({16}, 4);
  for (int i = 0; i < 5; ++i) {
    const Tensor wx = w * x;
    const Tensor want_loss = sum(wx * wx * wx + w * 0.5f);
    const Tensor want_w = w - (wx * wx * x * 3.f + 0.5f) * 0.01f;
    auto [l, next] = step(w, x);
    require_close(l, want_loss, 1e-5);
    require_close(next, want_w, 1e-5);
    w = next;
  }
  CHECK(step.stats().hits == 4);
  // Without a gradient function no gradient flows through the results.
  auto no_grad = grad([](const Tensor& x) {
    return sum(host_callback("plain", host_cumsum, {x}, {{x.shape(), DType::F32}})[0] + x);
  });
  CHECK(no_grad(tensor({1.f, 2.f})).to_vector<float>() == std::vector<float>{1.f, 1.f});
}

TEST_CASE("host_callback: a trace that calls one is printed, but a trace file cannot run it", "[jit][host_callback]") {
  const Tensor x = tensor({1.f, 2.f});
  Recorder rec;
  rec.add_inputs({x});
  const Tensor y = host_callback("say \"hi\"", host_cumsum, {x}, {{Shape{2}, DType::F32}})[0];
  const Trace t = rec.finish({y * 2.f});
  const std::string text = t.to_mlir();
  INFO(text);
  CHECK(text.find("= ejit.host_call \"say \\22hi\\22\"(%arg0) {index = 0 : i64} : (tensor<2xf32>) -> tensor<2xf32>") !=
        std::string::npos);
  CHECK(error_of([&] { parse_trace(text); })
            .find("the trace calls the host function 'say \"hi\"' (host_callback), which only the program that recorded "
                  "it has") != std::string::npos);
}

TEST_CASE("host_callback: sizes that change call it with each call's shapes", "[jit][host_callback][dynamic]") {
  JitOptions o;
  o.dynamic = true;
  auto f = jit(
      [](const Tensor& x) {
        Tensor y = x * 2.f + 1.f;
        return host_callback("cumsum", host_cumsum, {y}, {{y.shape(), DType::F32}})[0] * 0.5f - 1.f;
      },
      "sizes", o);
  for (int64_t n = 20; n < 26; ++n) {
    const Tensor x = randn({n}, static_cast<uint64_t>(n));
    require_close(f(x), cumsum_reference(x * 2.f + 1.f) * 0.5f - 1.f, 1e-5);
  }
}

TEST_CASE("host_callback: a callback without results, or with unused ones, runs on every compiled call",
          "[jit][host_callback]") {
  auto logged = std::make_shared<std::vector<float>>();
  auto unused = std::make_shared<std::atomic<int>>(0);
  auto f = jit([logged, unused](const Tensor& x) {
    Tensor y = exp(x) * 2.f + 1.f;
    const std::vector<Tensor> none = host_callback(
        "log",
        [logged](const std::vector<Tensor>& in) {
          logged->push_back(in[0].to_vector<float>()[0]);
          return std::vector<Tensor>{};
        },
        {y}, {});
    CHECK(none.empty());
    host_callback("unused", [unused](const std::vector<Tensor>& in) {
      ++*unused;
      return std::vector<Tensor>{in[0] * 1.f};
    }, {y}, {{y.shape(), y.dtype()}});
    return y * 3.f - 1.f;
  });
  for (int i = 0; i < 4; ++i) f(full({3}, static_cast<double>(i)));
  CHECK(f.stats().hits == 3);
  REQUIRE(logged->size() == 4);
  for (int i = 0; i < 4; ++i) CHECK(std::fabs((*logged)[static_cast<size_t>(i)] - (std::exp(static_cast<float>(i)) * 2.f + 1.f)) < 1e-4f);
  CHECK(unused->load() == 4);
}

TEST_CASE("host_callback: a host read after a callback keeps the function eager, so it never runs twice",
          "[jit][host_callback][guards]") {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto f = jit([calls](const Tensor& x) {
    Tensor c = host_callback("count", [calls](const std::vector<Tensor>& in) {
      ++*calls;
      return std::vector<Tensor>{in[0] + 1.f};
    }, {x}, {{x.shape(), x.dtype()}})[0];
    return (sum(c) > 0.f).item<bool>() ? c * 2.f : -c;
  });
  for (int i = 0; i < 6; ++i) f(full({2}, i % 2 ? 1.0 : -5.0));
  CHECK(calls->load() == 6);
  CHECK(f.stats().eager_calls + f.stats().misses == 6);
  REQUIRE_FALSE(f.misses().empty());
}

TEST_CASE("host_callback: after a take that fails it does not run, as eagerly, even when it does not depend on the take",
          "[jit][host_callback][errors][indexing]") {
  // The callback reads only x, so the partition could run it before the kernel that holds
  // the take; eagerly the take fails first and the callback never runs.
  auto calls = std::make_shared<std::atomic<int>>(0);
  const Tensor table = randn({10, 4}, 1);
  auto fn = [calls, table](const Tensor& x, const Tensor& ids) {
    Tensor rows = take(table * 2.f, ids, 0) + 1.f;
    Tensor seen = host_callback("count", [calls](const std::vector<Tensor>& in) {
      ++*calls;
      return std::vector<Tensor>{in[0] * 1.f};
    }, {x}, {{x.shape(), x.dtype()}})[0];
    return rows.sum() + matmul(seen, seen).sum();
  };
  // Indices a kernel computes (checked after it runs) and indices given (checked before).
  auto computed = [fn](const Tensor& x, const Tensor& ids) { return fn(x, cast(floor(ids * 10.f), DType::I64)); };
  const Tensor x = randn({3, 3}, 2);
  const Tensor good_ids = from_vector<int64_t>({1, 2}, {2}), bad_ids = from_vector<int64_t>({1, 40}, {2});
  const Tensor good_f = tensor({0.15f, 0.25f}), bad_f = tensor({0.15f, 4.f});
  using Fn = std::function<Tensor(const Tensor&, const Tensor&)>;
  for (auto [f, good, bad] : {std::tuple{Fn(fn), good_ids, bad_ids}, std::tuple{Fn(computed), good_f, bad_f}}) {
    auto j = jit(f, "take then callback");
    j(x, good);
    require_close(j(x, good), f(x, good), 1e-5);
    REQUIRE(j.stats().hits == 1);
    const int before = calls->load();
    const std::string want = error_of([&] { f(x, bad); });
    INFO(want);
    REQUIRE(want.find("[take] index") != std::string::npos);
    REQUIRE(calls->load() == before);
    REQUIRE(error_of([&] { j(x, bad); }) == want);
    CHECK(calls->load() == before);
    require_close(j(x, good), f(x, good), 1e-5);
  }
}
