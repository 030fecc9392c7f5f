// Unit tests of the shape ops: reshape, permute/transpose, broadcast_to, squeeze, unsqueeze.
#include <catch2/catch.hpp>

#include <cstdint>
#include <numeric>
#include <vector>

#include "ejit/ejit.h"

using namespace ejit;

namespace {

/// 0, 1, ..., numel-1 as f32 in the given shape.
Tensor iota_f32(const Shape& shape) {
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  std::iota(v.begin(), v.end(), 0.f);
  return from_vector(v, shape);
}

/// Row-major multi-index of flat position `flat` in `shape`.
std::vector<int64_t> unravel(int64_t flat, const Shape& shape) {
  std::vector<int64_t> idx(shape.rank());
  for (int d = shape.rank() - 1; d >= 0; --d) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return idx;
}

/// Flat row-major position of a multi-index in `shape`.
int64_t ravel(const std::vector<int64_t>& idx, const Shape& shape) {
  int64_t flat = 0;
  for (int d = 0; d < shape.rank(); ++d) flat = flat * shape[d] + idx[d];
  return flat;
}

/// What permute(x, perm) must hold, computed one element at a time from x's values.
std::vector<float> permuted_reference(const std::vector<float>& src, const Shape& src_shape,
                                      const std::vector<int64_t>& perm) {
  std::vector<int64_t> out_dims;
  for (int64_t p : perm) out_dims.push_back(src_shape[static_cast<int>(p)]);
  Shape out_shape(out_dims);
  std::vector<float> out(static_cast<size_t>(out_shape.numel()));
  for (int64_t f = 0; f < out_shape.numel(); ++f) {
    std::vector<int64_t> oi = unravel(f, out_shape), si(src_shape.rank());
    for (size_t i = 0; i < perm.size(); ++i) si[static_cast<size_t>(perm[i])] = oi[i];
    out[static_cast<size_t>(f)] = src[static_cast<size_t>(ravel(si, src_shape))];
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- reshape

TEST_CASE("shape_ops: reshape keeps row-major order", "[shape]") {
  Tensor x = tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  Tensor y = reshape(x, {3, 2});
  CHECK(y.shape() == Shape{3, 2});
  CHECK(y.dtype() == DType::F32);
  CHECK(y.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(y.at<float>({0, 1}) == 2.f);
  CHECK(y.at<float>({1, 0}) == 3.f);
  CHECK(y.at<float>({2, 1}) == 6.f);

  Tensor flat = reshape(x, {6});
  CHECK(flat.shape() == Shape{6});
  CHECK(flat.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});

  Tensor m = x.reshape({1, 6, 1});  // method form
  CHECK(m.shape() == Shape{1, 6, 1});
  CHECK(m.at<float>({0, 4, 0}) == 5.f);
}

TEST_CASE("shape_ops: reshape infers one -1 dim", "[shape]") {
  Tensor x = arange(24);
  CHECK(reshape(x, {-1}).shape() == Shape{24});
  CHECK(reshape(x, {-1, 6}).shape() == Shape{4, 6});
  CHECK(reshape(x, {2, -1}).shape() == Shape{2, 12});
  CHECK(reshape(x, {2, -1, 4}).shape() == Shape{2, 3, 4});
  CHECK(reshape(x, {2, 3, 4, -1}).shape() == Shape{2, 3, 4, 1});
  Tensor y = reshape(x, {2, -1, 4});
  CHECK(y.dtype() == DType::I64);
  CHECK(y.at<int64_t>({1, 2, 3}) == 23);
  CHECK(y.at<int64_t>({1, 0, 1}) == 13);
}

TEST_CASE("shape_ops: reshape shares storage with its input", "[shape]") {
  Tensor x = tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  Tensor y = reshape(x, {3, -1});
  REQUIRE(y.shares_storage(x));
  REQUIRE(x.shares_storage(y));
  CHECK(y.raw_data() == x.raw_data());

  // A write through the view is seen by the original (and the other way round).
  y.data<float>()[4] = 42.f;
  CHECK(x.at<float>({1, 1}) == 42.f);
  x.data<float>()[0] = -1.f;
  CHECK(y.at<float>({0, 0}) == -1.f);
  // The original keeps its shape.
  CHECK(x.shape() == Shape{2, 3});

  // A fresh op result does not share.
  Tensor z = x + 1.f;
  CHECK_FALSE(z.shares_storage(x));

  // The view outlives the original handle.
  Tensor v;
  {
    Tensor tmp = tensor({7.f, 8.f}, {2});
    v = reshape(tmp, {1, 2});
  }
  CHECK(v.to_vector<float>() == std::vector<float>{7.f, 8.f});
}

TEST_CASE("shape_ops: reshape of zero-size tensors", "[shape]") {
  Tensor x = zeros({0, 3});
  CHECK(x.numel() == 0);
  CHECK(reshape(x, {3, 0}).shape() == Shape{3, 0});
  CHECK(reshape(x, {0}).shape() == Shape{0});
  CHECK(reshape(x, {-1}).shape() == Shape{0});
  CHECK(reshape(x, {-1, 3}).shape() == Shape{0, 3});
  // A -1 next to a 0 dim is ambiguous (NumPy refuses it too).
  CHECK_THROWS_AS((reshape(x, {2, 0, -1})), Error);
  CHECK(reshape(x, {5, 0, 7}).shape() == Shape{5, 0, 7});
  CHECK(reshape(x, {5, 0, 7}).numel() == 0);
  CHECK(reshape(x, {3, 0}).to_vector<float>().empty());
}

TEST_CASE("shape_ops: reshape to and from rank 0", "[shape]") {
  Tensor s = scalar(7.5f);
  CHECK(s.rank() == 0);
  CHECK(s.shape() == Shape{});
  CHECK(s.numel() == 1);

  Tensor one = reshape(s, {1});
  CHECK(one.shape() == Shape{1});
  CHECK(one.item<float>() == 7.5f);
  CHECK(reshape(s, {-1}).shape() == Shape{1});
  CHECK(reshape(s, {1, 1, -1}).shape() == Shape{1, 1, 1});

  Tensor back = reshape(tensor({3.f}, {1, 1, 1}), Shape{});
  CHECK(back.rank() == 0);
  CHECK(back.item<float>() == 3.f);
  CHECK(back.at<float>({}) == 3.f);
  CHECK(reshape(s, Shape{}).shares_storage(s));
}

// ---------------------------------------------------------------- permute / transpose

TEST_CASE("shape_ops: transpose of a matrix", "[shape]") {
  Tensor x = tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  Tensor t = transpose(x);
  CHECK(t.shape() == Shape{3, 2});
  CHECK(t.to_vector<float>() == std::vector<float>{1, 4, 2, 5, 3, 6});
  CHECK(transpose(x, 0, 1).to_vector<float>() == std::vector<float>{1, 4, 2, 5, 3, 6});
  CHECK(transpose(x, -1, -2).to_vector<float>() == std::vector<float>{1, 4, 2, 5, 3, 6});
  CHECK(x.transpose().to_vector<float>() == std::vector<float>{1, 4, 2, 5, 3, 6});
  // Swapping a dim with itself changes nothing.
  CHECK(transpose(x, 1, 1).shape() == Shape{2, 3});
  CHECK(transpose(x, 1, -1).to_vector<float>() == x.to_vector<float>());
  // Transposing twice gives x back; the input is untouched.
  CHECK(transpose(t).to_vector<float>() == x.to_vector<float>());
  CHECK(x.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
  // Other dtypes.
  Tensor xi = tensor({1, 2, 3, 4, 5, 6}, {3, 2});
  CHECK(transpose(xi).dtype() == DType::I32);
  CHECK(transpose(xi).to_vector<int32_t>() == std::vector<int32_t>{1, 3, 5, 2, 4, 6});
  Tensor xb = tensor({true, false, false, true, true, false}, {2, 3});
  CHECK(transpose(xb).to_vector<bool>() == std::vector<bool>{true, true, false, true, false, false});
  Tensor xd = tensor({1.0, 2.0, 3.0, 4.0}, {2, 2});
  CHECK(transpose(xd).to_vector<double>() == std::vector<double>{1, 3, 2, 4});
}

TEST_CASE("shape_ops: transpose of rank 0 and rank 1", "[shape]") {
  Tensor s = scalar(2.f);
  CHECK(transpose(s).shape() == Shape{});
  CHECK(transpose(s).item<float>() == 2.f);
  Tensor v = tensor({1.f, 2.f, 3.f});
  CHECK(transpose(v).shape() == Shape{3});
  CHECK(transpose(v).to_vector<float>() == std::vector<float>{1, 2, 3});
}

TEST_CASE("shape_ops: permute and transpose of a rank-3 tensor, elementwise", "[shape]") {
  // x[i,j,k] = 12i + 4j + k, shape (2,3,4).
  Tensor x = iota_f32({2, 3, 4});

  SECTION("permute (2,0,1)") {
    Tensor y = permute(x, {2, 0, 1});  // y[a,b,c] = x[b,c,a] = 12b + 4c + a
    REQUIRE(y.shape() == Shape{4, 2, 3});
    for (int64_t a = 0; a < 4; ++a)
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t c = 0; c < 3; ++c) CHECK(y.at<float>({a, b, c}) == float(12 * b + 4 * c + a));
    // A few spelled-out values.
    CHECK(y.at<float>({3, 1, 2}) == 23.f);
    CHECK(y.at<float>({1, 0, 2}) == 9.f);
    CHECK(y.to_vector<float>() ==
          std::vector<float>{0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23});
  }
  SECTION("permute with negative dims") {
    Tensor y = permute(x, {-2, -1, -3});  // = perm (1,2,0): y[a,b,c] = x[c,a,b]
    REQUIRE(y.shape() == Shape{3, 4, 2});
    for (int64_t a = 0; a < 3; ++a)
      for (int64_t b = 0; b < 4; ++b)
        for (int64_t c = 0; c < 2; ++c) CHECK(y.at<float>({a, b, c}) == float(12 * c + 4 * a + b));
  }
  SECTION("identity permute copies") {
    Tensor y = permute(x, {0, 1, 2});
    CHECK(y.shape() == x.shape());
    CHECK(y.to_vector<float>() == x.to_vector<float>());
  }
  SECTION("transpose() reverses all dims") {
    Tensor y = transpose(x);  // y[a,b,c] = x[c,b,a]
    REQUIRE(y.shape() == Shape{4, 3, 2});
    for (int64_t a = 0; a < 4; ++a)
      for (int64_t b = 0; b < 3; ++b)
        for (int64_t c = 0; c < 2; ++c) CHECK(y.at<float>({a, b, c}) == float(12 * c + 4 * b + a));
  }
  SECTION("transpose(dim0, dim1) swaps two dims") {
    Tensor y = transpose(x, 0, 2);  // same as reversing for rank 3
    REQUIRE(y.shape() == Shape{4, 3, 2});
    CHECK(y.to_vector<float>() == transpose(x).to_vector<float>());
    Tensor z = transpose(x, -1, 1);  // z[i,k,j] = x[i,j,k]
    REQUIRE(z.shape() == Shape{2, 4, 3});
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t k = 0; k < 4; ++k)
        for (int64_t j = 0; j < 3; ++j) CHECK(z.at<float>({i, k, j}) == float(12 * i + 4 * j + k));
    Tensor w = transpose(x, 1, 0);  // w[j,i,k] = x[i,j,k]
    REQUIRE(w.shape() == Shape{3, 2, 4});
    CHECK(w.at<float>({2, 1, 3}) == 23.f);
    CHECK(w.at<float>({1, 0, 2}) == 6.f);
    CHECK(w.at<float>({0, 1, 0}) == 12.f);
  }
  // The input is never modified.
  CHECK(x.to_vector<float>() == iota_f32({2, 3, 4}).to_vector<float>());
}

TEST_CASE("shape_ops: permute of a rank-4 tensor with size-1 dims", "[shape]") {
  // Shape (2,1,3,2): x[i,0,k,l] = 6i + 2k + l.
  Tensor x = iota_f32({2, 1, 3, 2});
  Tensor y = permute(x, {3, 1, 0, 2});  // y[a,b,c,d] = x[c,b,d,a]
  REQUIRE(y.shape() == Shape{2, 1, 2, 3});
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t d = 0; d < 3; ++d) CHECK(y.at<float>({a, 0, c, d}) == float(6 * c + 2 * d + a));
  CHECK(y.to_vector<float>() == std::vector<float>{0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11});

  // i64 data too.
  Tensor xi = reshape(arange(12), {2, 1, 3, 2});
  CHECK(permute(xi, {3, 1, 0, 2}).to_vector<int64_t>() == std::vector<int64_t>{0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11});
}

TEST_CASE("shape_ops: permute of a zero-size tensor", "[shape]") {
  Tensor x = zeros({2, 0, 3});
  Tensor y = permute(x, {2, 0, 1});
  CHECK(y.shape() == Shape{3, 2, 0});
  CHECK(y.numel() == 0);
  CHECK(transpose(x).shape() == Shape{3, 0, 2});
}

TEST_CASE("shape_ops: rank-8 tensors through reshape and permute", "[shape]") {
  const Shape s8{2, 1, 3, 1, 2, 2, 1, 2};  // 48 elements
  Tensor x = iota_f32(s8);
  REQUIRE(x.rank() == 8);
  std::vector<float> xv = x.to_vector<float>();

  SECTION("reshape to rank 8 and back") {
    Tensor flat = reshape(x, {48});
    CHECK(flat.to_vector<float>() == xv);
    Tensor r8 = reshape(flat, {1, 2, 2, 3, 1, 2, 1, 2});
    CHECK(r8.rank() == 8);
    CHECK(r8.shares_storage(x));
    CHECK(r8.to_vector<float>() == xv);
    CHECK(r8.at<float>({0, 1, 1, 2, 0, 1, 0, 1}) == 47.f);
    CHECK(r8.at<float>({0, 1, 0, 0, 0, 0, 0, 0}) == 24.f);
    Tensor inferred = reshape(flat, {2, 1, 3, -1, 2, 2, 1, 2});
    CHECK(inferred.shape() == s8);
    // x's multi-index (1,0,2,0,1,1,0,1) is flat 24 + 2*8 + 4 + 2 + 1 = 47.
    CHECK(inferred.at<float>({1, 0, 2, 0, 1, 1, 0, 1}) == 47.f);
    CHECK(inferred.at<float>({1, 0, 0, 0, 1, 0, 0, 0}) == 28.f);
  }
  SECTION("reverse all 8 dims") {
    Tensor t = transpose(x);
    REQUIRE(t.shape() == Shape{2, 1, 2, 2, 1, 3, 1, 2});
    CHECK(t.to_vector<float>() == permuted_reference(xv, s8, {7, 6, 5, 4, 3, 2, 1, 0}));
    // t[b,0,c,d,0,e,0,f] = x[f,0,e,0,d,c,0,b]: spot values by hand (x strides 24,24,8,8,4,2,2,1).
    CHECK(t.at<float>({1, 0, 0, 0, 0, 0, 0, 0}) == 1.f);
    CHECK(t.at<float>({0, 0, 1, 0, 0, 0, 0, 0}) == 2.f);
    CHECK(t.at<float>({0, 0, 0, 1, 0, 0, 0, 0}) == 4.f);
    CHECK(t.at<float>({0, 0, 0, 0, 0, 1, 0, 0}) == 8.f);
    CHECK(t.at<float>({0, 0, 0, 0, 0, 0, 0, 1}) == 24.f);
    CHECK(t.at<float>({1, 0, 1, 1, 0, 2, 0, 1}) == 47.f);
    // Transposing back gives x.
    CHECK(transpose(t).to_vector<float>() == xv);
  }
  SECTION("a mixed permutation and its inverse") {
    const std::vector<int64_t> perm{4, 0, 7, 2, 6, 5, 1, 3};
    Tensor y = permute(x, perm);
    REQUIRE(y.shape() == Shape{2, 2, 2, 3, 1, 2, 1, 1});
    CHECK(y.to_vector<float>() == permuted_reference(xv, s8, perm));
    // y[a,b,c,d,0,e,0,0] = x[b,0,d,0,a,e,0,c] = 24b + 8d + 4a + 2e + c.
    for (int64_t a = 0; a < 2; ++a)
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t c = 0; c < 2; ++c)
          for (int64_t d = 0; d < 3; ++d)
            for (int64_t e = 0; e < 2; ++e)
              CHECK(y.at<float>({a, b, c, d, 0, e, 0, 0}) == float(24 * b + 8 * d + 4 * a + 2 * e + c));
    std::vector<int64_t> inverse(8);
    for (size_t i = 0; i < perm.size(); ++i) inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
    Tensor back = permute(y, inverse);
    CHECK(back.shape() == s8);
    CHECK(back.to_vector<float>() == xv);
    // And through a reshape of the permuted result.
    CHECK(reshape(y, {8, 6}).to_vector<float>() == y.to_vector<float>());
  }
  SECTION("swap two dims of a rank-8 tensor") {
    Tensor y = transpose(x, 2, -2);  // swaps dims 2 (size 3) and 6 (size 1)
    REQUIRE(y.shape() == Shape{2, 1, 1, 1, 2, 2, 3, 2});
    CHECK(y.to_vector<float>() == permuted_reference(xv, s8, {0, 1, 6, 3, 4, 5, 2, 7}));
  }
}

