// GradientTape and the gradient rules against finite differences (f64).
#include "grad_check.h"

using namespace ejit;
using ejit::test::check_gradients;
using ejit::test::check_values;

namespace {

Tensor r64(const Shape& s, uint64_t seed, double lo = -1.0, double hi = 1.0) { return rand(s, seed, DType::F64, lo, hi); }

/// Inputs inside each op's smooth domain: positive for log/sqrt/pow, away from kinks.
Tensor unary_input(UnaryOp op) {
  switch (op) {
    case UnaryOp::Log: case UnaryOp::Sqrt: case UnaryOp::Rsqrt: return r64({2, 5}, 3, 0.2, 3.0);
    case UnaryOp::Log1p: return r64({2, 5}, 3, -0.5, 3.0);
    default: return r64({2, 5}, 3, -2.0, 2.0);
  }
}

}  // namespace

TEST_CASE("every differentiable unary op of the table matches finite differences", "[autodiff][table]") {
  for (int i = 0; i < kNumUnaryOps; ++i) {
    auto op = static_cast<UnaryOp>(i);
    if (kind(op) == UnaryKind::Predicate) continue;  // bool results: no gradient
    INFO("op " << name(op));
    check_gradients([op](const std::vector<Tensor>& in) { return unary(op, in[0]); }, {unary_input(op)});
  }
}

TEST_CASE("every differentiable binary op of the table matches finite differences, with broadcasting",
          "[autodiff][table]") {
  for (int i = 0; i < kNumBinaryOps; ++i) {
    auto op = static_cast<BinaryOp>(i);
    BinaryKind k = kind(op);
    if (k == BinaryKind::Compare || k == BinaryKind::Logical) continue;
    INFO("op " << name(op));
    // Positive operands keep pow smooth; distinct values keep maximum/minimum away from ties.
    check_gradients([op](const std::vector<Tensor>& in) { return binary(op, in[0], in[1]); },
                    {r64({2, 3}, 5, 0.5, 2.0), r64({2, 3}, 6, 0.6, 2.1)});
    check_gradients([op](const std::vector<Tensor>& in) { return binary(op, in[0], in[1]); },
                    {r64({3, 1, 4}, 7, 0.5, 2.0), r64({2, 4}, 8, 0.6, 2.1)});
    check_gradients([op](const std::vector<Tensor>& in) { return binary(op, in[0], in[1]); },
                    {r64({}, 9, 0.5, 2.0), r64({2, 3}, 10, 0.6, 2.1)});
  }
}

TEST_CASE("predicates and comparisons stop gradients", "[autodiff]") {
  Tensor x = r64({4}, 1);
  GradientTape tape;
  tape.watch(x);
  Tensor y = cast(x > 0.0, DType::F64) * 3.0 + cast(isnan(x), DType::F64);
  check_values(tape.gradient(y, {x})[0], {0, 0, 0, 0});
}

TEST_CASE("gradient conventions at kinks and ties", "[autodiff]") {
  Tensor x = tensor({-1.0, 0.0, 2.0});
  SECTION("relu and abs have gradient 0 at 0") {
    check_values(grad([](const Tensor& t) { return sum(relu(t)); })(x), {0, 0, 1});
    check_values(grad([](const Tensor& t) { return sum(abs(t)); })(x), {-1, 0, 1});
  }
  SECTION("maximum splits ties half and half") {
    Tensor a = tensor({1.0, 2.0, 3.0}), b = tensor({1.0, 5.0, 0.0});
    auto g = grad([](const Tensor& p, const Tensor& q) { return sum(maximum(p, q)); }, {0, 1})(a, b);
    check_values(g[0], {0.5, 0, 1});
    check_values(g[1], {0.5, 1, 0});
  }
  SECTION("max reductions share the gradient among tied elements") {
    Tensor t = tensor({1.0, 3.0, 3.0, 2.0}, {2, 2});
    check_values(grad([](const Tensor& v) { return max(v); })(t), {0, 0.5, 0.5, 0});
    check_values(grad([](const Tensor& v) { return sum(min(v, {1})); })(t), {1, 0, 0, 1});
  }
  SECTION("floor, round and sign have zero gradient") {
    check_values(grad([](const Tensor& t) { return sum(floor(t) + round(t) + sign(t)); })(tensor({0.3, 1.7})), {0, 0});
  }
}

