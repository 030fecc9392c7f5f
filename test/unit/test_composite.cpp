// Unit tests of the composite ops: softmax, log_softmax, layer_norm, one_hot, cross_entropy,
// and the two-pass var/stddev reductions.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "ejit/ejit.h"

using namespace ejit;

namespace {

using F32s = std::vector<float>;

/// Elementwise |got - want| <= tol + rel * |want|, reporting the index that fails.
void require_close(const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-6,
                   double rel = 1e-5) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", want " << want[i]);
    CHECK(std::isfinite(got[i]));
    CHECK(std::abs(double(got[i]) - want[i]) <= tol + rel * std::abs(want[i]));
  }
}

F32s fv(const Tensor& t) { return t.to_vector<float>(); }

}  // namespace

// ---------------------------------------------------------------- softmax / log_softmax

TEST_CASE("composite: softmax and log_softmax of small inputs", "[composite]") {
  Tensor x = tensor({1.f, 2.f, 3.f});
  Tensor s = softmax(x);
  CHECK(s.dtype() == DType::F32);
  CHECK(s.shape() == Shape{3});
  require_close(fv(s), {0.09003057317038043, 0.24472847105479759, 0.6652409557748217});
  require_close(fv(log_softmax(x)), {-2.4076059644443806, -1.4076059644443806, -0.4076059644443806});
  // Shift invariance.
  require_close(fv(softmax(x + 100.f)), {0.09003057317038043, 0.24472847105479759, 0.6652409557748217});
  // Equal inputs give a uniform distribution.
  require_close(fv(softmax(tensor({5.f, 5.f, 5.f, 5.f}))), {0.25, 0.25, 0.25, 0.25});
  // Integer inputs become f32; f64 stays f64.
  Tensor si = softmax(tensor({1, 2, 3}));
  CHECK(si.dtype() == DType::F32);
  require_close(fv(si), {0.09003057317038043, 0.24472847105479759, 0.6652409557748217});
  Tensor sd = softmax(tensor({1.0, 2.0, 3.0}));
  CHECK(sd.dtype() == DType::F64);
  CHECK(sd.to_vector<double>()[2] == Approx(0.6652409557748217).epsilon(1e-12));
  CHECK(log_softmax(tensor({1.0, 2.0, 3.0})).to_vector<double>()[0] == Approx(-2.4076059644443806).epsilon(1e-12));
  // The input is untouched.
  CHECK(fv(x) == F32s{1, 2, 3});
}

TEST_CASE("composite: softmax rows sum to 1 and log_softmax is its log", "[composite]") {
  Tensor x = randn({5, 7}, 1234) * 3.f;
  Tensor s = softmax(x);  // axis -1
  REQUIRE(s.shape() == Shape{5, 7});
  require_close(fv(sum(s, {-1})), {1, 1, 1, 1, 1}, 1e-6, 1e-6);
  for (float v : fv(s)) {
    CHECK(v > 0.f);
    CHECK(v < 1.f);
  }
  Tensor ls = log_softmax(x, 1);
  std::vector<double> want;
  for (float v : fv(s)) want.push_back(std::log(double(v)));
  require_close(fv(ls), want, 1e-5, 1e-5);
  // softmax(x, 1) is the same as the default axis.
  CHECK(fv(softmax(x, 1)) == fv(s));
}

TEST_CASE("composite: softmax along axis 0", "[composite]") {
  Tensor x = tensor({1.f, 2.f, 3.f, 1.f, 4.f, 0.f}, {2, 3});
  Tensor s = softmax(x, 0);
  REQUIRE(s.shape() == Shape{2, 3});
  // Column j is softmax([x0j, x1j]) = [sigmoid(x0j - x1j), sigmoid(x1j - x0j)].
  require_close(fv(s), {0.5, 0.11920292202211755, 0.9525741268224334,  //
                        0.5, 0.8807970779778824, 0.04742587317756678});
  require_close(fv(sum(s, {0})), {1, 1, 1});
  require_close(fv(softmax(x, -2)), {0.5, 0.11920292202211755, 0.9525741268224334,  //
                                     0.5, 0.8807970779778824, 0.04742587317756678});
  Tensor ls = log_softmax(x, 0);
  require_close(fv(ls), {std::log(0.5), std::log(0.11920292202211755), std::log(0.9525741268224334),
                         std::log(0.5), std::log(0.8807970779778824), std::log(0.04742587317756678)},
                1e-6, 1e-5);
  // Along a middle axis of a 3-D tensor the result sums to 1 over that axis.
  Tensor c = randn({2, 3, 4}, 7);
  require_close(fv(sum(softmax(c, 1), {1})), std::vector<double>(8, 1.0));
}