TEST_CASE("shape_ops: rank-16 tensors (the maximum rank)", "[shape]") {
  std::vector<int64_t> dims(16, 1);
  dims[0] = 2, dims[7] = 3, dims[15] = 2;
  Shape s16(dims);
  Tensor x = iota_f32(s16);
  REQUIRE(x.rank() == 16);
  Tensor t = transpose(x);
  std::vector<int64_t> rev(16);
  for (int i = 0; i < 16; ++i) rev[i] = 15 - i;
  CHECK(t.to_vector<float>() == permuted_reference(x.to_vector<float>(), s16, rev));
  CHECK(reshape(t, {2, 3, 2}).to_vector<float>() == std::vector<float>{0, 6, 2, 8, 4, 10, 1, 7, 3, 9, 5, 11});
  CHECK(squeeze(x).shape() == Shape{2, 3, 2});
}

// ---------------------------------------------------------------- broadcast_to

TEST_CASE("shape_ops: broadcast_to", "[shape]") {
  SECTION("new leading dims") {
    Tensor y = broadcast_to(tensor({1.f, 2.f, 3.f}), {2, 3});
    CHECK(y.shape() == Shape{2, 3});
    CHECK(y.to_vector<float>() == std::vector<float>{1, 2, 3, 1, 2, 3});
  }
  SECTION("a size-1 dim repeats") {
    Tensor y = broadcast_to(tensor({1.f, 2.f, 3.f}, {3, 1}), {3, 4});
    CHECK(y.shape() == Shape{3, 4});
    CHECK(y.to_vector<float>() == std::vector<float>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
  }
  SECTION("both: (2,1) to (3,2,2)") {
    Tensor y = broadcast_to(tensor({5, 6}, {2, 1}), {3, 2, 2});
    CHECK(y.dtype() == DType::I32);
    CHECK(y.shape() == Shape{3, 2, 2});
    CHECK(y.to_vector<int32_t>() == std::vector<int32_t>{5, 5, 6, 6, 5, 5, 6, 6, 5, 5, 6, 6});
  }
  SECTION("middle size-1 dim") {
    Tensor x = tensor({1.0, 2.0, 3.0, 4.0}, {2, 1, 2});
    Tensor y = broadcast_to(x, {2, 3, 2});
    CHECK(y.dtype() == DType::F64);
    CHECK(y.to_vector<double>() == std::vector<double>{1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4});
  }
  SECTION("a scalar to any shape") {
    Tensor y = broadcast_to(scalar(true), {2, 2});
    CHECK(y.dtype() == DType::Bool);
    CHECK(y.to_vector<bool>() == std::vector<bool>{true, true, true, true});
    CHECK(broadcast_to(scalar(int64_t{9}), Shape{}).item<int64_t>() == 9);
  }
  SECTION("same shape copies") {
    Tensor x = tensor({1.f, 2.f, 3.f, 4.f}, {2, 2});
    Tensor y = broadcast_to(x, {2, 2});
    CHECK(y.to_vector<float>() == x.to_vector<float>());
  }
  SECTION("a size-1 dim to size 0") {
    Tensor y = broadcast_to(tensor({1.f, 2.f, 3.f}, {1, 3}), {0, 3});
    CHECK(y.shape() == Shape{0, 3});
    CHECK(y.numel() == 0);
  }
  SECTION("incompatible shapes") {
    Tensor x = tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
    CHECK_THROWS_AS((broadcast_to(x, {3, 3})), Error);
    CHECK_THROWS_AS(broadcast_to(x, {3}), Error);
    CHECK_THROWS_AS((broadcast_to(x, {2, 3, 1})), Error);
    CHECK_THROWS_WITH((broadcast_to(x, {4, 3})), Catch::Matchers::StartsWith("[broadcast_to]") &&
                                                   Catch::Matchers::Contains("(2,3)") &&
                                                   Catch::Matchers::Contains("(4,3)"));
  }
}

// ---------------------------------------------------------------- squeeze / unsqueeze

TEST_CASE("shape_ops: squeeze", "[shape]") {
  Tensor x = reshape(arange(6), {1, 3, 1, 2});
  SECTION("all size-1 dims") {
    Tensor y = squeeze(x);
    CHECK(y.shape() == Shape{3, 2});
    CHECK(y.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
  }
  SECTION("given axes") {
    CHECK(squeeze(x, {0}).shape() == Shape{3, 1, 2});
    CHECK(squeeze(x, {2}).shape() == Shape{1, 3, 2});
    CHECK(squeeze(x, {-2}).shape() == Shape{1, 3, 2});
    CHECK(squeeze(x, {-4}).shape() == Shape{3, 1, 2});
    CHECK(squeeze(x, {0, 2}).shape() == Shape{3, 2});
    CHECK(squeeze(x, {2, 0}).shape() == Shape{3, 2});
    CHECK(squeeze(x, {0, -2}).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
    CHECK(squeeze(x, {2}).at<int64_t>({0, 2, 1}) == 5);
  }
  SECTION("a size-1 dim that is not squeezed is an error") {
    CHECK_THROWS_AS(squeeze(x, {1}), Error);
    CHECK_THROWS_AS((squeeze(x, {0, 3})), Error);
  }
  SECTION("all dims of size 1 give rank 0") {
    Tensor s = squeeze(tensor({4.f}, {1, 1, 1}));
    CHECK(s.rank() == 0);
    CHECK(s.item<float>() == 4.f);
  }
  SECTION("nothing to squeeze") {
    Tensor m = tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
    CHECK(squeeze(m).shape() == Shape{2, 3});
    CHECK(squeeze(m).to_vector<float>() == m.to_vector<float>());
    CHECK(squeeze(scalar(1.f)).shape() == Shape{});
  }
  SECTION("zero-size dims are kept") {
    CHECK(squeeze(zeros({1, 0, 1, 3})).shape() == Shape{0, 3});
  }
}

TEST_CASE("shape_ops: unsqueeze", "[shape]") {
  Tensor x = tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  CHECK(unsqueeze(x, 0).shape() == Shape{1, 2, 3});
  CHECK(unsqueeze(x, 1).shape() == Shape{2, 1, 3});
  CHECK(unsqueeze(x, 2).shape() == Shape{2, 3, 1});
  // Negative axes count from the end of the result (rank 3 here).
  CHECK(unsqueeze(x, -1).shape() == Shape{2, 3, 1});
  CHECK(unsqueeze(x, -2).shape() == Shape{2, 1, 3});
  CHECK(unsqueeze(x, -3).shape() == Shape{1, 2, 3});
  CHECK(unsqueeze(x, -1).to_vector<float>() == x.to_vector<float>());
  CHECK(unsqueeze(x, -2).at<float>({1, 0, 2}) == 6.f);
  // Out of range for the result's rank.
  CHECK_THROWS_AS(unsqueeze(x, 3), Error);
  CHECK_THROWS_AS(unsqueeze(x, -4), Error);
  // Rank 0 becomes rank 1.
  Tensor s = scalar(int32_t{5});
  CHECK(unsqueeze(s, 0).shape() == Shape{1});
  CHECK(unsqueeze(s, -1).shape() == Shape{1});
  CHECK(unsqueeze(s, -1).to_vector<int32_t>() == std::vector<int32_t>{5});
  // unsqueeze then squeeze round-trips.
  CHECK(squeeze(unsqueeze(x, 1), {1}).shape() == Shape{2, 3});
  CHECK(squeeze(unsqueeze(unsqueeze(x, -1), 0)).shape() == Shape{2, 3});
}

TEST_CASE("shape_ops: permutes that transpose (copied in tiles) equal an element-by-element copy", "[shape]") {
  // Sizes around the tile (16) and odd ones, rank 2 to 4, every dtype size (bool, i32, f64).
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {Shape{37, 53}, {1, 0}},       {Shape{16, 16}, {1, 0}},         {Shape{1, 70}, {1, 0}},
      {Shape{3, 33, 17}, {0, 2, 1}}, {Shape{5, 18, 40}, {2, 0, 1}},   {Shape{4, 2, 19, 21}, {0, 3, 1, 2}},
      {Shape{300, 2}, {1, 0}},       {Shape{2, 300}, {1, 0}},         {Shape{33, 7, 65}, {2, 1, 0}},
      {Shape{1000, 700}, {1, 0}},  // tasks on every thread
      {Shape{2, 3, 5, 17}, {1, 0, 3, 2}},  // two outer dims left in the plan
      {Shape{100000, 3}, {1, 0}}};  // too few tiles for the threads: rows instead
  for (const auto& [shape, perm] : cases)
    for (DType dt : {DType::Bool, DType::I32, DType::F64}) {
      INFO("shape " << shape.str() << ", dtype " << static_cast<int>(dt));
      const Tensor codes = arange(0, shape.numel(), 1, DType::I64).reshape(shape) * int64_t{7} % int64_t{251};
      const Tensor x = dt == DType::Bool ? codes % int64_t{3} == int64_t{0} : cast(codes, dt);
      const Tensor y = permute(x, perm);
      // The reference: each output element read at its permuted position.
      const std::vector<int64_t> xs = cast(x, DType::I64).to_vector<int64_t>();
      std::vector<int64_t> strides(static_cast<size_t>(shape.rank()), 1);
      for (int d = shape.rank() - 2; d >= 0; --d) strides[static_cast<size_t>(d)] = strides[static_cast<size_t>(d) + 1] * shape[d + 1];
      std::vector<int64_t> want;
      const Shape ys = y.shape();
      std::vector<int64_t> at(static_cast<size_t>(ys.rank()), 0);
      for (int64_t t = 0; t < ys.numel(); ++t) {
        int64_t off = 0;
        for (int d = 0; d < ys.rank(); ++d) off += at[static_cast<size_t>(d)] * strides[static_cast<size_t>(perm[static_cast<size_t>(d)])];
        want.push_back(xs[static_cast<size_t>(off)]);
        for (int d = ys.rank() - 1; d >= 0 && ++at[static_cast<size_t>(d)] == ys[d]; --d) at[static_cast<size_t>(d)] = 0;
      }
      CHECK(cast(y, DType::I64).to_vector<int64_t>() == want);
    }
}