TEST_CASE("reductions over several axes match finite differences", "[autodiff]") {
  Tensor x = r64({2, 3, 4}, 11, 0.5, 1.5);
  check_gradients([](auto& in) { return sum(in[0], {0, 2}); }, {x});
  check_gradients([](auto& in) { return sum(in[0], {1}, true); }, {x});
  check_gradients([](auto& in) { return mean(in[0], {0, 1}); }, {x});
  check_gradients([](auto& in) { return prod(in[0], {2}); }, {x});
  check_gradients([](auto& in) { return max(in[0], {1, 2}, true); }, {x});
  check_gradients([](auto& in) { return min(in[0]); }, {x});
  check_gradients([](auto& in) { return var(in[0], {0, 2}, 1); }, {x});
  check_gradients([](auto& in) { return stddev(in[0], {2}); }, {x});
}

TEST_CASE("matmul gradients: 2-D, batched with broadcast batch dims, vectors", "[autodiff]") {
  auto mm = [](auto& in) { return matmul(in[0], in[1]); };
  check_gradients(mm, {r64({3, 4}, 1), r64({4, 2}, 2)});
  check_gradients(mm, {r64({2, 1, 3, 4}, 3), r64({5, 4, 2}, 4)});
  check_gradients(mm, {r64({4}, 5), r64({2, 4, 3}, 6)});
  check_gradients(mm, {r64({3, 4}, 7), r64({4}, 8)});
  check_gradients(mm, {r64({4}, 9), r64({4}, 10)});
}

TEST_CASE("shape and indexing ops match finite differences", "[autodiff]") {
  Tensor x = r64({3, 4, 5}, 21);
  check_gradients([](auto& in) { return reshape(in[0], {6, -1}); }, {x});
  check_gradients([](auto& in) { return permute(in[0], {2, 0, 1}); }, {x});
  check_gradients([](auto& in) { return transpose(in[0], 0, 2); }, {x});
  check_gradients([](auto& in) { return broadcast_to(in[0], {2, 3, 4, 5}); }, {x});
  check_gradients([](auto& in) { return broadcast_to(in[0], {3, 4, 5}); }, {r64({4, 1}, 22)});
  check_gradients([](auto& in) { return squeeze(unsqueeze(in[0], 1), {1}); }, {x});
  check_gradients([](auto& in) { return slice(in[0], 1, 1, 3); }, {x});
  check_gradients([](auto& in) { return slice(in[0], 2, 0, std::nullopt, 2); }, {x});
  check_gradients([](auto& in) { return slice(in[0], 2, 1, 5, 3); }, {x});
  check_gradients([](auto& in) { return slice(in[0], 2, std::nullopt, std::nullopt, -1); }, {x});
  check_gradients([](auto& in) { return slice(in[0], 1, 3, 0, -2); }, {x});
  check_gradients([](auto& in) { return slice(in[0], 0, 1, 1); }, {x});  // empty slice
  check_gradients([](auto& in) { return concat({in[0], in[1], in[0]}, 1); }, {x, r64({3, 2, 5}, 23)});
  // Six operands: more than an op keeps inline (detail::TensorList), so the tape's copy spills.
  check_gradients([](auto& in) { return concat({in[0], in[1], in[0], in[1] * 2.0, in[0], in[1]}, 1); },
                  {x, r64({3, 2, 5}, 25)});
  check_gradients([](auto& in) { return stack({in[0], in[1]}, 2); }, {x, r64({3, 4, 5}, 24)});
  check_gradients([](auto& in) { return pad(in[0], {{1, 0}, {0, 2}, {2, 1}}, 7.0); }, {x});
  Tensor idx = tensor({2, 0, -1, 2}, {2, 2});
  check_gradients([idx](auto& in) { return take(in[0], idx, 1); }, {x});
  check_gradients([idx](auto& in) { return take(in[0], idx, 0); }, {x});
  // index_add (take's gradient, a host callback with a gradient of its own), repeats included.
  check_gradients([idx](auto& in) { return index_add(in[0], idx, in[1], 1); }, {x, r64(take(x, idx, 1).shape(), 31)});
  check_gradients([idx](auto& in) { return index_add(in[0] * 2.0, idx, in[1] * in[1], 0); },
                  {x, r64(take(x, idx, 0).shape(), 32)});
  Tensor gidx = tensor({0, 4, 4, 1, -1, 2}, {3, 1, 2});
  check_gradients([gidx](auto& in) { return gather(in[0], gidx, 2); }, {x});  // two picks a slice: scatter_add
  Tensor one = tensor({4, 0, -1}, {3, 1, 1});
  check_gradients([one](auto& in) { return gather(in[0], one, 2); }, {x});  // one pick a slice: the one-hot product
  Tensor wide = tensor({0, 4, 4, 1, -1, 2, 3, 3, 0, 1, 2, 2, 4, 0, 1, 1, 2, 3, 0, 0, 4, 4, 3, 2}, {3, 4, 2});
  check_gradients([wide](auto& in) { return gather(in[0], wide, 2); }, {r64({3, 1, 5}, 33)});  // x broadcast on dim 1
  check_gradients([wide](auto& in) { return scatter_add(in[0], wide, in[1], 2); }, {r64({3, 1, 5}, 35), r64({3, 4, 2}, 36)});
  check_gradients([gidx](auto& in) { return scatter_add(in[0] * 2.0, gidx, in[1] * in[1], 2); },
                  {x, r64(gather(x, gidx, 2).shape(), 34)});
  check_gradients([](auto& in) { return where(in[0] > 0.0, in[0] * 2.0, in[1]); }, {x, r64({4, 5}, 25)});
  check_gradients([](auto& in) { return cast(cast(in[0], DType::F32), DType::F64); }, {x}, 1e-4, 1e-3);
}

