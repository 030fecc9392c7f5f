// Unit tests of the indexing ops: slice, concat, stack, take, gather, pad.
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <vector>

#include "ejit/ejit.h"
#include "test_util.h"

using namespace ejit;
using ejit::test::error_of;

namespace {

using I64s = std::vector<int64_t>;
using F32s = std::vector<float>;

I64s iv(const Tensor& t) { return t.to_vector<int64_t>(); }
F32s fv(const Tensor& t) { return t.to_vector<float>(); }

/// 0..n-1 (i64) in the given shape.
Tensor iota(const Shape& shape) { return reshape(arange(shape.numel()), shape); }

}  // namespace

// ---------------------------------------------------------------- slice

TEST_CASE("indexing: slice with positive steps", "[indexing]") {
  Tensor x = arange(10);
  CHECK(iv(slice(x, 0, 2, 8)) == I64s{2, 3, 4, 5, 6, 7});
  CHECK(iv(slice(x, 0, 1, 9, 2)) == I64s{1, 3, 5, 7});
  CHECK(iv(slice(x, 0, 0, 10, 3)) == I64s{0, 3, 6, 9});
  CHECK(iv(slice(x, 0, 1, {}, 3)) == I64s{1, 4, 7});
  CHECK(iv(slice(x, 0, 2, -2, 3)) == I64s{2, 5});
  CHECK(iv(slice(x, 0, 0, 10, 7)) == I64s{0, 7});
  CHECK(iv(slice(x, 0, 0, 10, 100)) == I64s{0});
  CHECK(slice(x, 0, 1, 9, 2).shape() == Shape{4});
  CHECK(slice(x, 0, 1, 9, 2).dtype() == DType::I64);
  CHECK(iv(x.slice(0, 3, 6)) == I64s{3, 4, 5});  // method form
  CHECK(iv(x) == I64s{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});  // input untouched
}

TEST_CASE("indexing: slice with missing start/stop", "[indexing]") {
  Tensor x = arange(10);
  CHECK(iv(slice(x, 0, {}, 5)) == I64s{0, 1, 2, 3, 4});
  CHECK(iv(slice(x, 0, 5, {})) == I64s{5, 6, 7, 8, 9});
  CHECK(iv(slice(x, 0, std::nullopt, std::nullopt)) == iv(x));
  CHECK(iv(slice(x, 0, std::nullopt, 3, 1)) == I64s{0, 1, 2});
  CHECK(iv(slice(x, 0, {}, {}, 2)) == I64s{0, 2, 4, 6, 8});
}

TEST_CASE("indexing: slice with negative steps", "[indexing]") {
  Tensor x = arange(10);
  CHECK(iv(slice(x, 0, {}, {}, -1)) == I64s{9, 8, 7, 6, 5, 4, 3, 2, 1, 0});
  CHECK(iv(slice(x, 0, std::nullopt, std::nullopt, -1)) == I64s{9, 8, 7, 6, 5, 4, 3, 2, 1, 0});
  CHECK(iv(slice(x, 0, 8, 2, -2)) == I64s{8, 6, 4});
  CHECK(iv(slice(x, 0, {}, {}, -3)) == I64s{9, 6, 3, 0});
  CHECK(iv(slice(x, 0, 7, {}, -1)) == I64s{7, 6, 5, 4, 3, 2, 1, 0});
  CHECK(iv(slice(x, 0, {}, 3, -1)) == I64s{9, 8, 7, 6, 5, 4});
  CHECK(iv(slice(x, 0, 9, 0, -4)) == I64s{9, 5, 1});
  // A start of n clamps to the last element, as in Python's x[10::-2].
  CHECK(iv(slice(x, 0, 10, {}, -2)) == I64s{9, 7, 5, 3, 1});
  // Reversing twice gives x back.
  CHECK(iv(slice(slice(x, 0, {}, {}, -1), 0, {}, {}, -1)) == iv(x));
  // f32 and bool data reverse too.
  CHECK(fv(slice(tensor({1.f, 2.f, 3.f}), 0, {}, {}, -1)) == F32s{3, 2, 1});
  CHECK(slice(tensor({true, false, false}), 0, {}, {}, -1).to_vector<bool>() == std::vector<bool>{false, false, true});
}

