// Dynamic dims: the encoding of affine dims, generalize()'s fits, least sizes and refusals,
// and the interpreter running a generalized trace at sizes it was not recorded at.
#include <cmath>
#include <functional>
#include <limits>

#include "../../lib/trace/dynamic_dims.h"
#include "test_util.h"

using namespace ejit;
using namespace ejit::detail;
using Catch::Matchers::Contains;

namespace {

using Fn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

/// fn recorded at two sizes of dim 0 of a (n, 4) input, generalized; nullopt with `why`.
std::optional<Trace> general(const Fn& fn, int64_t n1, int64_t n2, std::string& why) {
  Trace a = test::record_trace(fn, {randn({n1, 4}, 1)}), b = test::record_trace(fn, {randn({n2, 4}, 2)});
  return generalize(a, b, why);
}

/// The dim expressions of the trace's output 0.
std::vector<std::optional<DimExpr>> output_dims(const Trace& t) {
  std::vector<std::optional<DimExpr>> dims;
  for (int64_t d : t.values[t.outputs[0]].shape) dims.push_back(decode_dim(d));
  return dims;
}

/// The generalized trace on the interpreter equals fn run eagerly at each size.
void check_sizes(const Trace& t, const Fn& fn, std::initializer_list<int64_t> sizes) {
  for (int64_t n : sizes) {
    INFO("n = " << n);
    const std::vector<Tensor> x = {randn({n, 4}, static_cast<uint64_t>(n))};
    REQUIRE(dynamic_mismatch(t, x).empty());
    const std::vector<Tensor> got = eval_trace(t, x), want = fn(x);
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      REQUIRE(got[i].shape() == want[i].shape());
      const std::vector<double> g = got[i].to_vector<double>(), w = want[i].to_vector<double>();
      for (size_t j = 0; j < g.size(); ++j) REQUIRE(std::fabs(g[j] - w[j]) <= 1e-6 * (1 + std::fabs(w[j])));
    }
  }
}

}  // namespace

TEST_CASE("dynamic dims: affine dims encode and decode, plain symbols as before", "[dynamic_dims]") {
  CHECK(encode_dim(DimExpr{0}) == -1);
  CHECK(encode_dim(DimExpr{5}) == -6);
  CHECK(!decode_dim(0));
  CHECK(!decode_dim(7));
  for (const DimExpr& e : {DimExpr{0, 1, 0, 2}, DimExpr{3, 4, -7, 9}, DimExpr{kMaxSymbol, kMaxFactor, -kMaxOffset, kMaxMin},
                           DimExpr{12, 2, kMaxOffset, 2}, DimExpr{1, 1, -1, 3}}) {
    REQUIRE(encodable(e));
    const int64_t d = encode_dim(e);
    REQUIRE(d < 0);
    REQUIRE(decode_dim(d) == e);
  }
  CHECK(!encodable(DimExpr{0, 0, 0, 2}));               // factor 0 is a static dim
  CHECK(!encodable(DimExpr{0, 1, kMaxOffset + 1, 2}));  // offset out of range
  CHECK(!encodable(DimExpr{0, 1, 0, 1}));               // a symbol is at least 2
  CHECK(!decode_dim(std::numeric_limits<int64_t>::min()));  // bits above the encoding
  CHECK(dim_str(encode_dim(DimExpr{1, 1, -1, 3})) == "s1-1");
  CHECK(dim_str(encode_dim(DimExpr{0, 4, 0, 2})) == "4*s0");
  CHECK(shape_str(Shape{encode_dim(DimExpr{0, 2, 3, 2}), 4}) == "(2*s0+3, 4)");
  // A dim of s0 - 1 at s0 = 5 is 4; sizes are read back through a source's own expression.
  CHECK(concrete(Shape{encode_dim(DimExpr{0, 1, -1, 2}), 4}, {5}) == Shape{4, 4});
  CHECK(symbol_sizes({SymbolSource{0, 0, 2, 3}}, {randn({11, 2}, 1)}) == std::vector<int64_t>{4});
}

