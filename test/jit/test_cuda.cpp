// [cuda]: ops and jitted traces on a GPU against the CPU interpreter. Each test reports
// "skipped: no CUDA device" where none answers (always in CI, which has no GPU).
#include <ejit/host_callback.h>
#include <ejit/jit.h>

#include <algorithm>

#include "any_chain.h"
#include "op_chains.h"

using namespace ejit;
using namespace ejit::test;

namespace {

#define SKIP_WITHOUT_CUDA()                                                              \
  if (!cuda_available()) {                                                               \
    WARN("skipped: no CUDA device (" << cuda_unavailable_reason() << ")");               \
    return;                                                                              \
  }

const Device kGpu = Device::cuda(0);

/// The GPU result, back on the host, against the interpreter's.
void require_same(const Tensor& gpu, const Tensor& cpu, const std::string& what, double rel = 2e-6, double abs_tol = 2e-6) {
  INFO(what);
  REQUIRE(gpu.device() == kGpu);
  require_agree(gpu.to(Device::cpu()), cpu, rel, abs_tol, what);
}

}  // namespace

TEST_CASE("cuda: tensors move to the GPU and back, every dtype", "[cuda]") {
  SKIP_WITHOUT_CUDA();
  for (DType dt : kDTypes) {
    Tensor x = inputs_for(dt, {3, 1000}, 7);
    Tensor g = x.to(kGpu);
    REQUIRE(g.device() == kGpu);
    REQUIRE(g.shape() == x.shape());
    REQUIRE(g.to(Device::cpu()).to_vector<double>() == x.to_vector<double>());
    REQUIRE(g.at<double>({2, 999}) == x.at<double>({2, 999}));  // element reads copy to the host
  }
  Tensor g = ones({2, 2}).to(kGpu);
  REQUIRE(g.str().find("device=cuda:0") != std::string::npos);
  REQUIRE(error_of([&] { g.data<float>(); }).find("is on cuda:0") != std::string::npos);
}

TEST_CASE("cuda: ops on two devices are an error naming both", "[cuda]") {
  SKIP_WITHOUT_CUDA();
  Tensor g = ones({2, 3}).to(kGpu), c = ones({2, 3});
  std::string e = error_of([&] { g + c; });
  REQUIRE(e.find("[add]") == 0);
  REQUIRE(e.find("cuda:0") != std::string::npos);
  REQUIRE(e.find("cpu") != std::string::npos);
  // A 0-d CPU tensor joins a GPU op (a C++ scalar is one).
  require_same(g * 2.f + ones({}), c * 2.f + 1.f, "scalar operands");
  DeviceScope on(kGpu);
  REQUIRE(zeros({4}).device() == kGpu);
  REQUIRE(zeros_like(c).device() == Device::cpu());  // *_like follows its argument
}

TEST_CASE("cuda: every unary op of the table matches the interpreter", "[cuda]") {
  SKIP_WITHOUT_CUDA();
  for (int i = 0; i < kNumUnaryOps; ++i) {
    auto op = static_cast<UnaryOp>(i);
    for (DType dt : kDTypes) {
      if (kind(op) == UnaryKind::Numeric && dt == DType::Bool) continue;
      Tensor x = inputs_for(dt, {37, 129}, 11 + i);
      require_same(unary(op, x.to(kGpu)), unary(op, x), std::string(name(op)) + " on " + std::string(name(dt)), 4e-6, 4e-6);
    }
  }
}

TEST_CASE("cuda: every binary op of the table matches, broadcasting", "[cuda]") {
  SKIP_WITHOUT_CUDA();
  const std::pair<Shape, Shape> shapes[] = {{{6, 5}, {6, 5}}, {{6, 1}, {1, 5}}, {{5}, {3, 5}}, {{}, {4}}};
  for (int i = 0; i < kNumBinaryOps; ++i) {
    auto op = static_cast<BinaryOp>(i);
    for (DType dt : kDTypes) {
      if (kind(op) == BinaryKind::ArithNoBool && dt == DType::Bool) continue;
      for (const auto& [sa, sb] : shapes) {
        Tensor a = inputs_for(dt, sa, 3 + i), b = inputs_for(dt, sb, 5 + i);
        require_same(binary(op, a.to(kGpu), b.to(kGpu)), binary(op, a, b),
                     std::string(name(op)) + " on " + std::string(name(dt)) + " " + sa.str() + " " + sb.str(), 1e-6, 1e-6);
      }
    }
  }
}

