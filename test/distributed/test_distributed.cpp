// ejit::distributed on 2 ranks (ctest runs this binary under mpirun -np 2; with one process
// it runs as a world of one). Every rank runs every test case in the same order, so their
// collectives line up.
#include <ejit/autodiff.h>
#include <ejit/data.h>
#include <ejit/distributed.h>
#include <ejit/jit.h>
#include <ejit/ops.h>

#include <cstdlib>

#include "../../lib/distributed/nccl.h"
#include "test_util.h"

using namespace ejit;
namespace dist = ejit::distributed;
using ejit::test::error_of;
using ejit::test::require_close;

namespace {

int world() { return dist::world_size(); }
int me() { return dist::rank(); }

/// rank r contributes base * (r + 1) + r.
Tensor contribution(DType dt, int r) {
  const Tensor base = tensor({1.0, -2.0, 3.5, 0.0}, {2, 2});
  if (dt == DType::Bool) return logical_or(full({2, 2}, r % 2 == 1, DType::Bool), eq(base, 0.0));
  return cast(base * static_cast<double>(r + 1) + static_cast<double>(r), dt);
}

}  // namespace

TEST_CASE("distributed: the launcher's world", "[distributed]") {
  REQUIRE(dist::available());
  if (const char* want = std::getenv("EJIT_TEST_WORLD")) CHECK(world() == std::atoi(want));
  CHECK(me() >= 0);
  CHECK(me() < world());
  dist::barrier();
}

TEST_CASE("distributed: all_reduce of every dtype and op", "[distributed]") {
  for (DType dt : {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64}) {
    INFO("dtype " << name(dt));
    Tensor sum_want = contribution(dt, 0), max_want = sum_want, min_want = sum_want;
    for (int r = 1; r < world(); ++r) {
      const Tensor c = contribution(dt, r);
      sum_want = dt == DType::Bool ? logical_or(sum_want, c) : sum_want + c;
      max_want = maximum(max_want, c), min_want = minimum(min_want, c);
    }
    const Tensor mine = contribution(dt, me());
    const Tensor s = dist::all_reduce(mine, dist::Op::Sum);
    CHECK(s.dtype() == dt);
    CHECK(s.to_vector<double>() == sum_want.to_vector<double>());
    CHECK(dist::all_reduce(mine, dist::Op::Max).to_vector<double>() == max_want.to_vector<double>());
    CHECK(dist::all_reduce(mine, dist::Op::Min).to_vector<double>() == min_want.to_vector<double>());
    if (is_floating(dt)) {
      require_close(dist::all_reduce(mine, dist::Op::Mean), sum_want / static_cast<double>(world()), 1e-7);
    } else {
      CHECK(error_of([&] { dist::all_reduce(mine, dist::Op::Mean); })
                .find("[all_reduce] mean of a " + std::string(name(dt)) + " tensor (shape (2,2)): mean is for f32/f64") == 0);
    }
    CHECK(mine.to_vector<double>() == contribution(dt, me()).to_vector<double>());  // the input is untouched
  }
  // A 0-d tensor and an empty one.
  CHECK(dist::all_reduce(scalar(2.5f)).item<float>() == 2.5f * static_cast<float>(world()));
  CHECK(dist::all_reduce(zeros({0, 3})).shape() == Shape{0, 3});
}

TEST_CASE("distributed: broadcast from each root, every dtype", "[distributed]") {
  for (int root = 0; root < world(); ++root)
    for (DType dt : {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64}) {
      const Tensor got = dist::broadcast(contribution(dt, me()), root);
      CHECK(got.to_vector<double>() == contribution(dt, root).to_vector<double>());
    }
  CHECK(error_of([&] { dist::broadcast(ones({2}), world()); }) ==
        fmt::format("[broadcast] root {} is not a rank of this world of {}", world(), world()));
}