TEST_CASE("composite: softmax and log_softmax are stable for large inputs", "[composite]") {
  require_close(fv(softmax(tensor({1000.f, 1000.f}))), {0.5, 0.5});
  require_close(fv(softmax(tensor({-1000.f, -1000.f, -1000.f}))), {1.0 / 3, 1.0 / 3, 1.0 / 3});
  require_close(fv(softmax(tensor({1000.f, 0.f}))), {1.0, 0.0});
  require_close(fv(softmax(tensor({-1000.f, 1000.f}))), {0.0, 1.0});
  require_close(fv(softmax(tensor({1000.f, 999.f}))), {0.7310585786300049, 0.2689414213699951});
  require_close(fv(log_softmax(tensor({1000.f, 0.f}))), {0.0, -1000.0});
  require_close(fv(log_softmax(tensor({-1000.f, 1000.f}))), {-2000.0, 0.0});
  require_close(fv(log_softmax(tensor({1000.f, 1000.f}))), {-std::log(2.0), -std::log(2.0)});
  require_close(fv(log_softmax(tensor({-1000.f, -1000.f}))), {-std::log(2.0), -std::log(2.0)});
  // Along axis 0 as well.
  require_close(fv(softmax(tensor({1000.f, -1000.f, 0.f, 0.f}, {2, 2}), 0)), {1.0, 0.0, 0.0, 1.0});
}

// ---------------------------------------------------------------- layer_norm

TEST_CASE("composite: layer_norm gives mean 0 and biased variance 1 per row", "[composite]") {
  Tensor x = randn({4, 16}, 99) * 5.f + 3.f;
  Tensor y = layer_norm(x);
  REQUIRE(y.shape() == Shape{4, 16});
  CHECK(y.dtype() == DType::F32);
  require_close(fv(mean(y, {-1})), {0, 0, 0, 0}, 1e-5, 0);
  require_close(fv(var(y, {-1}, 0)), {1, 1, 1, 1}, 1e-4, 0);
  require_close(fv(mean(square(y), {-1})), {1, 1, 1, 1}, 1e-4, 0);
}

TEST_CASE("composite: layer_norm hand values, gamma and beta", "[composite]") {
  // Row [1,2,3,4]: mean 2.5, biased var 1.25.
  Tensor x = tensor({1.f, 2.f, 3.f, 4.f, 10.f, 10.f, 20.f, 20.f}, {2, 4});
  const double d0 = std::sqrt(1.25 + 1e-5), d1 = std::sqrt(25.0 + 1e-5);
  require_close(fv(layer_norm(x)), {-1.5 / d0, -0.5 / d0, 0.5 / d0, 1.5 / d0, -5 / d1, -5 / d1, 5 / d1, 5 / d1});

  Tensor gamma = tensor({1.f, 2.f, 3.f, 4.f});
  Tensor beta = tensor({0.5f, 0.f, -0.5f, 1.f});
  require_close(fv(layer_norm(x, gamma, beta)),
                {-1.5 / d0 + 0.5, -1.0 / d0, 1.5 / d0 - 0.5, 6 / d0 + 1, -5 / d1 + 0.5, -10 / d1, 15 / d1 - 0.5,
                 20 / d1 + 1});
  require_close(fv(layer_norm(x, gamma)), {-1.5 / d0, -1.0 / d0, 1.5 / d0, 6 / d0, -5 / d1, -10 / d1, 15 / d1, 20 / d1});
  require_close(fv(layer_norm(x, Tensor(), beta)),
                {-1.5 / d0 + 0.5, -0.5 / d0, 0.5 / d0 - 0.5, 1.5 / d0 + 1, -5 / d1 + 0.5, -5 / d1, 5 / d1 - 0.5,
                 5 / d1 + 1});
  // Inputs untouched.
  CHECK(fv(gamma) == F32s{1, 2, 3, 4});
  CHECK(fv(x) == F32s{1, 2, 3, 4, 10, 10, 20, 20});
}