TEST_CASE("composites match finite differences", "[autodiff]") {
  Tensor x = r64({3, 5}, 31, -2.0, 2.0);
  check_gradients([](auto& in) { return softmax(in[0]); }, {x});
  check_gradients([](auto& in) { return softmax(in[0], 0); }, {x});
  check_gradients([](auto& in) { return log_softmax(in[0]); }, {x});
  check_gradients([](auto& in) { return layer_norm(in[0], in[1], in[2]); }, {x, r64({5}, 32), r64({5}, 33)});
  check_gradients([](auto& in) { return layer_norm(in[0]); }, {r64({2, 3, 4}, 34)});
  Tensor labels = tensor({1, 4, 0});
  check_gradients([labels](auto& in) { return cross_entropy(in[0], labels); }, {x});
  check_gradients([labels](auto& in) { return cross_entropy(in[0], labels, Reduction::None); }, {x});
  check_gradients([](auto& in) { return cross_entropy(in[0], softmax(in[1])); }, {x, r64({3, 5}, 35)});
}

TEST_CASE("higher-order gradients: grad(grad(f)) and nested tapes", "[autodiff]") {
  Tensor x = tensor({-1.5, 0.5, 2.0});
  auto cube = [](const Tensor& t) { return sum(t * t * t); };
  // grad(f) needs a one-element result, so on a scalar transforms compose directly ...
  check_values(grad(grad(cube))(scalar(2.0)), {12.0});  // d2/dx2 x^3 = 6x
  check_values(grad(grad(grad(cube)))(scalar(2.0)), {6.0});
  auto tanh_fn = [](const Tensor& t) { return sum(tanh(t)); };
  check_values(grad(grad(tanh_fn))(scalar(0.7)), {-2 * std::tanh(0.7) * (1 - std::tanh(0.7) * std::tanh(0.7))},
               1e-12, 1e-12);
  // ... and elementwise functions of a vector sum the first gradient (its Jacobian is diagonal).
  auto d2 = [](auto f) { return grad([f](const Tensor& t) { return sum(grad(f)(t)); }); };
  check_values(d2(cube)(x), {-9.0, 3.0, 12.0});
  std::vector<double> want;
  for (double v : x.to_vector<double>()) want.push_back(-2 * std::tanh(v) * (1 - std::tanh(v) * std::tanh(v)));
  check_values(d2(tanh_fn)(x), want, 1e-12, 1e-12);

  GradientTape outer;
  outer.watch(x);
  Tensor dy;
  {
    GradientTape inner;
    inner.watch(x);
    Tensor y = sum(x * x * x);
    dy = inner.gradient(y, {x})[0];
  }
  check_values(outer.gradient(sum(dy), {x})[0], {-9.0, 3.0, 12.0});
}

TEST_CASE("value_and_grad returns the value and gradients for chosen arguments", "[autodiff]") {
  auto f = [](const Tensor& w, const Tensor& b, const Tensor& x) { return sum(square(matmul(x, w) + b)); };
  Tensor w = r64({3, 2}, 41), b = r64({2}, 42), x = r64({4, 3}, 43);
  auto [value, grads] = value_and_grad(f, {1, 0})(w, b, x);
  CHECK(value.item<double>() == f(w, b, x).item<double>());
  REQUIRE(grads.size() == 2);
  CHECK(grads[0].shape() == b.shape());
  CHECK(grads[1].shape() == w.shape());
  Tensor r = matmul(x, w) + b;
  check_values(grads[0], sum(r * 2.0, {0}).to_vector<double>(), 1e-12, 1e-12);
  auto [v1, g1] = value_and_grad(f)(w, b, x);
  check_values(g1, grads[1].to_vector<double>(), 0, 0);
  CHECK_THROWS_WITH(grad(f, {3})(w, b, x), Catch::Contains("[grad] argument number 3 is out of range"));
  CHECK_THROWS_WITH(grad([](const Tensor& t) { return t * 2.0; })(x),
                    Catch::Contains("[grad] the function must return one element") && Catch::Contains("(4,3)"));
}