TEST_CASE("distributed: average_gradients packs f32 and f64 and keeps undefined ones", "[distributed]") {
  const Tensor a = full({3}, static_cast<double>(me() + 1)), b = full({2, 2}, 10.0 * me(), DType::F64);
  const std::vector<Tensor> avg = dist::average_gradients({a, Tensor(), b});
  REQUIRE(avg.size() == 3);
  CHECK_FALSE(avg[1].defined());
  double mean_a = 0, mean_b = 0;
  for (int r = 0; r < world(); ++r) mean_a += (r + 1.0) / world(), mean_b += 10.0 * r / world();
  require_close(avg[0], full({3}, mean_a), 1e-7);
  CHECK(avg[2].dtype() == DType::F64);
  require_close(avg[2], full({2, 2}, mean_b, DType::F64), 1e-12);
  CHECK(error_of([&] { dist::average_gradients({ones({2}, DType::I32)}); }) ==
        "[average_gradients] gradient 0 is i32 (2,): gradients are f32 or f64");
}

TEST_CASE("distributed: shards are disjoint and cover the data set", "[distributed]") {
  const int64_t n = 11;
  Dataset ds = Dataset::from_tensors({arange(0, n)}).shard(world(), me());
  Tensor seen = zeros({n}, DType::I64);
  int64_t count = 0;
  for (const auto& e : ds) {
    seen = seen + cast(eq(arange(0, n), e[0]), DType::I64);
    ++count;
  }
  CHECK(count == ds.cardinality());
  const Tensor all = dist::all_reduce(seen);
  CHECK(all.to_vector<int64_t>() == std::vector<int64_t>(static_cast<size_t>(n), 1));
}

TEST_CASE("distributed: a shape that differs between ranks is an error on every rank", "[distributed][errors]") {
  if (world() < 2) return;  // needs 2 ranks (distributed_2_ranks runs it)
  const Tensor mine = ones({me() == 0 ? 3 : 4});
  const std::string e = error_of([&] { dist::all_reduce(mine); });
  CHECK(e.find("[all_reduce] rank 1 passes other shapes or dtypes than rank 0") == 0);
  CHECK(e.find(fmt::format("this rank {}: f32 ({},)", me(), me() == 0 ? 3 : 4)) != std::string::npos);
  const std::string d = error_of([&] { dist::all_reduce(ones({3}, me() == 0 ? DType::F32 : DType::F64)); });
  CHECK(d.find("[all_reduce] rank 1 passes other shapes or dtypes than rank 0") == 0);
  const std::string o = error_of([&] { dist::all_reduce(ones({3}), me() == 0 ? dist::Op::Sum : dist::Op::Max); });
  CHECK(o.find("[all_reduce] rank 1 asks for another op than rank 0") == 0);
  // The ranks are still in step afterwards.
  CHECK(dist::all_reduce(ones({2})).to_vector<float>() == std::vector<float>(2, static_cast<float>(world())));
}

TEST_CASE("distributed: a jitted data-parallel step equals the full-batch step", "[distributed][jit]") {
  const Tensor x = randn({32, 6}, 1), y = randn({32, 1}, 2);  // the same global batch on every rank
  const int64_t per = 32 / world();
  const Tensor my_x = x.slice(0, me() * per, (me() + 1) * per), my_y = y.slice(0, me() * per, (me() + 1) * per);
  auto loss = [](const Tensor& w, const Tensor& xs, const Tensor& ys) {
    Tensor d = matmul(xs, w) - ys;
    return mean(d * d);
  };
  auto step = jit([&](const Tensor& w, const Tensor& xs, const Tensor& ys) {
    auto [l, g] = value_and_grad(loss)(w, xs, ys);
    const std::vector<Tensor> avg = dist::average_gradients({g});
    return std::make_tuple(dist::all_reduce(l, dist::Op::Mean), w - avg[0] * 0.1f);
  });
  Tensor w = randn({6, 1}, 3) * 0.1f, w_full = w;
  for (int i = 0; i < 5; ++i) {
    auto [l, next] = step(w, my_x, my_y);
    auto [l_full, g_full] = value_and_grad(loss)(w_full, x, y);
    require_close(l, l_full, 1e-5);
    w_full = w_full - g_full * 0.1f;
    require_close(next, w_full, 1e-5);
    w = next;
  }
  CHECK(step.stats().hits == 4);  // the collectives ran as host steps of the compiled step
}