TEST_CASE("indexing: slice with negative bounds", "[indexing]") {
  Tensor x = arange(10);
  CHECK(iv(slice(x, 0, -3, {})) == I64s{7, 8, 9});
  CHECK(iv(slice(x, 0, -8, -2, 2)) == I64s{2, 4, 6});
  CHECK(iv(slice(x, 0, -1, -10, -1)) == I64s{9, 8, 7, 6, 5, 4, 3, 2, 1});
  CHECK(iv(slice(x, 0, {}, -10, -1)) == I64s{9, 8, 7, 6, 5, 4, 3, 2, 1});
  CHECK(iv(slice(x, 0, -10, {})) == iv(x));
  CHECK(iv(slice(x, 0, -10, {}, -1)) == I64s{0});
  CHECK(iv(slice(x, 0, 0, 10)) == iv(x));  // bounds of exactly n are allowed
}

TEST_CASE("indexing: slice with empty results", "[indexing]") {
  Tensor x = arange(10);
  for (Tensor e : {slice(x, 0, 5, 5), slice(x, 0, 7, 3), slice(x, 0, 3, 7, -1), slice(x, 0, 10, {}),
                   slice(x, 0, -1, -1, -1), slice(x, 0, {}, 0), slice(x, 0, 0, 1, -1), slice(x, 0, 10, 10, 3)}) {
    CHECK(e.shape() == Shape{0});
    CHECK(e.numel() == 0);
    CHECK(e.dtype() == DType::I64);
  }
  // Slicing an empty dim.
  Tensor z = zeros({0, 3});
  CHECK(slice(z, 0, {}, {}).shape() == Shape{0, 3});
  CHECK(slice(z, 0, {}, {}, -1).shape() == Shape{0, 3});
  CHECK(slice(z, 1, 1, {}).shape() == Shape{0, 2});
  // An empty slice of a 2-D tensor keeps the other dims.
  Tensor m = iota({3, 4});
  CHECK(slice(m, 1, 2, 2).shape() == Shape{3, 0});
}

TEST_CASE("indexing: slice of 2-D and 3-D tensors along any axis", "[indexing]") {
  Tensor m = iota({3, 4});  // [[0,1,2,3],[4,5,6,7],[8,9,10,11]]
  CHECK(slice(m, 1, 1, {}, 2).shape() == Shape{3, 2});
  CHECK(iv(slice(m, 1, 1, {}, 2)) == I64s{1, 3, 5, 7, 9, 11});
  CHECK(iv(slice(m, -1, {}, {}, -1)) == I64s{3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8});
  CHECK(iv(slice(m, 0, {}, {}, -2)) == I64s{8, 9, 10, 11, 0, 1, 2, 3});
  CHECK(iv(slice(m, 0, 1, 2)) == I64s{4, 5, 6, 7});
  CHECK(iv(slice(m, 1, -3, -1)) == I64s{1, 2, 5, 6, 9, 10});

  Tensor c = iota({2, 3, 4});  // c[i,j,k] = 12i + 4j + k
  Tensor s = slice(c, 1, {}, {}, -2);  // j = 2, 0
  REQUIRE(s.shape() == Shape{2, 2, 4});
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t a = 0; a < 2; ++a)
      for (int64_t k = 0; k < 4; ++k) CHECK(s.at<int64_t>({i, a, k}) == 12 * i + 4 * (2 - 2 * a) + k);
  Tensor t = slice(c, 2, 3, 0, -3);  // k = 3 only
  CHECK(t.shape() == Shape{2, 3, 1});
  CHECK(iv(t) == I64s{3, 7, 11, 15, 19, 23});
}

// ---------------------------------------------------------------- concat / stack

