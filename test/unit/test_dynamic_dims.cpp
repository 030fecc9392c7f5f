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

TEST_CASE("dynamic dims: generalizations that would be wrong at other sizes are refused", "[dynamic_dims]") {
  std::string why;
  using Fn2 = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;
  // fn recorded with inputs of these dim-0 sizes (x, y), columns 4.
  auto refused = [&](const Fn2& fn, std::pair<int64_t, int64_t> first, std::pair<int64_t, int64_t> second) {
    Trace a = test::record_trace(fn, {randn({first.first, 4}, 1), randn({first.second, 4}, 2)});
    Trace b = test::record_trace(fn, {randn({second.first, 4}, 1), randn({second.second, 4}, 2)});
    return !generalize(a, b, why);
  };
  // x: 2 -> 3, y: 5 -> 7: the concat's 7 -> 10 fits 3 * s0 + 1, not its pieces' sum s0 + s1.
  CHECK(refused([](const std::vector<Tensor>& v) { return std::vector<Tensor>{concat({v[0], v[1]}, 0)}; }, {2, 5}, {3, 7}));
  CHECK_THAT(why, Contains("concat"));
  // x: 4 -> 5, y: 6 -> 7: the pad's 6 -> 7 is y's size in both, not x's plus 2.
  CHECK(refused([](const std::vector<Tensor>& v) { return std::vector<Tensor>{pad(v[0], {{1, 1}, {0, 0}}, 0.0) + v[1]}; },
                {4, 6}, {5, 7}));
  // x[1:] of 2 rows is 1 row: it would broadcast against y's 3 in eager code.
  CHECK(refused([](const std::vector<Tensor>& v) { return std::vector<Tensor>{slice(v[0], 0, 1, std::nullopt) + v[1]}; },
                {2, 3}, {3, 2}));
  CHECK_THAT(why, Contains("at least 2"));
  // A broadcast to x's rows + 1 (6 -> 7), which y's rows (6 -> 7) also are.
  CHECK(refused([](const std::vector<Tensor>& v) {
    return std::vector<Tensor>{broadcast_to(slice(v[1], 0, 0, 1), Shape{v[0].shape()[0] + 1, 4}) * 2.f + v[1]};
  }, {5, 6}, {6, 7}));
  CHECK_THAT(why, Contains("broadcast"));

  auto one = [&](const Fn& fn, int64_t n1, int64_t n2) { return general(fn, n1, n2, why); };
  // x[5:] of 3 or 4 rows is empty; of 8 rows it has 3.
  CHECK(!one([](const std::vector<Tensor>& x) { return std::vector<Tensor>{slice(x[0], 0, 5, std::nullopt) * 2.f}; }, 3, 4));
  // x[::2] of 5 or 6 rows has 3 rows; of 8 rows, 4.
  CHECK(!one([](const std::vector<Tensor>& x) { return std::vector<Tensor>{slice(x[0], 0, 0, std::nullopt, 2)}; }, 5, 6));
  // x[::5] of 4 or 5 rows has 1 row, as x[:1] has; of 8 rows, 2.
  CHECK(!one([](const std::vector<Tensor>& x) { return std::vector<Tensor>{slice(x[0], 0, 0, std::nullopt, 5)}; }, 4, 5));
  // x[1:100] of 10 or 13 rows looks like x[1:]; of 150 rows it has 99.
  CHECK(!one([](const std::vector<Tensor>& x) { return std::vector<Tensor>{slice(x[0], 0, 1, 100)}; }, 10, 13));
  CHECK_THAT(why, Contains("outside"));
  // x[-100:] likewise looks like x[:].
  CHECK(!one([](const std::vector<Tensor>& x) { return std::vector<Tensor>{slice(x[0], 0, -100, std::nullopt)}; }, 10, 13));
  // x[:1] and x[2:5:2] are fixed: they generalize, for n >= 1 and n >= 5.
  Fn fixed = [](const std::vector<Tensor>& x) {
    return std::vector<Tensor>{slice(x[0], 0, 0, 1) + 1.f, slice(x[0], 0, 2, 5, 2) * x[0].sum()};
  };
  std::optional<Trace> t = one(fixed, 10, 13);
  INFO(why);
  REQUIRE(t);
  CHECK(decode_dim(t->values[t->inputs[0]].shape[0])->min == 5);
  check_sizes(*t, fixed, {5, 6, 40});
}

TEST_CASE("dynamic dims: a forged size constant is an error naming it, not a wrong number", "[dynamic_dims]") {
  // x * (factor * s0 + offset) for x of s0 elements, the constant's factor chosen to overflow.
  auto forged = [](std::vector<int64_t> ints) {
    Trace t;
    const Shape dynamic{encode_dim(DimExpr{0})};
    t.values = {{dynamic, DType::F32}, {Shape{}, DType::F32}, {dynamic, DType::F32}};
    t.inputs = {0};
    TraceNode c;
    c.kind = NodeKind::Constant, c.output = 1, c.constant = full(Shape{}, 1.0, DType::F32), c.ints = std::move(ints);
    TraceNode mul;
    mul.kind = NodeKind::Binary, mul.sub = static_cast<uint8_t>(BinaryOp::Mul), mul.inputs = {0, 1}, mul.output = 2;
    t.nodes = {c, mul};
    t.outputs = {2};
    return t;
  };
  const std::vector<Tensor> x = {randn({5}, 1)};
  CHECK(eval_trace(forged({0, 3, -2}), x)[0].to_vector<float>() == (x[0] * 13.f).to_vector<float>());
  CHECK_THROWS_WITH(eval_trace(forged({0, int64_t{1} << 62}), x), Contains("[trace]") && Contains("overflows int64"));
  CHECK_THROWS_WITH(eval_trace(forged({4, 1}), x), Contains("[eval_trace]") && Contains("size constant of symbol 4"));
}