TEST_CASE("distributed: broadcast_variables starts every rank from rank 0's weights", "[distributed]") {
  Variable v(randn({4}, static_cast<uint64_t>(100 + me())), "v");
  dist::broadcast_variables({v});
  CHECK(v.value().to_vector<float>() == randn({4}, 100).to_vector<float>());
}

// Run alone (timeout_test.sh: the tag [.timeout] keeps it out of the normal run): rank 1
// skips a barrier; rank 0's barrier fails after the timeout instead of hanging.
TEST_CASE("distributed: a rank that does not arrive is an error on the others after the timeout", "[.timeout]") {
  if (world() < 2) return;
  dist::set_timeout(2);
  if (me() == 0) {
    const std::string e = error_of([] { dist::barrier(); });
    CHECK(e.find("[barrier] rank 0 waited 2 s for the other ranks to reach this barrier") == 0);
    CHECK(error_of([] { dist::barrier(); }).find("an earlier collective timed out") != std::string::npos);
    fmt::print("timeout test: rank 0 got: {}\n", e);
  }
}

// Run alone (dead_rank_test.sh: [.dead_rank]): rank 1 dies before an all-reduce. Rank 0 must
// not hang: either the launcher ends the job (Open MPI does, naming the rank) or rank 0's
// all_reduce fails after the timeout.
TEST_CASE("distributed: a rank that dies does not leave the others hanging", "[.dead_rank]") {
  if (world() < 2) return;
  dist::set_timeout(5);
  dist::barrier();
  if (me() == 1) {
    fmt::print("dead rank test: rank 1 exits now\n");
    std::fflush(stdout);
    std::_Exit(3);
  }
  const std::string e = error_of([] { dist::all_reduce(full({4}, 1.0)); });
  fmt::print("dead rank test: rank 0 got: {}\n", e);
  CHECK(!e.empty());
}

TEST_CASE("distributed: a barrier and a broadcast inside a jitted function run on every call", "[distributed][jit]") {
  auto f = jit([](const Tensor& x) {
    dist::barrier();
    return dist::broadcast(sqrt(x * x) * 2.f, 0) + 1.f;  // a kernel before the host step (x >= 0)
  }, "with_barrier", JitOptions{.compile = CompileMode::Sync});
  for (int i = 0; i < 4; ++i) {
    const Tensor got = f(full({3}, static_cast<double>(10 * i + me())));
    CHECK(got.to_vector<float>() == std::vector<float>(3, static_cast<float>(2 * 10 * i + 1)));
  }
  CHECK(f.stats().hits == 3);
}

TEST_CASE("distributed: a timeout that is not a positive time is an error", "[distributed][errors]") {
  CHECK(error_of([] { dist::set_timeout(0); }) == "[distributed] set_timeout: 0 seconds is not a positive time");
  CHECK(error_of([] { dist::set_timeout(-2.5); }) == "[distributed] set_timeout: -2.5 seconds is not a positive time");
}

TEST_CASE("distributed: NCCL loads at run time, or the reason names the library", "[distributed][nccl]") {
  namespace d = ejit::distributed::detail;
  std::string why;
  REQUIRE(d::load_nccl("libnccl-not-installed.so.2", why) == nullptr);
  REQUIRE_THAT(why, Catch::Contains("NCCL (libnccl-not-installed.so.2) cannot be loaded"));
  REQUIRE(d::load_nccl("libm.so.6", why) == nullptr);  // a library, but not NCCL
  REQUIRE_THAT(why, Catch::Contains("libm.so.6 has no ncclGetVersion"));
  if (const d::NcclApi* api = d::load_nccl(d::nccl_library(), why)) {
    REQUIRE(api->version >= 2400);
    REQUIRE_THAT(d::nccl_version_text(api->version), Catch::StartsWith("NCCL 2."));
    WARN("NCCL found: " << d::nccl_version_text(api->version));
  } else {
    REQUIRE_THAT(why, Catch::Contains(d::nccl_library()));
    WARN("NCCL not found here, so GPU tensors' collectives would go through the host: " << why);
  }
  REQUIRE(d::nccl_version_text(22809) == "NCCL 2.28.9");
  REQUIRE(d::nccl_version_text(2803) == "NCCL 2.8.3");
}