TEST_CASE("indexing: concat promotes dtypes", "[indexing]") {
  Tensor a = tensor({1, 2, 3, 4}, {2, 2});     // i32
  Tensor b = tensor({0.5f, 1.5f}, {2, 1});     // f32
  Tensor c = concat({a, b}, -1);
  CHECK(c.dtype() == DType::F32);
  CHECK(c.shape() == Shape{2, 3});
  CHECK(fv(c) == F32s{1, 2, 0.5f, 3, 4, 1.5f});
  CHECK(concat({b, a}, 1).dtype() == DType::F32);
  CHECK(fv(concat({b, a}, 1)) == F32s{0.5f, 1, 2, 1.5f, 3, 4});
  // Inputs keep their dtypes.
  CHECK(a.dtype() == DType::I32);
  CHECK(b.dtype() == DType::F32);
  // bool + i64 -> i64, i32 + f64 -> f64.
  Tensor d = concat({tensor({true, false}), arange(3)});
  CHECK(d.dtype() == DType::I64);
  CHECK(iv(d) == I64s{1, 0, 0, 1, 2});
  Tensor e = concat({tensor({7}), tensor({0.25})});
  CHECK(e.dtype() == DType::F64);
  CHECK(e.to_vector<double>() == std::vector<double>{7.0, 0.25});
}