TEST_CASE("custom_gradient: a stable log1pexp and gradient clipping", "[autodiff]") {
  auto log1pexp = custom_gradient([](const Tensor& x) { return log1p(exp(x)); },
                                  [](const Tensor& dy, const Tensor&, const Tensor& x) { return dy * sigmoid(x); });
  Tensor x = tensor({0.0f, 10.0f, 100.0f});
  // Differentiating through exp overflows at 100 (inf / inf); the custom rule does not.
  auto naive = grad([](const Tensor& t) { return sum(log1p(exp(t))); })(x).to_vector<float>();
  CHECK(std::isnan(naive[2]));
  check_values(grad([&](const Tensor& t) { return sum(log1pexp(t)); })(x), {0.5, 0.9999546, 1.0}, 1e-6, 1e-6);

  auto clip_gradient = custom_gradient([](const Tensor& t) { return t; },
                                       [](const Tensor& dy, const Tensor&, const Tensor&) {
                                         return minimum(maximum(dy, -1.0), 1.0);
                                       });
  Tensor w = tensor({1.0, -2.0, 3.0});
  check_values(clip_gradient(w), {1.0, -2.0, 3.0});
  check_values(grad([&](const Tensor& t) { return sum(clip_gradient(t) * 5.0); })(w), {1, 1, 1});
  check_values(grad([&](const Tensor& t) { return sum(clip_gradient(t) * -0.5); })(w), {-0.5, -0.5, -0.5});

  SECTION("second order through a custom gradient uses its backward's ops") {
    auto sq = custom_gradient([](const Tensor& t) { return t * t; },
                              [](const Tensor& dy, const Tensor&, const Tensor& t) { return dy * t * 2.0; });
    check_values(grad([&](const Tensor& t) { return sum(grad([&](const Tensor& u) { return sum(sq(u)); })(t)); })(w),
                 {2, 2, 2});
  }
  SECTION("two inputs, and wrong backward results are errors") {
    auto mul2 = custom_gradient([](const Tensor& a, const Tensor& b) { return a * b; },
                                [](const Tensor& dy, const Tensor&, const Tensor& a, const Tensor& b) {
                                  return std::vector<Tensor>{dy * b, dy * a};
                                });
    auto g = grad([&](const Tensor& a, const Tensor& b) { return sum(mul2(a, b)); }, {0, 1})(w, w * 3.0);
    check_values(g[0], {3, -6, 9});
    check_values(g[1], {1, -2, 3});
    auto bad = custom_gradient([](const Tensor& a) { return a * 2.0; },
                               [](const Tensor& dy, const Tensor&, const Tensor&) { return sum(dy); });
    CHECK_THROWS_WITH(grad([&](const Tensor& t) { return sum(bad(t)); })(w),
                      Catch::Contains("[gradient] a custom gradient returned shape () for input 0 of shape (3,)"));
  }
}