TEST_CASE("distributed: dtypes and ops in NCCL's terms", "[distributed][nccl]") {
  namespace d = ejit::distributed::detail;
  // ncclUint8, ncclInt32, ncclInt64, ncclFloat32, ncclFloat64 (nccl.h)
  REQUIRE(d::nccl_dtype(DType::Bool) == 1);
  REQUIRE(d::nccl_dtype(DType::I32) == 2);
  REQUIRE(d::nccl_dtype(DType::I64) == 4);
  REQUIRE(d::nccl_dtype(DType::F32) == 7);
  REQUIRE(d::nccl_dtype(DType::F64) == 8);
  // ncclSum 0, ncclMax 2, ncclMin 3; a bool sum is an or (as MPI_LOR on the host path), a
  // mean a sum that the caller divides.
  REQUIRE(d::nccl_op(dist::Op::Sum, DType::F32) == 0);
  REQUIRE(d::nccl_op(dist::Op::Mean, DType::F64) == 0);
  REQUIRE(d::nccl_op(dist::Op::Sum, DType::Bool) == 2);
  REQUIRE(d::nccl_op(dist::Op::Max, DType::I32) == 2);
  REQUIRE(d::nccl_op(dist::Op::Min, DType::I64) == 3);
  REQUIRE(d::nccl_op(dist::Op::Min, DType::Bool) == 3);
}

TEST_CASE("distributed: GPU tensors' collectives by NCCL equal the host's, every dtype", "[distributed][nccl][cuda]") {
  if (!cuda_available()) {
    WARN("skipped: no CUDA device (" << cuda_unavailable_reason() << ")");
    return;
  }
  if (world() > 1) {  // NCCL takes one GPU per rank; the device machines have one
    WARN("skipped: NCCL needs a GPU per rank; this world has " << world() << " ranks");
    return;
  }
  std::string why;
  if (!ejit::distributed::detail::load_nccl(ejit::distributed::detail::nccl_library(), why)) {
    WARN("skipped: " << why);
    return;
  }
  const Device gpu = Device::cuda(0);
  for (DType dt : {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64}) {
    INFO("dtype " << name(dt));
    const Tensor x = contribution(dt, me());
    for (dist::Op op : {dist::Op::Sum, dist::Op::Mean, dist::Op::Max, dist::Op::Min}) {
      if (op == dist::Op::Mean && !is_floating(dt)) continue;
      INFO("op " << dist::name(op));
      const Tensor on_gpu = dist::all_reduce(x.to(gpu), op), on_host = dist::all_reduce(x, op);
      REQUIRE(on_gpu.device() == gpu);
      REQUIRE(on_gpu.to(Device::cpu()).to_vector<double>() == on_host.to_vector<double>());
    }
    const Tensor b = dist::broadcast(x.to(gpu), 0);
    REQUIRE(b.device() == gpu);
    REQUIRE(b.to(Device::cpu()).to_vector<double>() == x.to_vector<double>());
  }
  const std::vector<Tensor> grads = {randn({3, 4}, 5).to(gpu), cast(randn({7}, 6), DType::F64).to(gpu), randn({2}, 7).to(gpu)};
  const std::vector<Tensor> avg = dist::average_gradients(grads);
  REQUIRE(avg.size() == grads.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    REQUIRE(avg[i].device() == gpu);
    REQUIRE(avg[i].shape() == grads[i].shape());
    REQUIRE(avg[i].to(Device::cpu()).to_vector<double>() == grads[i].to(Device::cpu()).to_vector<double>());
  }
}