TEST_CASE("composite: layer_norm puts eps inside the sqrt", "[composite]") {
  // Row [0,2]: mean 1, biased var 1. With eps = 3: (x - 1) / sqrt(1 + 3) = [-0.5, 0.5]
  // (eps outside the sqrt would give [-0.25, 0.25]).
  require_close(fv(layer_norm(tensor({0.f, 2.f}, {1, 2}), {}, {}, 3.0)), {-0.5, 0.5});
  // A constant row has variance 0: the output is exactly 0, not NaN.
  Tensor c = layer_norm(tensor({5.f, 5.f, 5.f, 5.f}, {1, 4}));
  for (float v : fv(c)) CHECK(v == 0.f);
  // ... and then beta alone.
  require_close(fv(layer_norm(tensor({-2.f, -2.f, -2.f}), tensor({3.f, 3.f, 3.f}), tensor({1.f, 2.f, 3.f}))),
                {1, 2, 3});
}

TEST_CASE("composite: layer_norm over the last two dims", "[composite]") {
  Tensor x = tensor({1.f, 2.f, 3.f, 4.f, 0.f, 0.f, 0.f, 8.f}, {2, 2, 2});
  Tensor y = layer_norm(x, {}, {}, 1e-5, 2);
  REQUIRE(y.shape() == Shape{2, 2, 2});
  const double d0 = std::sqrt(1.25 + 1e-5), d1 = std::sqrt(12.0 + 1e-5);  // 2nd block: mean 2, var 12
  require_close(fv(y), {-1.5 / d0, -0.5 / d0, 0.5 / d0, 1.5 / d0, -2 / d1, -2 / d1, -2 / d1, 6 / d1});
  Tensor g = tensor({1.f, 1.f, 2.f, 2.f}, {2, 2});
  require_close(fv(layer_norm(x, g, {}, 1e-5, 2)),
                {-1.5 / d0, -0.5 / d0, 1.0 / d0, 3.0 / d0, -2 / d1, -2 / d1, -4 / d1, 12 / d1});
  // Integer input becomes f32.
  CHECK(layer_norm(tensor({1, 2, 3})).dtype() == DType::F32);
}

// ---------------------------------------------------------------- one_hot

TEST_CASE("composite: one_hot", "[composite]") {
  Tensor o = one_hot(from_vector<int64_t>({0, 2, 1}, {3}), 3);
  CHECK(o.shape() == Shape{3, 3});
  CHECK(o.dtype() == DType::F32);
  CHECK(fv(o) == F32s{1, 0, 0, 0, 0, 1, 0, 1, 0});

  Tensor o2 = one_hot(tensor({3, 0, 1, 3}, {2, 2}), 4, DType::I32);
  CHECK(o2.shape() == Shape{2, 2, 4});
  CHECK(o2.dtype() == DType::I32);
  CHECK(o2.to_vector<int32_t>() == std::vector<int32_t>{0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1});

  Tensor ob = one_hot(tensor({1}), 2, DType::Bool);
  CHECK(ob.dtype() == DType::Bool);
  CHECK(ob.to_vector<bool>() == std::vector<bool>{false, true});

  Tensor os = one_hot(scalar(int64_t{2}), 5, DType::F64);
  CHECK(os.shape() == Shape{5});
  CHECK(os.to_vector<double>() == std::vector<double>{0, 0, 1, 0, 0});

  Tensor oe = one_hot(from_vector<int64_t>({}, {0}), 3);
  CHECK(oe.shape() == Shape{0, 3});

  // Each row sums to 1.
  Tensor big = one_hot(reshape(arange(10) % int64_t{7}, {2, 5}), 7);
  CHECK(fv(sum(big, {-1})) == F32s(10, 1.f));
}

// ---------------------------------------------------------------- cross_entropy