TEST_CASE("cuda: eager elementwise kernels serve every shape and broadcast pattern", "[cuda]") {
  SKIP_WITHOUT_CUDA();
  // Shape-generic kernels: collapsed ranks 1 to 6 share kernels; 7 alternating broadcast
  // dims take the per-shape program path.
  const std::pair<Shape, Shape> shapes[] = {{{1000003}, {1}},          {{17, 1, 5}, {1, 9, 5}},
                                            {{2, 1, 3, 1, 4}, {1, 5, 1, 6, 1}}, {{2, 1, 2, 1, 2, 1, 2}, {1, 2, 1, 2, 1, 2, 1}},
                                            {{0, 4}, {4}},             {{}, {}}};
  for (const auto& [sa, sb] : shapes) {
    Tensor a = randn(sa, 1), b = randn(sb, 2);
    const std::string what = sa.str() + " with " + sb.str();
    require_same(a.to(kGpu) * b.to(kGpu) + 1.f, a * b + 1.f, "mul " + what);
    require_same(where(a.to(kGpu) > b.to(kGpu), a.to(kGpu), b.to(kGpu)), where(a > b, a, b), "where " + what);
    require_same(cast(a.to(kGpu) * 10.f, DType::I32), cast(a * 10.f, DType::I32), "cast " + what);
  }
}

TEST_CASE("cuda: reductions of every shape class match", "[cuda]") {
  SKIP_WITHOUT_CUDA();
  const std::pair<Shape, std::vector<int64_t>> cases[] = {
      {{64, 1000}, {1}}, {{1 << 22}, {0}}, {{1000, 64}, {0}}, {{8, 30, 5}, {1}}, {{8, 30, 5}, {0, 2}}, {{5, 7}, {}}, {{3, 0}, {1}}};
  for (DType dt : {DType::F32, DType::F64, DType::I32, DType::I64}) {
    for (const auto& [shape, axes] : cases) {
      Tensor x = inputs_for(dt, shape, 5);
      const std::string what = fmt::format("{} {} over {} axes", name(dt), shape.str(), axes.size());
      const double tol = dt == DType::F32 ? 2e-5 : 1e-12;  // summation order differs
      require_same(sum(x.to(kGpu), axes), sum(x, axes), "sum " + what, tol, tol * 10);
      if (shape.numel() == 0) continue;
      require_same(max(x.to(kGpu), axes), max(x, axes), "max " + what);
      require_same(min(x.to(kGpu), axes, true), min(x, axes, true), "min keepdims " + what);
      require_same(argmax(x.to(kGpu), 0), argmax(x, 0), "argmax " + what);
      require_same(any(x.to(kGpu) > 0.0, axes), any(x > 0.0, axes), "any " + what);
      require_same(all(x.to(kGpu) > -2.0, axes, true), all(x > -2.0, axes, true), "all keepdims " + what);
    }
  }
  // Jitted: any() and all() are i32 block reductions between casts.
  auto f = jit([](const Tensor& x) { return std::vector<Tensor>{any(x > 1.f), all(x > -3.f, {1}), any(x > 2.f, {0})}; },
               "any_all", {.compile = CompileMode::Sync});
  const Tensor x = randn({4096, 64}, 8);
  const std::vector<Tensor> want = f(x), got = f(x.to(kGpu));
  for (size_t i = 0; i < want.size(); ++i) require_same(got[i], want[i], "jitted any/all output " + std::to_string(i));
}