TEST_CASE("indexing: concat of three inputs", "[indexing]") {
  Tensor a = tensor({1.f, 2.f}, {1, 2});
  Tensor b = tensor({3.f, 4.f, 5.f, 6.f}, {2, 2});
  Tensor c = tensor({7.f, 8.f, 9.f, 10.f, 11.f, 12.f}, {3, 2});
  Tensor r = concat({a, b, c});  // axis 0 by default
  CHECK(r.shape() == Shape{6, 2});
  CHECK(fv(r) == F32s{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});

  Tensor p = tensor({1.f, 2.f}, {2, 1});
  Tensor q = tensor({3.f, 4.f, 5.f, 6.f}, {2, 2});
  Tensor s = tensor({7.f, 8.f, 9.f, 10.f, 11.f, 12.f}, {2, 3});
  Tensor r1 = concat({p, q, s}, 1);
  CHECK(r1.shape() == Shape{2, 6});
  CHECK(fv(r1) == F32s{1, 3, 4, 7, 8, 9, 2, 5, 6, 10, 11, 12});
  CHECK(fv(concat({p, q, s}, -1)) == fv(r1));

  // Axis -1 of 3-D tensors.
  Tensor x = iota({2, 2, 1}), y = iota({2, 2, 2}), z = full({2, 2, 1}, int64_t{-1});
  Tensor r3 = concat({x, y, z}, -1);
  CHECK(r3.shape() == Shape{2, 2, 4});
  CHECK(iv(r3) == I64s{0, 0, 1, -1, 1, 2, 3, -1, 2, 4, 5, -1, 3, 6, 7, -1});
  // Middle axis.
  Tensor r2 = concat({iota({2, 1, 2}), iota({2, 2, 2})}, 1);
  CHECK(r2.shape() == Shape{2, 3, 2});
  CHECK(iv(r2) == I64s{0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("indexing: concat with one input and with empty inputs", "[indexing]") {
  Tensor a = tensor({1.f, 2.f, 3.f});
  CHECK(fv(concat({a})) == F32s{1, 2, 3});
  Tensor e = zeros({0});
  CHECK(fv(concat({e, a, e})) == F32s{1, 2, 3});
  CHECK(concat({zeros({0, 2}), zeros({0, 2})}).shape() == Shape{0, 2});
  CHECK(fv(concat({tensor({1.f, 2.f}, {1, 2}), zeros({0, 2})}, 0)) == F32s{1, 2});
}

TEST_CASE("indexing: stack along a new first or last axis", "[indexing]") {
  Tensor a = tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  Tensor b = a * 10.f;
  Tensor c = a * 100.f;

  Tensor s0 = stack({a, b, c});  // axis 0 by default
  REQUIRE(s0.shape() == Shape{3, 2, 3});
  Tensor s0b = stack({a, b, c}, 0);
  CHECK(fv(s0b) == fv(s0));
  std::vector<Tensor> parts{a, b, c};
  for (int64_t k = 0; k < 3; ++k)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 3; ++j) CHECK(s0.at<float>({k, i, j}) == parts[k].at<float>({i, j}));
  CHECK(fv(s0) == F32s{1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60, 100, 200, 300, 400, 500, 600});

  Tensor sl = stack({a, b, c}, -1);  // new last axis
  REQUIRE(sl.shape() == Shape{2, 3, 3});
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < 3; ++k) CHECK(sl.at<float>({i, j, k}) == parts[k].at<float>({i, j}));
  CHECK(fv(stack({a, b, c}, 2)) == fv(sl));

  Tensor sm = stack({a, b}, 1);
  CHECK(sm.shape() == Shape{2, 2, 3});
  CHECK(fv(sm) == F32s{1, 2, 3, 10, 20, 30, 4, 5, 6, 40, 50, 60});

  // 1-D inputs stacked as columns; scalars stacked into a vector.
  CHECK(iv(stack({arange(3), arange(3) + int64_t{5}}, 1)) == I64s{0, 5, 1, 6, 2, 7});
  Tensor v = stack({scalar(1.f), scalar(2.f), scalar(3.f)});
  CHECK(v.shape() == Shape{3});
  CHECK(fv(v) == F32s{1, 2, 3});
  // Mixed dtypes promote as in concat.
  CHECK(stack({tensor({1, 2}), tensor({0.5f, 1.5f})}).dtype() == DType::F32);
}

// ---------------------------------------------------------------- take

TEST_CASE("indexing: take with 1-D indices", "[indexing]") {
  Tensor x = iota({3, 4});  // [[0,1,2,3],[4,5,6,7],[8,9,10,11]]
  Tensor rows = take(x, tensor({2, 0}), 0);
  CHECK(rows.shape() == Shape{2, 4});
  CHECK(iv(rows) == I64s{8, 9, 10, 11, 0, 1, 2, 3});
  CHECK(iv(take(x, tensor({2, 0}))) == iv(rows));  // axis 0 by default

  Tensor cols = take(x, from_vector<int64_t>({3, 3, 1}, {3}), 1);
  CHECK(cols.shape() == Shape{3, 3});
  CHECK(iv(cols) == I64s{3, 3, 1, 7, 7, 5, 11, 11, 9});
  CHECK(iv(take(x, tensor({3, 3, 1}), -1)) == iv(cols));

  // Negative indices wrap once.
  CHECK(iv(take(x, tensor({-1, -3}), 0)) == I64s{8, 9, 10, 11, 0, 1, 2, 3});
  CHECK(iv(take(x, tensor({-4, -1}), 1)) == I64s{0, 3, 4, 7, 8, 11});

  // Empty indices.
  CHECK(take(x, from_vector<int64_t>({}, {0}), 1).shape() == Shape{3, 0});

  // A 1-D f32 source.
  CHECK(fv(take(tensor({10.f, 20.f, 30.f}), tensor({2, 2, 0, -2}))) == F32s{30, 30, 10, 20});
}

TEST_CASE("indexing: take with 2-D and rank-0 indices", "[indexing]") {
  Tensor x = iota({3, 4});
  Tensor idx = tensor({0, 3, 1, -1}, {2, 2});
  Tensor t = take(x, idx, 1);  // out[i,a,b] = x[i, idx[a,b]]
  REQUIRE(t.shape() == Shape{3, 2, 2});
  CHECK(iv(t) == I64s{0, 3, 1, 3, 4, 7, 5, 7, 8, 11, 9, 11});

  Tensor t0 = take(x, tensor({2, 0, 1, 2}, {2, 2}), 0);  // out[a,b,j] = x[idx[a,b], j]
  REQUIRE(t0.shape() == Shape{2, 2, 4});
  CHECK(iv(t0) == I64s{8, 9, 10, 11, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});

  // A rank-0 index drops the axis.
  Tensor col = take(x, scalar(int64_t{1}), 1);
  CHECK(col.shape() == Shape{3});
  CHECK(iv(col) == I64s{1, 5, 9});
  Tensor row = take(x, scalar(int32_t{-1}), 0);
  CHECK(row.shape() == Shape{4});
  CHECK(iv(row) == I64s{8, 9, 10, 11});

  // Middle axis of a 3-D tensor: shape x[:1] + idx + x[2:].
  Tensor c = iota({2, 3, 2});  // c[i,j,k] = 6i + 2j + k
  Tensor tm = take(c, tensor({2, 0}, {1, 2}), 1);
  REQUIRE(tm.shape() == Shape{2, 1, 2, 2});
  CHECK(iv(tm) == I64s{4, 5, 0, 1, 10, 11, 6, 7});
}

// ---------------------------------------------------------------- gather

TEST_CASE("indexing: index_add adds slices at indices, repeats in order, and is take's gradient", "[indexing]") {
  Tensor x = iota({3, 4});  // [[0,1,2,3],[4,5,6,7],[8,9,10,11]]
  // Rows: repeated and negative indices add up.
  Tensor rows = index_add(x, tensor({2, 0, -1}), from_vector<int64_t>({1, 1, 1, 1, 10, 10, 10, 10, 100, 100, 100, 100}, {3, 4}));
  CHECK(iv(rows) == I64s{10, 11, 12, 13, 4, 5, 6, 7, 109, 110, 111, 112});
  CHECK(iv(x) == I64s{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});  // x itself is unchanged
  // Columns, 2-D indices: updates have take's result shape.
  Tensor idx = tensor({3, 3, 0, -1}, {2, 2});
  Tensor cols = index_add(cast(x, DType::F32), idx, full({3, 2, 2}, 0.5), 1);
  CHECK(fv(cols) == F32s{0.5, 1, 2, 4.5, 4.5, 5, 6, 8.5, 8.5, 9, 10, 12.5});
  // Every dtype but bool; empty indices leave x as it is.
  for (DType dt : {DType::I32, DType::I64, DType::F32, DType::F64}) {
    Tensor y = index_add(cast(x, dt), tensor({1}), cast(full({1, 4}, 2.0), dt), 0);
    CHECK(y.dtype() == dt);
    CHECK(iv(cast(y, DType::I64)) == I64s{0, 1, 2, 3, 6, 7, 8, 9, 8, 9, 10, 11});
  }
  CHECK(iv(index_add(x, from_vector<int64_t>({}, {0}), from_vector<int64_t>({}, {3, 0}), 1)) == iv(x));
  {
    // Many rows (outer indices in parallel on the pool), repeated i32 indices along the columns,
    // updates that round: every row adds in index order, as a plain loop does.
    const int64_t n_rows = 4096, n_cols = 16, k = 40;
    std::vector<int32_t> ids(k);
    for (int64_t j = 0; j < k; ++j) ids[static_cast<size_t>(j)] = static_cast<int32_t>((j * 7) % 5 - 2);  // -2..2
    const Tensor base = rand({n_rows, n_cols}, 5), upd = rand({n_rows, k}, 6, DType::F32, -1.0, 1.0);
    const Tensor added = index_add(base, from_vector(ids, {k}), upd, 1);
    F32s want = fv(base);
    const F32s u = fv(upd);
    for (int64_t o = 0; o < n_rows; ++o)
      for (int64_t j = 0; j < k; ++j) {
        const int64_t c = ids[static_cast<size_t>(j)] < 0 ? ids[static_cast<size_t>(j)] + n_cols : ids[static_cast<size_t>(j)];
        want[static_cast<size_t>(o * n_cols + c)] += u[static_cast<size_t>(o * k + j)];
      }
    CHECK(fv(added) == want);
  }
  CHECK(index_add(zeros({0, 4}), from_vector<int64_t>({}, {0}), zeros({0, 0}), 1).shape() == Shape{0, 4});
  // An x given up (an rvalue) may hold the result; one another handle shares is never changed.
  Tensor mine = cast(x, DType::F32), shared = cast(x, DType::F32), other = shared;
  const Tensor ones = full({2, 4}, 1.0);
  Tensor r1 = index_add(std::move(mine), tensor({0, 0}), ones, 0), r2 = index_add(std::move(shared), tensor({0, 0}), ones, 0);
  CHECK(!mine.defined());
  CHECK(!shared.defined());
  CHECK(fv(r1) == fv(r2));
  CHECK(fv(r1) == F32s{2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 10, 11});
  CHECK(fv(other) == fv(cast(x, DType::F32)));
  // Errors name the op and the shapes.
  CHECK_THAT(error_of([&] { index_add(x, tensor({3}), full({1, 4}, 1.0, DType::I64), 0); }),
             Catch::Contains("[index_add] index 3 is out of range for dim 0 of size 3 (shape (3,4))"));
  CHECK_THAT(error_of([&] { index_add(x, tensor({1}), full({1, 3}, 1.0, DType::I64), 0); }),
             Catch::Contains("[index_add] updates of shape (1,3) and dtype i64 do not fit x (3,4) i64 with indices (1,) along axis 0 (expected (1,4) i64)"));
  CHECK_THAT(error_of([&] { index_add(x, tensor({1}), full({1, 4}, 1.0), 0); }), Catch::Contains("[index_add] updates of shape (1,4) and dtype f32"));
  CHECK_THAT(error_of([&] { index_add(x, tensor({1.f}), full({1, 4}, 1.0, DType::I64), 0); }),
             Catch::Contains("[index_add] indices must be i32 or i64, got f32"));
  CHECK_THAT(error_of([&] { index_add(x > int64_t{2}, tensor({1}), full({1, 4}, true, DType::Bool), 0); }),
             Catch::Contains("[index_add] not defined for dtype bool"));
  CHECK_THAT(error_of([&] { index_add(x, tensor({1}), full({1, 4}, 1.0, DType::I64), 2); }), Catch::Contains("index_add"));
}

TEST_CASE("indexing: scatter_add adds each element where gather reads it, in order, and is gather's adjoint", "[indexing]") {
  Tensor x = iota({3, 4});  // [[0,1,2,3],[4,5,6,7],[8,9,10,11]]
  // Along the columns, two picks per row, repeats and negative indices add up.
  Tensor idx = tensor({0, 0, 3, -1, 2, 1}, {3, 2});
  Tensor cols = scatter_add(x, idx, from_vector<int64_t>({1, 10, 100, 1000, 5, 7}, {3, 2}), 1);
  CHECK(iv(cols) == I64s{11, 1, 2, 3, 4, 5, 6, 1107, 8, 16, 15, 11});
  CHECK(iv(x) == I64s{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});  // x itself is unchanged
  // Along the rows; indices broadcast over the columns (one row of indices for every column).
  Tensor rows = scatter_add(cast(x, DType::F32), tensor({2, 2}, {2, 1}), full({2, 4}, 0.5), 0);
  CHECK(fv(rows) == F32s{0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12});
  // x of size 1 on a dim indices spans: the updates along it add up at 0.
  Tensor narrow = scatter_add(zeros({1, 3}), tensor({0, 2, 2, 1}, {4, 1}), from_vector<float>({1, 2, 3, 4}, {4, 1}), 1);
  CHECK(fv(narrow) == F32s{1, 4, 5});
  // The adjoint of gather: <gather(a, i), u> == <a, scatter_add(0, i, u)> for random data.
  const Tensor a = randn({5, 6, 3}, 7, DType::F64), gi = cast(floor(rand({5, 9, 1}, 8, DType::F64, 0.0, 5.999)), DType::I64);
  const Tensor u = randn(gather(a, gi, 1).shape(), 9, DType::F64);
  const double lhs = sum(gather(a, gi, 1) * u).item<double>(), rhs = sum(a * scatter_add(zeros_like(a), gi, u, 1)).item<double>();
  CHECK(std::fabs(lhs - rhs) < 1e-9 * (1 + std::fabs(lhs)));
  // Every dtype but bool; nothing to add leaves x as it is.
  for (DType dt : {DType::I32, DType::I64, DType::F32, DType::F64}) {
    Tensor y = scatter_add(cast(x, dt), tensor({1, 1, 1, 1}, {1, 4}), cast(full({1, 4}, 2.0), dt), 0);
    CHECK(y.dtype() == dt);
    CHECK(iv(cast(y, DType::I64)) == I64s{0, 1, 2, 3, 6, 7, 8, 9, 8, 9, 10, 11});
  }
  CHECK(iv(scatter_add(x, from_vector<int64_t>({}, {3, 0}), from_vector<int64_t>({}, {3, 0}), 1)) == iv(x));
  // An x given up (an rvalue) may hold the result; one another handle shares is never changed.
  Tensor mine = cast(x, DType::F32), shared = cast(x, DType::F32), other = shared;
  const Tensor twos = full({1, 4}, 2.0);
  Tensor r1 = scatter_add(std::move(mine), tensor({0, 0, 0, 0}, {1, 4}), twos, 0);
  Tensor r2 = scatter_add(std::move(shared), tensor({0, 0, 0, 0}, {1, 4}), twos, 0);
  CHECK(!mine.defined());
  CHECK(fv(r1) == fv(r2));
  CHECK(fv(r1) == F32s{2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 10, 11});
  CHECK(fv(other) == fv(cast(x, DType::F32)));
  // Errors name the op and the shapes.
  CHECK_THAT(error_of([&] { scatter_add(x, tensor({0, 1}, {2, 1}), full({2, 1}, 1.0, DType::I64), 1); }),
             Catch::Contains("[scatter_add] x (3,4) and indices (2,1) cannot broadcast on dim 0"));
  CHECK_THAT(error_of([&] { scatter_add(x, tensor({4, 0, 1}, {3, 1}), full({3, 1}, 1.0, DType::I64), 1); }),
             Catch::Contains("[scatter_add] index 4 is out of range for dim 1 of size 4 (shape (3,4))"));
  CHECK_THAT(error_of([&] { scatter_add(x, tensor({0, 0, 1}, {3, 1}), full({3, 2}, 1.0, DType::I64), 1); }),
             Catch::Contains("[scatter_add] updates of shape (3,2) and dtype i64 do not fit x (3,4) i64 with indices (3,1) "
                             "along axis 1 (expected gather's result (3,1) i64)"));
  CHECK_THAT(error_of([&] { scatter_add(x, tensor({0, 1}), full({2}, 1.0, DType::I64), 0); }),
             Catch::Contains("[scatter_add] indices of shape (2,) must have the rank of x (3,4)"));
  CHECK_THAT(error_of([&] { scatter_add(x > int64_t{2}, tensor({1}, {1, 1}), full({1, 4}, true, DType::Bool), 0); }),
             Catch::Contains("[scatter_add] not defined for dtype bool"));
  CHECK_THAT(error_of([&] { scatter_add(scalar(1.0), tensor({0}), scalar(1.0), 0); }),
             Catch::Contains("[scatter_add] cannot add into a rank-0 tensor"));
}

TEST_CASE("indexing: gather is take_along_axis", "[indexing]") {
  Tensor x = iota({3, 4});  // [[0,1,2,3],[4,5,6,7],[8,9,10,11]]
  SECTION("one index per row along axis 1") {
    Tensor g = gather(x, tensor({3, 0, 2}, {3, 1}), 1);
    CHECK(g.shape() == Shape{3, 1});
    CHECK(g.dtype() == DType::I64);
    CHECK(iv(g) == I64s{3, 4, 10});
    CHECK(iv(gather(x, tensor({3, 0, 2}, {3, 1}), -1)) == I64s{3, 4, 10});
  }
  SECTION("several indices per row, negative ones wrap") {
    Tensor g = gather(x, from_vector<int64_t>({0, -1, 1, 1, 2, -4}, {3, 2}), 1);
    CHECK(g.shape() == Shape{3, 2});
    CHECK(iv(g) == I64s{0, 3, 5, 5, 10, 8});
  }
  SECTION("along axis 0") {
    Tensor g = gather(x, tensor({2, 0, 1, 2, 0, 0, 0, -1}, {2, 4}), 0);  // out[i,j] = x[idx[i,j], j]
    CHECK(g.shape() == Shape{2, 4});
    CHECK(iv(g) == I64s{8, 1, 6, 11, 0, 1, 2, 11});
  }
  SECTION("more indices than the axis has") {
    Tensor g = gather(tensor({1.f, 2.f, 3.f}, {1, 3}), tensor({2, 2, 1, 0, 2}, {1, 5}), 1);
    CHECK(g.shape() == Shape{1, 5});
    CHECK(fv(g) == F32s{3, 3, 2, 1, 3});
  }
  SECTION("indices of size 1 broadcast on the other dims") {
    Tensor g = gather(x, tensor({3, 1}, {1, 2}), 1);  // the same columns for every row
    CHECK(g.shape() == Shape{3, 2});
    CHECK(iv(g) == I64s{3, 1, 7, 5, 11, 9});
    Tensor g0 = gather(x, tensor({2}, {1, 1}), 0);
    CHECK(g0.shape() == Shape{1, 4});
    CHECK(iv(g0) == I64s{8, 9, 10, 11});
  }
  SECTION("x of size 1 broadcasts on the other dims") {
    Tensor row = tensor({10.f, 20.f, 30.f, 40.f}, {1, 4});
    Tensor g = gather(row, tensor({0, 1, 2, 3, 3, 0}, {3, 2}), 1);
    CHECK(g.shape() == Shape{3, 2});
    CHECK(fv(g) == F32s{10, 20, 30, 40, 40, 10});
  }
  SECTION("3-D along the middle axis") {
    Tensor c = iota({2, 3, 4});  // c[i,j,k] = 12i + 4j + k
    Tensor idx = tensor({2, 0, 1, 2, 1, 1, 0, -1}, {2, 1, 4});
    Tensor g = gather(c, idx, 1);  // out[i,0,k] = c[i, idx[i,0,k], k]
    CHECK(g.shape() == Shape{2, 1, 4});
    CHECK(iv(g) == I64s{8, 1, 6, 11, 16, 17, 14, 23});
  }
  SECTION("empty indices") {
    CHECK(gather(x, from_vector<int64_t>({}, {3, 0}), 1).shape() == Shape{3, 0});
  }
  CHECK(iv(x) == I64s{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
}

// ---------------------------------------------------------------- pad

TEST_CASE("indexing: pad", "[indexing]") {
  Tensor m = tensor({1.f, 2.f, 3.f, 4.f}, {2, 2});
  SECTION("constant value, before on one dim and after on another") {
    Tensor p = pad(m, {{1, 0}, {0, 2}}, 9.f);
    CHECK(p.shape() == Shape{3, 4});
    CHECK(p.dtype() == DType::F32);
    CHECK(fv(p) == F32s{9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9});
  }
  SECTION("default value 0 on every side") {
    Tensor p = pad(m, {{1, 1}, {1, 1}});
    CHECK(p.shape() == Shape{4, 4});
    CHECK(fv(p) == F32s{0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0});
  }
  SECTION("zero widths copy") {
    CHECK(fv(pad(m, {{0, 0}, {0, 0}}, 5)) == fv(m));
  }
  SECTION("1-D integer tensor keeps its dtype") {
    Tensor p = pad(tensor({1, 2, 3}), {{2, 1}}, -1);
    CHECK(p.dtype() == DType::I32);
    CHECK(p.to_vector<int32_t>() == std::vector<int32_t>{-1, -1, 1, 2, 3, -1});
  }
  SECTION("widths on three dims") {
    Tensor p = pad(iota({1, 2, 2}), {{1, 0}, {0, 1}, {2, 0}}, int64_t{7});
    REQUIRE(p.shape() == Shape{2, 3, 4});
    CHECK(iv(p) == I64s{7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,  //
                        7, 7, 0, 1, 7, 7, 2, 3, 7, 7, 7, 7});
  }
  SECTION("bool and empty inputs") {
    CHECK(pad(tensor({true}), {{1, 1}}).to_vector<bool>() == std::vector<bool>{false, true, false});
    Tensor e = pad(zeros({0, 2}), {{1, 1}, {0, 0}}, 3.f);
    CHECK(e.shape() == Shape{2, 2});
    CHECK(fv(e) == F32s{3, 3, 3, 3});
  }
  CHECK(fv(m) == F32s{1, 2, 3, 4});
}
