// Dataset: order, batching and remainders, repeat, take, map, seeded shuffles (reproducible,
// new per pass), prefetch on a thread (same stream, errors carried over, early stop), errors.
#include <algorithm>
#include <atomic>
#include <numeric>
#include <thread>

#include "ejit/data.h"
#include "test_util.h"

using namespace ejit;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

/// The first component's first value of each element (the element's id below).
std::vector<int64_t> ids(const Dataset& ds) {
  std::vector<int64_t> out;
  for (const std::vector<Tensor>& e : ds) {
    auto v = e[0].to_vector<int64_t>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

/// n elements {id, features}: id i (i64 scalar) and features (2,) = {i, 10 i} in f32.
Dataset numbered(int64_t n) {
  Tensor id = arange(n).astype(DType::I64);
  Tensor feats = stack({id.astype(DType::F32), id.astype(DType::F32) * 10.0f}, 1);
  return Dataset::from_tensors({id, feats});
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

bool is_permutation_of_iota(std::vector<int64_t> v, int64_t n) {
  std::sort(v.begin(), v.end());
  return v == iota(n);
}

}  // namespace

TEST_CASE("data: from_tensors slices along dim 0, in order", "[data]") {
  Dataset ds = numbered(5);
  REQUIRE(ds.cardinality() == 5);
  int64_t i = 0;
  for (const std::vector<Tensor>& e : ds) {
    REQUIRE(e.size() == 2);
    REQUIRE(e[0].shape() == Shape{});
    REQUIRE(e[0].item<int64_t>() == i);
    REQUIRE(e[1].shape() == Shape{2});
    REQUIRE(e[1].to_vector<float>() == std::vector<float>{float(i), 10.0f * i});
    ++i;
  }
  REQUIRE(i == 5);
  // By hand, with the iterator.
  auto it = ds.begin();
  REQUIRE(it != ds.end());
  REQUIRE((*it)[0].item<int64_t>() == 0);
  ++it;
  REQUIRE(it->at(0).item<int64_t>() == 1);
  REQUIRE(Dataset().begin() == Dataset().end());
  // An iterator keeps its pipeline alive after the Dataset is gone.
  auto lone = numbered(3).batch(2).begin();
  ++lone;
  REQUIRE((*lone)[0].to_vector<int64_t>() == std::vector<int64_t>{2});
}

TEST_CASE("data: batch stacks elements, keeping or dropping the remainder", "[data]") {
  Dataset ds = numbered(5);
  std::vector<Shape> shapes;
  for (const auto& b : ds.batch(2)) shapes.push_back(b[1].shape());
  REQUIRE(shapes == std::vector<Shape>{{2, 2}, {2, 2}, {1, 2}});
  REQUIRE(ds.batch(2).cardinality() == 3);
  REQUIRE(ids(ds.batch(2)) == iota(5));
  REQUIRE(ids(ds.batch(2, /*drop_remainder=*/true)) == iota(4));
  REQUIRE(ds.batch(2, true).cardinality() == 2);
  REQUIRE(ids(ds.batch(5, true)) == iota(5));
  REQUIRE(ids(ds.batch(6, true)).empty());
  auto first = *ds.batch(3).begin();
  REQUIRE(first[1].to_vector<float>() == std::vector<float>{0, 0, 1, 10, 2, 20});
}

TEST_CASE("data: repeat, take and map", "[data]") {
  Dataset ds = numbered(3);
  std::vector<int64_t> want{0, 1, 2, 0, 1, 2};
  REQUIRE(ids(ds.repeat(2)) == want);
  REQUIRE(ds.repeat(2).cardinality() == 6);
  REQUIRE(ids(ds.repeat(0)).empty());
  REQUIRE(ds.repeat().cardinality() == Dataset::kInfinite);
  REQUIRE(ids(ds.repeat().take(7)) == std::vector<int64_t>{0, 1, 2, 0, 1, 2, 0});
  REQUIRE(ds.repeat().take(7).cardinality() == 7);
  REQUIRE(ids(ds.batch(2).repeat(2)) == std::vector<int64_t>{0, 1, 2, 0, 1, 2});
  REQUIRE(ids(Dataset().repeat()).empty());  // an empty pass ends an endless repeat

  Dataset doubled = ds.map([](const std::vector<Tensor>& e) { return std::vector<Tensor>{e[0] * int64_t{2}}; });
  REQUIRE(ids(doubled) == std::vector<int64_t>{0, 2, 4});
  auto b = *doubled.batch(3).begin();
  REQUIRE(b.size() == 1);
  REQUIRE(b[0].shape() == Shape{3});
}

TEST_CASE("data: shard splits a data set into disjoint parts that cover it", "[data]") {
  Dataset ds = numbered(7);
  REQUIRE(ids(ds.shard(2, 0)) == std::vector<int64_t>{0, 2, 4, 6});
  REQUIRE(ids(ds.shard(2, 1)) == std::vector<int64_t>{1, 3, 5});
  REQUIRE(ds.shard(2, 0).cardinality() == 4);
  REQUIRE(ds.shard(2, 1).cardinality() == 3);
  REQUIRE(ids(ds.shard(3, 2)) == std::vector<int64_t>{2, 5});
  REQUIRE(ds.shard(3, 2).cardinality() == 2);
  REQUIRE(ids(ds.shard(1, 0)) == ids(ds));
  REQUIRE(ids(ds.shard(10, 8)).empty());
  REQUIRE(ds.shard(10, 8).cardinality() == 0);
  REQUIRE(ds.repeat().shard(2, 1).cardinality() == Dataset::kInfinite);
  REQUIRE(ids(ds.repeat().shard(2, 1).take(5)) == std::vector<int64_t>{1, 3, 5, 0, 2});
  REQUIRE(ejit::test::error_of([&] { ds.shard(0, 0); }) == "[dataset] shard: count 0 must be at least 1");
  REQUIRE(ejit::test::error_of([&] { ds.shard(2, 2); }) == "[dataset] shard: index 2 is out of range for 2 shards");
  REQUIRE(ejit::test::error_of([&] { ds.shard(2, -1); }) == "[dataset] shard: index -1 is out of range for 2 shards");
}

TEST_CASE("data: shuffle is a seeded permutation, new each pass, reproducible", "[data]") {
  const int64_t n = 50;
  Dataset ds = numbered(n).shuffle(Dataset::kFullShuffle, 42);
  std::vector<int64_t> p1 = ids(ds), p2 = ids(ds);
  REQUIRE(is_permutation_of_iota(p1, n));
  REQUIRE(is_permutation_of_iota(p2, n));
  REQUIRE(p1 != iota(n));
  REQUIRE(p1 != p2);  // the second pass has its own order

  // A fresh pipeline with the same seed replays the same sequence of passes.
  Dataset again = numbered(n).shuffle(Dataset::kFullShuffle, 42);
  REQUIRE(ids(again) == p1);
  REQUIRE(ids(again) == p2);
  REQUIRE(ids(numbered(n).shuffle(Dataset::kFullShuffle, 43)) != p1);

  // Under repeat, each epoch is a different permutation, reproducibly.
  std::vector<int64_t> epochs = ids(numbered(n).shuffle(Dataset::kFullShuffle, 42).repeat(3));
  REQUIRE(epochs.size() == 3 * n);
  REQUIRE(std::vector<int64_t>(epochs.begin(), epochs.begin() + n) == p1);
  REQUIRE(std::vector<int64_t>(epochs.begin() + n, epochs.begin() + 2 * n) == p2);
  for (int e = 0; e < 3; ++e)
    REQUIRE(is_permutation_of_iota({epochs.begin() + e * n, epochs.begin() + (e + 1) * n}, n));

  // A small buffer: still a permutation, and element k comes out of the first k + buffer.
  std::vector<int64_t> local = ids(numbered(n).shuffle(4, 1));
  REQUIRE(is_permutation_of_iota(local, n));
  for (int64_t k = 0; k < n; ++k) REQUIRE(local[k] < k + 4);
  REQUIRE(ids(numbered(n).shuffle(1, 1)) == iota(n));  // a buffer of one keeps the order

  // Batches of shuffled elements keep components together.
  for (const auto& b : numbered(10).shuffle(Dataset::kFullShuffle, 3).batch(4)) {
    auto id = b[0].to_vector<float>();
    auto f = b[1].to_vector<float>();
    for (size_t i = 0; i < id.size(); ++i) REQUIRE(f[2 * i + 1] == 10 * id[i]);
  }
}

TEST_CASE("data: prefetch gives the same stream from a background thread", "[data]") {
  Dataset ds = numbered(40).shuffle(Dataset::kFullShuffle, 9).batch(3).repeat(2);
  Dataset same = numbered(40).shuffle(Dataset::kFullShuffle, 9).batch(3).repeat(2);
  REQUIRE(ids(same.prefetch(2)) == ids(ds));
  REQUIRE(ds.prefetch(4).cardinality() == ds.cardinality());

  std::atomic<int> off_thread{0};
  const auto main_id = std::this_thread::get_id();
  Dataset mapped = numbered(6).map([&](const std::vector<Tensor>& e) {
    if (std::this_thread::get_id() != main_id) ++off_thread;
    return e;
  });
  REQUIRE(ids(mapped.prefetch(1)) == iota(6));
  REQUIRE(off_thread == 6);
  REQUIRE(ids(mapped.prefetch(3).batch(4)) == iota(6));
}

TEST_CASE("data: an exception in map reaches the consumer, after the elements before it", "[data]") {
  Dataset failing = numbered(10).map([](const std::vector<Tensor>& e) {
    if (e[0].item<int64_t>() == 4) throw Error("[test] bad element 4");
    return e;
  });
  for (bool prefetch : {false, true}) {
    INFO("prefetch " << prefetch);
    Dataset ds = prefetch ? failing.prefetch(3) : failing;
    std::vector<int64_t> seen;
    auto run = [&] {
      for (const auto& e : ds) seen.push_back(e[0].item<int64_t>());
    };
    REQUIRE_THROWS_WITH(run(), "[test] bad element 4");
    REQUIRE(seen == std::vector<int64_t>{0, 1, 2, 3});
    // The dataset can be iterated again (and fails again at the same place).
    seen.clear();
    REQUIRE_THROWS_WITH(run(), "[test] bad element 4");
    REQUIRE(seen.size() == 4);
  }
  // A bad batch (shapes differ) is an ejit::Error too.
  Dataset ragged = numbered(4).map([](const std::vector<Tensor>& e) {
    return std::vector<Tensor>{e[0], zeros({e[0].item<int64_t>() + 1})};
  });
  REQUIRE_THROWS_WITH(ids(ragged.batch(2).prefetch(1)), StartsWith("[dataset] batch: component 1 cannot be stacked"));
}

TEST_CASE("data: stopping early while the producer is ahead joins it cleanly", "[data]") {
  std::atomic<int> produced{0};
  Dataset endless = numbered(5)
                        .repeat()
                        .map([&](const std::vector<Tensor>& e) {
                          ++produced;
                          return e;
                        })
                        .prefetch(8);
  for (int round = 0; round < 20; ++round) {
    int k = 0;
    for (const auto& e : endless) {
      (void)e;
      if (++k == 3) break;
    }
  }
  {
    auto it = endless.begin();  // destroyed right away, the producer likely still running
  }
  REQUIRE(produced >= 60);
}

TEST_CASE("data: invalid pipelines are errors", "[data]") {
  REQUIRE_THROWS_WITH(Dataset::from_tensors({zeros({3, 2}), zeros({4})}),
                      StartsWith("[dataset] from_tensors: components have 3 and 4 rows"));
  REQUIRE_THROWS_WITH(Dataset::from_tensors({scalar(1.0f)}), Contains("is a scalar"));
  REQUIRE_THROWS_WITH(Dataset::from_tensors({}), StartsWith("[dataset]"));
  Dataset ds = numbered(3);
  REQUIRE_THROWS_WITH(ds.batch(0), StartsWith("[dataset] batch"));
  REQUIRE_THROWS_WITH(ds.shuffle(0, 1), StartsWith("[dataset] shuffle"));
  REQUIRE_THROWS_WITH(ds.repeat().shuffle(Dataset::kFullShuffle, 1), Contains("endless"));
  REQUIRE_THROWS_WITH(ds.prefetch(0), StartsWith("[dataset] prefetch"));
  REQUIRE_THROWS_WITH(ds.repeat(-2), StartsWith("[dataset] repeat"));
  auto it = ds.take(0).begin();
  REQUIRE(it == ds.end());
  REQUIRE_THROWS_WITH(*it, StartsWith("[dataset]"));
}