TEST_CASE("cuda: matmul (cuBLAS or generated), shape ops and indexing match", "[cuda]") {
  SKIP_WITHOUT_CUDA();
  Tensor a = randn({33, 70}, 1), b = randn({70, 20}, 2), c = randn({3, 33, 70}, 3), v = randn({70}, 4);
  Tensor idx = from_vector<int64_t>({2, 0, 32, 5}, {4});
  auto g = [](const Tensor& t) { return t.to(kGpu); };
  require_same(matmul(g(a), g(b)), matmul(a, b), "matmul", 1e-5, 1e-5);
  require_same(matmul(g(c), g(b)), matmul(c, b), "batched matmul, broadcast rhs", 1e-5, 1e-5);
  require_same(matmul(g(a), g(v)), matmul(a, v), "matrix-vector", 1e-5, 1e-5);
  require_same(matmul(g(a).astype(DType::I64), g(b).astype(DType::I64)), matmul(a.astype(DType::I64), b.astype(DType::I64)),
               "integer matmul");
  require_same(permute(g(c), {2, 0, 1}), permute(c, {2, 0, 1}), "permute");
  require_same(g(c).slice(2, 1, 50, 3), c.slice(2, 1, 50, 3), "slice");
  require_same(g(c).slice(1, std::nullopt, std::nullopt, -2), c.slice(1, std::nullopt, std::nullopt, -2), "reversed slice");
  require_same(concat({g(a), g(a) * 2.f}, 1), concat({a, a * 2.f}, 1), "concat");
  require_same(pad(g(a), {{1, 2}, {3, 0}}, -1.0), pad(a, {{1, 2}, {3, 0}}, -1.0), "pad");
  require_same(broadcast_to(g(v), {4, 70}), broadcast_to(v, {4, 70}), "broadcast_to");
  require_same(take(g(a), g(idx), 0), take(a, idx, 0), "take");
  require_same(softmax(g(c), -1), softmax(c, -1), "softmax", 1e-5, 1e-6);
  require_same(layer_norm(g(c)), layer_norm(c), "layer_norm", 1e-4, 1e-5);
  REQUIRE(error_of([&] { take(g(a), g(from_vector<int64_t>({40}, {1})), 0); }).find("out of range") != std::string::npos);
}

TEST_CASE("cuda: 100 random op chains, jitted on the GPU, equal the interpreter", "[cuda][random]") {
  SKIP_WITHOUT_CUDA();
  const std::pair<Shape, Shape> shapes[] = {{{6, 8}, {6, 8}}, {{5, 1}, {5, 9}}, {{3, 4, 5}, {4, 5}}, {{}, {7}}};
  for (uint64_t seed = 0; seed < 100; ++seed) {
    const auto& [sa, sb] = shapes[seed % 4];
    Tensor a = randn(sa, seed * 2 + 1), b = randn(sb, seed * 2 + 2);
    auto f = jit([seed](const Tensor& x, const Tensor& y) { return random_chain(seed, x, y); });
    Tensor eager = random_chain(seed, a, b);
    f(a.to(kGpu), b.to(kGpu));
    Tensor got = f(a.to(kGpu), b.to(kGpu));
    INFO("seed " << seed);
    REQUIRE(f.stats().hits == 1);
    require_same(got, eager, "random chain", 2e-4, 2e-5);
  }
}

TEST_CASE("cuda: random chains over every op kind, dtype and axis, jitted on the GPU, equal the interpreter",
          "[cuda][random][any]") {
  SKIP_WITHOUT_CUDA();
  for (uint64_t seed = 0; seed < 100; ++seed) {
    const AnyChainCase c = any_chain_case(seed, 13);
    std::vector<ChainOutput> info;
    const std::vector<Tensor> want = random_any_chain(seed, c.a, c.b, 4, &info);
    auto f = jit([seed](const Tensor& x, const Tensor& y) { return random_any_chain(seed, x, y); });
    const Tensor ga = c.a.to(kGpu), gb = c.b.to(kGpu);
    f(ga, gb);
    const std::vector<Tensor> got = f(ga, gb);
    INFO(c.what << "\n" << f.ir(Stage::Ejit));
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      REQUIRE(got[i].device() == kGpu);
      require_chain_output(got[i], want[i], info[i], false, "output " + std::to_string(i));
    }
  }
}