TEST_CASE("persistent tapes, the reuse error, stop_gradient, unconnected sources", "[autodiff]") {
  Tensor x = tensor({1.0, 2.0}), z = tensor({5.0, 6.0});
  SECTION("a non-persistent tape computes gradients once") {
    GradientTape tape;
    tape.watch(x);
    Tensor y = sum(x * x);
    check_values(tape.gradient(y, {x})[0], {2, 4});
    CHECK_THROWS_WITH(tape.gradient(y, {x}), Catch::Contains("[gradient] this non-persistent GradientTape already"));
    check_values(exp(x), {std::exp(1.0), std::exp(2.0)});  // the process goes on
  }
  SECTION("a persistent tape many times, for different targets") {
    GradientTape tape(/*persistent=*/true);
    tape.watch(x);
    Tensor y = x * x, w = sum(y * 3.0);
    check_values(tape.gradient(sum(y), {x})[0], {2, 4});
    check_values(tape.gradient(w, {x, y})[0], {6, 12});
    check_values(tape.gradient(w, {y})[0], {3, 3});
    check_values(tape.gradient(y, {x}, tensor({1.0, 10.0}))[0], {2, 40});
  }
  SECTION("stop_gradient blocks its path") {
    auto g = grad([](const Tensor& t) { return sum(t * stop_gradient(t)); })(x);
    check_values(g, {1, 2});
    check_values(stop_gradient(x), {1, 2});
  }
  SECTION("sources the target does not depend on get zeros; so does an unwatched target") {
    GradientTape tape(true);
    tape.watch(x);
    Tensor y = sum(x * 2.0);
    auto g = tape.gradient(y, {x, z});
    check_values(g[1], {0, 0});
    check_values(tape.gradient(sum(z), {x})[0], {0, 0});
  }
  SECTION("only float tensors have gradients") {
    GradientTape tape;
    CHECK_THROWS_WITH(tape.watch(tensor({1, 2})), Catch::Contains("[watch] a tensor of dtype i32 (shape (2,))"));
    tape.watch(x);
    Tensor y = sum(x);
    CHECK_THROWS_WITH(tape.gradient(y, {tensor({1, 2})}), Catch::Contains("[gradient] source 0 has dtype i32"));
    CHECK_THROWS_WITH(tape.gradient(cast(y, DType::I64), {x}), Catch::Contains("[gradient] the target has dtype i64"));
    CHECK_THROWS_WITH(tape.gradient(y, {x}, ones({3}, DType::F64)),
                      Catch::Contains("[gradient] output_gradient has shape (3,), the target ()"));
    check_values(tape.gradient(y, {x})[0], {1, 1});  // the failed calls did not spend the tape
  }
  SECTION("integer intermediates stop the gradient") {
    check_values(grad([](const Tensor& t) { return sum(cast(cast(t, DType::I32), DType::F64) + t); })(x), {1, 1});
  }
  SECTION("stop_recording pauses a tape") {
    GradientTape tape;
    tape.watch(x);
    Tensor y = x * 2.0;
    {
      auto pause = tape.stop_recording();
      y = y * 3.0;
    }
    check_values(tape.gradient(sum(y), {x})[0], {0, 0});
  }
}

TEST_CASE("trainable variables are watched when read, others are not", "[autodiff]") {
  Variable w(tensor({1.0, 2.0}), "w"), frozen(tensor({3.0, 4.0}), "frozen", /*trainable=*/false);
  GradientTape tape(true);
  Tensor y = sum(w * frozen);
  auto g = tape.gradient(y, {w, frozen});
  check_values(g[0], {3, 4});
  check_values(g[1], {0, 0});
  std::vector<Variable> vars{w};
  check_values(tape.gradient(y, vars)[0], {3, 4});

  GradientTape manual(false, /*watch_accessed_variables=*/false);
  Tensor y2 = sum(w * w);
  check_values(manual.gradient(y2, {w})[0], {0, 0});

  w.assign_sub(tensor({0.5, 0.5}));
  check_values(w.value(), {0.5, 1.5});
  CHECK_THROWS_WITH(w.assign(tensor({1.0f, 2.0f})), Catch::Contains("[assign] variable 'w' holds f64(2,), the new value is f32(2,)"));
  CHECK_THROWS_WITH(Variable().value(), Catch::Contains("[variable] use of an undefined variable"));
}

TEST_CASE("tape recording costs one record per op that depends on a watched tensor", "[autodiff]") {
  Tensor x = tensor({1.0, 2.0}), c = tensor({3.0, 4.0});
  GradientTape tape;
  tape.watch(x);
  Tensor unrelated = c * 2.0 + 1.0;  // not recorded
  Tensor y = sum(x * unrelated);     // mul, sum
  CHECK(tape.recorded_ops() == 2);
  check_values(tape.gradient(y, {x})[0], {7, 9});
}

TEST_CASE("autodiff entry points reject undefined tensors with a clear error", "[autodiff][errors]") {
  CHECK_THROWS_WITH(stop_gradient(Tensor()), Catch::Contains("[stop_gradient] an undefined tensor"));
  CHECK_THROWS_WITH(Variable(Tensor(), "w"), Catch::Contains("[variable] 'w': the initial value is an undefined tensor"));
  Variable w(tensor({1.0}), "w");
  CHECK_THROWS_WITH(w.assign(Tensor()), Catch::Contains("[assign] variable 'w': the new value is an undefined tensor"));
  GradientTape tape;
  CHECK_THROWS_WITH(tape.watch(Tensor()), Catch::Contains("[watch] an undefined tensor"));
  CHECK_THROWS_WITH(tape.gradient(Tensor(), {w}), Catch::Contains("[gradient] the target is an undefined tensor"));
  auto broken = custom_gradient([](const Tensor&) { return Tensor(); },
                                [](const Tensor& dy, const Tensor&, const Tensor&) { return dy; });
  CHECK_THROWS_WITH(broken(tensor({1.0})),
                    Catch::Contains("[custom_gradient] the forward function returned an undefined tensor"));
  check_values(w.value(), {1.0});  // unchanged, and the thread goes on
}