TEST_CASE("dynamic dims: slices, pads, concats and flattening reshapes along the dynamic dim", "[dynamic_dims]") {
  std::string why;
  SECTION("x[1:] - x[:-1]: n - 1 rows, for n >= 2") {
    Fn diff = [](const std::vector<Tensor>& x) { return std::vector<Tensor>{slice(x[0], 0, 1, std::nullopt) - slice(x[0], 0, 0, -1)}; };
    std::optional<Trace> t = general(diff, 10, 13, why);
    INFO(why);
    REQUIRE(t);
    REQUIRE(output_dims(*t)[0] == DimExpr{0, 1, -1, 2});
    check_sizes(*t, diff, {2, 3, 7, 40});
  }
  SECTION("x[2:] - x[:-2] and a mean over the n - 2 rows: a size constant n - 2, for n >= 3") {
    Fn central = [](const std::vector<Tensor>& x) {
      Tensor d = slice(x[0], 0, 2, std::nullopt) - slice(x[0], 0, 0, -2);
      return std::vector<Tensor>{d - mean(d, {0}, true)};
    };
    std::optional<Trace> t = general(central, 10, 13, why);
    INFO(why);
    REQUIRE(t);
    REQUIRE(output_dims(*t)[0] == DimExpr{0, 1, -2, 3});
    bool offset_constant = false;
    for (const TraceNode& n : t->nodes) offset_constant |= is_size_constant(n) && n.ints.size() == 3 && n.ints[1] == 1 && n.ints[2] == -2;
    CHECK(offset_constant);  // the mean over n - 2 rows divides by n - 2
    check_sizes(*t, central, {3, 4, 9, 31});
    CHECK_THAT(dynamic_mismatch(*t, {randn({2, 4}, 1)}), Contains("of at least 3"));
  }
  SECTION("x[:5]: a static slice of a dynamic dim, for n >= 5") {
    Fn head = [](const std::vector<Tensor>& x) { return std::vector<Tensor>{slice(x[0], 0, 0, 5) * 2.f}; };
    std::optional<Trace> t = general(head, 10, 13, why);
    INFO(why);
    REQUIRE(t);
    CHECK(decode_dim(t->values[t->inputs[0]].shape[0])->min == 5);
    check_sizes(*t, head, {5, 6, 50});
    CHECK(!dynamic_mismatch(*t, {randn({4, 4}, 1)}).empty());
  }
  SECTION("pad, concat and reshape: n + 3, 2n + 3 and 4(2n + 3) elements") {
    Fn grow = [](const std::vector<Tensor>& x) {
      Tensor p = pad(x[0], {{1, 2}, {0, 0}}, -1.0);
      Tensor c = concat({p, x[0] * 3.f}, 0);
      Tensor flat = reshape(c, {-1});
      return std::vector<Tensor>{flat, reshape(flat * 2.f, {-1, 2}), sum(c, {0})};
    };
    std::optional<Trace> t = general(grow, 6, 9, why);
    INFO(why);
    REQUIRE(t);
    REQUIRE(output_dims(*t)[0] == DimExpr{0, 8, 12, 2});
    check_sizes(*t, grow, {2, 3, 17});
  }
  SECTION("refused: a slice by step 2, a reversed slice, a reshape merging two dynamic dims") {
    Fn strided = [](const std::vector<Tensor>& x) { return std::vector<Tensor>{slice(x[0], 0, 0, std::nullopt, 2)}; };
    CHECK(!general(strided, 10, 14, why));
    CHECK_THAT(why, Contains("no multiple of an input dim's size"));
    Fn reversed = [](const std::vector<Tensor>& x) { return std::vector<Tensor>{slice(x[0], 0, std::nullopt, std::nullopt, -1)}; };
    CHECK(!general(reversed, 10, 14, why));  // its start is n - 1
    Fn merged = [](const std::vector<Tensor>& a) { return std::vector<Tensor>{reshape(a[0], {-1})}; };
    Trace a = test::record_trace(merged, {randn({3, 5}, 1)}), b = test::record_trace(merged, {randn({4, 6}, 1)});
    CHECK(!generalize(a, b, why));
  }
  SECTION("refused: a dim two input dims' sizes explain") {
    Fn both = [](const std::vector<Tensor>& x) { return std::vector<Tensor>{concat({x[0], x[1]}, 0)}; };
    // (6, 10) -> (9, 13): 16 -> 22 is 2 * s0 + 4 and 2 * s1 - 4
    Trace a = test::record_trace(both, {randn({6, 4}, 1), randn({10, 4}, 1)});
    Trace b = test::record_trace(both, {randn({9, 4}, 1), randn({13, 4}, 1)});
    CHECK(!generalize(a, b, why));
  }
}