TEST_CASE("cuda: softmax, log_softmax and layer norm as one kernel per row equal the interpreter", "[cuda]") {
  SKIP_WITHOUT_CUDA();
  const Shape shapes[] = {{64, 1000}, {3, 5, 7}, {4096}, {4, 1}, {300, 4096}};
  for (DType dt : {DType::F32, DType::F64}) {
    for (const Shape& shape : shapes) {
      const Tensor x = cast(randn(shape, 9) * 3.f, dt);
      INFO(name(dt) << " " << shape.str());
      auto check = [&](auto& f, const Tensor& want) {
        f(x.to(kGpu));
        Tensor got = f(x.to(kGpu));
        REQUIRE(f.stats().hits == 1);
        require_same(got, want, "row kernel", 2e-4, 2e-5);
      };
      auto sm = jit([](const Tensor& t) { return softmax(t, -1); });
      auto ln = jit([](const Tensor& t) { return layer_norm(t) * 1.5f + 0.25f; });
      check(sm, softmax(x, -1));
      auto lsm = jit([](const Tensor& t) { return log_softmax(t, -1); });
      check(lsm, log_softmax(x, -1));
      check(ln, layer_norm(x) * 1.5f + 0.25f);
      const int64_t len = shape[shape.rank() - 1];  // gamma and beta in the kernel (one row each)
      const Tensor gamma = cast(randn({len}, 11), dt), beta = cast(randn({len}, 12), dt);
      auto affine = jit([](const Tensor& t, const Tensor& g, const Tensor& b) { return layer_norm(t, g, b); });
      affine(x.to(kGpu), gamma.to(kGpu), beta.to(kGpu));
      require_same(affine(x.to(kGpu), gamma.to(kGpu), beta.to(kGpu)), layer_norm(x, gamma, beta), "affine row kernel", 2e-4, 2e-5);
      CHECK(affine.stats().hits == 1);
    }
  }
  // Dynamic dims: the batch varies, the rows are counted per call.
  auto sm = jit([](const Tensor& t) { return softmax(t, -1); });
  for (int64_t rows : {37, 50, 300, 7}) {
    const Tensor x = randn({rows, 96}, 10 + rows);
    INFO("rows " << rows);
    require_same(sm(x.to(kGpu)), softmax(x, -1), "dynamic row kernel", 2e-4, 2e-5);
  }
  CHECK(sm.stats().misses <= 2);  // two recordings, then one program for every size
}

TEST_CASE("cuda: gradients and a jitted training step on the GPU", "[cuda]") {
  SKIP_WITHOUT_CUDA();
  Tensor w = randn({20, 10}, 1) * 0.1f, x = randn({32, 20}, 2);
  Tensor labels = from_vector<int64_t>(std::vector<int64_t>(32, 3), {32});
  auto loss = [&](const Tensor& wt, const Tensor& xt, const Tensor& lt) { return cross_entropy(matmul(xt, wt), lt); };
  auto [l_cpu, g_cpu] = value_and_grad(loss)(w, x, labels);
  auto [l_gpu, g_gpu] = value_and_grad(loss)(w.to(kGpu), x.to(kGpu), labels.to(kGpu));
  require_same(l_gpu, l_cpu, "loss", 1e-5, 1e-6);
  require_same(g_gpu, g_cpu, "gradient", 1e-4, 1e-6);
  // The same step jitted: compiled once for the GPU, then replayed.
  auto step = jit([&](const Tensor& wt, const Tensor& xt, const Tensor& lt) {
    auto [l, g] = value_and_grad(loss)(wt, xt, lt);
    return wt - g * 0.1f;
  });
  Tensor w_gpu = w.to(kGpu), w_cpu = w;
  for (int i = 0; i < 3; ++i) {
    w_gpu = step(w_gpu, x.to(kGpu), labels.to(kGpu));
    w_cpu = w_cpu - value_and_grad(loss)(w_cpu, x, labels).second * 0.1f;
  }
  REQUIRE(step.stats().hits == 2);
  require_same(w_gpu, w_cpu, "three SGD steps", 1e-4, 1e-6);
}