TEST_CASE("composite: cross_entropy with integer labels", "[composite]") {
  Tensor logits = tensor({1.f, 2.f, 3.f, 1.f, 4.f, 0.f}, {2, 3});
  Tensor labels = from_vector<int64_t>({2, 0}, {2});
  // -log_softmax([1,2,3])[2] and -log_softmax([1,4,0])[0].
  const double l0 = 0.4076059644443806, l1 = 3.0658839037574293;

  Tensor none = cross_entropy(logits, labels, Reduction::None);
  CHECK(none.shape() == Shape{2});
  CHECK(none.dtype() == DType::F32);
  require_close(fv(none), {l0, l1});

  Tensor s = cross_entropy(logits, labels, Reduction::Sum);
  CHECK(s.rank() == 0);
  CHECK(s.item<float>() == Approx(l0 + l1).epsilon(1e-5));

  Tensor m = cross_entropy(logits, labels, Reduction::Mean);
  CHECK(m.rank() == 0);
  CHECK(m.item<float>() == Approx((l0 + l1) / 2).epsilon(1e-5));
  CHECK(cross_entropy(logits, labels).item<float>() == Approx((l0 + l1) / 2).epsilon(1e-5));  // Mean by default

  // i32 labels; equal to -gather(log_softmax) computed by hand with the ops.
  Tensor l32 = tensor({2, 0});
  require_close(fv(cross_entropy(logits, l32, Reduction::None)), {l0, l1});
  Tensor ref = -squeeze(gather(log_softmax(logits), unsqueeze(l32, -1), -1), {-1});
  require_close(fv(cross_entropy(logits, l32, Reduction::None)), {ref.at<float>({0}), ref.at<float>({1})});

  // Large logits stay finite.
  Tensor big = tensor({1000.f, 0.f, -1000.f, 1000.f}, {2, 2});
  require_close(fv(cross_entropy(big, tensor({1, 0}), Reduction::None)), {1000.0, 2000.0}, 1e-3, 1e-6);

  // Extra leading dims: logits (2,1,3), labels (2,1).
  Tensor l3 = reshape(logits, {2, 1, 3});
  Tensor n3 = cross_entropy(l3, from_vector<int64_t>({2, 0}, {2, 1}), Reduction::None);
  CHECK(n3.shape() == Shape{2, 1});
  require_close(fv(n3), {l0, l1});
}

TEST_CASE("composite: cross_entropy with probability labels", "[composite]") {
  Tensor logits = tensor({1.f, 2.f, 3.f, 1.f, 4.f, 0.f}, {2, 3});
  Tensor probs = tensor({0.2f, 0.3f, 0.5f, 0.25f, 0.25f, 0.5f}, {2, 3});
  // -sum(p * log_softmax(z)) per row.
  const double p0 = 1.1076059644443805, p1 = 2.8158839037574293;
  Tensor none = cross_entropy(logits, probs, Reduction::None);
  CHECK(none.shape() == Shape{2});
  require_close(fv(none), {p0, p1}, 1e-6, 1e-5);
  CHECK(cross_entropy(logits, probs, Reduction::Sum).item<float>() == Approx(p0 + p1).epsilon(1e-5));
  CHECK(cross_entropy(logits, probs, Reduction::Mean).item<float>() == Approx((p0 + p1) / 2).epsilon(1e-5));
  CHECK(cross_entropy(logits, probs).item<float>() == Approx((p0 + p1) / 2).epsilon(1e-5));

  // One-hot probabilities give the same loss as the integer labels.
  Tensor labels = from_vector<int64_t>({2, 0}, {2});
  require_close(fv(cross_entropy(logits, one_hot(labels, 3), Reduction::None)),
                {0.4076059644443806, 3.0658839037574293});
}

// ---------------------------------------------------------------- var / stddev

TEST_CASE("composite: var and stddev with correction 0 and 1", "[composite]") {
  Tensor x = tensor({1.f, 2.f, 3.f, 4.f});
  CHECK(var(x).item<float>() == Approx(1.25));
  CHECK(var(x, {}, 0).item<float>() == Approx(1.25));
  CHECK(var(x, {}, 1).item<float>() == Approx(5.0 / 3.0));
  CHECK(var(x, {0}, 1).item<float>() == Approx(5.0 / 3.0));
  CHECK(stddev(x).item<float>() == Approx(1.118033988749895));
  CHECK(stddev(x, {}, 1).item<float>() == Approx(1.2909944487358056));
  CHECK(var(x).rank() == 0);
  CHECK(var(x).dtype() == DType::F32);

  Tensor m = tensor({1.f, 2.f, 3.f, 4.f, 6.f, 8.f}, {2, 3});
  require_close(fv(var(m, {1})), {2.0 / 3, 8.0 / 3});
  require_close(fv(var(m, {-1}, 1)), {1, 4});
  require_close(fv(var(m, {0})), {2.25, 4, 6.25});
  require_close(fv(var(m, {0}, 1)), {4.5, 8, 12.5});
  require_close(fv(stddev(m, {0}, 1)), {std::sqrt(4.5), std::sqrt(8.0), std::sqrt(12.5)});
  // All axes: mean 4, squares of deviations 9+4+1+0+4+16 = 34.
  CHECK(var(m).item<float>() == Approx(34.0 / 6));
  CHECK(var(m, {0, 1}, 1).item<float>() == Approx(34.0 / 5));
  CHECK(stddev(m, {}, 1).item<float>() == Approx(std::sqrt(34.0 / 5)));
  // keepdims.
  Tensor vk = var(m, {1}, 0, true);
  CHECK(vk.shape() == Shape{2, 1});
  require_close(fv(vk), {2.0 / 3, 8.0 / 3});
  CHECK(stddev(m, {0}, 0, true).shape() == Shape{1, 3});
  // Two non-adjacent axes of a 3-D tensor: for j = 0 the values 1,2,5,6 (mean 3.5, squared
  // deviations sum to 17), for j = 1 the values 3,4,7,8 (the same spread).
  Tensor c = tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f}, {2, 2, 2});
  require_close(fv(var(c, {0, 2})), {17.0 / 4, 17.0 / 4});
  require_close(fv(var(c, {0, -1}, 1)), {17.0 / 3, 17.0 / 3});
  require_close(fv(var(c, {2, 0}, 1, true)), {17.0 / 3, 17.0 / 3});
  CHECK(var(c, {2, 0}, 1, true).shape() == Shape{1, 2, 1});
  require_close(fv(var(c, {1})), {1, 1, 1, 1});  // pairs 2 apart: var 1
  // Integer input gives f32; f64 stays f64.
  Tensor vi = var(tensor({1, 2, 3, 4}), {}, 1);
  CHECK(vi.dtype() == DType::F32);
  CHECK(vi.item<float>() == Approx(5.0 / 3.0));
  Tensor vd = var(tensor({1.0, 2.0, 3.0, 4.0}));
  CHECK(vd.dtype() == DType::F64);
  CHECK(vd.item<double>() == Approx(1.25).epsilon(1e-12));
  // A constant gives exactly 0.
  CHECK(var(full({5}, 3.5f)).item<float>() == 0.f);
  CHECK(stddev(full({5}, 3.5f), {}, 1).item<float>() == 0.f);
}

TEST_CASE("composite: var is two-pass (stable for a large mean)", "[composite]") {
  // 1e4 + small noise in f32: E[x^2] - E[x]^2 would lose everything (x^2 ~ 1e8 has an f32
  // spacing of 8), the two-pass formula keeps the noise variance.
  const int n = 1000;
  Tensor noise = randn({n}, 42) * 0.1f;
  Tensor x = noise + 1e4f;
  std::vector<float> xs = x.to_vector<float>();
  double mu = 0;
  for (float v : xs) mu += v;
  mu /= n;
  double want0 = 0;
  for (float v : xs) want0 += (v - mu) * (v - mu);
  const double want1 = want0 / (n - 1);
  want0 /= n;
  REQUIRE(want0 > 0.005);  // about 0.01
  REQUIRE(want0 < 0.02);
  CHECK(var(x).item<float>() == Approx(want0).epsilon(1e-3));
  CHECK(var(x, {0}, 1).item<float>() == Approx(want1).epsilon(1e-3));
  CHECK(stddev(x, {}, 1).item<float>() == Approx(std::sqrt(want1)).epsilon(1e-3));

  // The naive formula in f32 for contrast (documents why the test is meaningful).
  float naive = mean(x * x).item<float>() - mean(x).item<float>() * mean(x).item<float>();
  CHECK(std::abs(double(naive) - want0) > 0.5 * want0);

  // Along an axis of a 2-D tensor with very different offsets per row.
  Tensor rows = concat({reshape(noise, {1, n}) + 1e4f, reshape(noise, {1, n}) - 5e3f}, 0);
  Tensor v = var(rows, {1});
  CHECK(v.at<float>({0}) == Approx(want0).epsilon(2e-3));
  CHECK(v.at<float>({1}) == Approx(var(noise).item<float>()).epsilon(2e-3));

  // Exact case: 1e4 +/- 1 in f32 has variance exactly 1.
  std::vector<float> pm(64);
  for (size_t i = 0; i < pm.size(); ++i) pm[i] = i % 2 ? 10001.f : 9999.f;
  CHECK(var(from_vector(pm, {64})).item<float>() == Approx(1.0).epsilon(1e-6));
}