TEST_CASE("cuda: freed memory is reused, and out of memory is an error", "[cuda]") {
  SKIP_WITHOUT_CUDA();
  synchronize(kGpu);
  { Tensor t = Tensor::empty({1 << 20}, DType::F32, kGpu); }
  Tensor again = Tensor::empty({1 << 20}, DType::F32, kGpu);  // from the cache
  REQUIRE(again.device() == kGpu);
  std::string e = error_of([] { Tensor::empty({int64_t{1} << 46}, DType::F32, Device::cuda(0)); });
  INFO(e);
  REQUIRE(e.find("[tensor]") == 0);
  REQUIRE((e.find("out of memory") != std::string::npos || e.find("cuMemAlloc") != std::string::npos));
  REQUIRE((ones({3}).to(kGpu) + 1.f).sum().item<float>() == 6.f);  // the device still works
}

TEST_CASE("cuda: a jitted function with host reads compiles both branches on the GPU", "[cuda][guards]") {
  SKIP_WITHOUT_CUDA();
  auto f = jit([](const Tensor& x) { return (sum(x) > 0.f).item<bool>() ? exp(x) * 2.f : -x * 3.f; }, "gpu_branchy");
  const Tensor pos = abs(randn({4, 300}, 3)), neg = -pos;
  for (int i = 0; i < 3; ++i) {
    require_same(f(pos.to(kGpu)), exp(pos) * 2.f, "exp branch", 2e-6, 2e-6);
    require_same(f(neg.to(kGpu)), pos * 3.f, "other branch");
  }
  CHECK(f.stats().misses == 2);
  CHECK(f.stats().hits == 4);
}

TEST_CASE("cuda: a host callback between GPU kernels gets CPU copies and its results go back", "[cuda][host_callback]") {
  SKIP_WITHOUT_CUDA();
  auto f = jit([](const Tensor& x) {
    Tensor y = exp(x * 0.5f) + 1.f;
    Tensor r = host_callback(
        "host_max",
        [](const std::vector<Tensor>& in) {
          REQUIRE(in[0].device().is_cpu());
          const std::vector<float> v = in[0].to_vector<float>();
          return std::vector<Tensor>{full({}, *std::max_element(v.begin(), v.end()))};
        },
        {y}, {{Shape{}, DType::F32}})[0];
    return y / r * 2.f;
  }, "gpu_callback");
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    const Tensor x = randn({4, 300}, seed), y = exp(x * 0.5f) + 1.f;
    const Tensor got = f(x.to(kGpu));
    CHECK(got.device() == kGpu);
    require_same(got, y / max(y) * 2.f, "callback", 2e-6, 2e-6);
  }
  CHECK(f.stats().hits == 2);
}

TEST_CASE("cuda: dynamic dims: sizes that vary compile twice on the GPU and every size equals the interpreter",
          "[cuda][dynamic]") {
  SKIP_WITHOUT_CUDA();
  const Tensor w = randn({32, 8}, 5), w_gpu = w.to(kGpu);
  auto body = [](const Tensor& x, const Tensor& b, const Tensor& weights) {
    const Tensor y = exp(x * b) + tanh(x) * 0.5f;
    return matmul(softmax(y, 1), weights) + sum(y, {1}, true) + mean(y);  // mean: a block reduction planned per call
  };
  auto f = jit([&](const Tensor& x, const Tensor& b) { return body(x, b, w_gpu); }, "gpu_rows",
               {.compile = CompileMode::Sync});
  const Tensor b = randn({32}, 2);
  for (int64_t rows = 100; rows < 110; ++rows) {
    const Tensor x = randn({rows, 32}, static_cast<uint64_t>(rows));
    const Tensor got = f(x.to(kGpu), b.to(kGpu));
    require_same(got, body(x, b, w), "rows " + std::to_string(rows), 2e-5, 2e-5);
  }
  CHECK(f.stats().misses == 2);
  bool dynamic = false;
  for (const CacheMiss& m : f.misses())
    for (const std::string& d : m.differences) dynamic |= d.find("now dynamic") != std::string::npos;
  CHECK(dynamic);
}
