// A random op chain over every op kind of the library: every unary, binary and reduction
// op of the table (ops.def), in every dtype each takes, over no, one or both axes with and
// without kept dims; casts between every pair of dtypes; where; matmul; the data movement
// ops (permute, broadcast, reshape, squeeze, slice with steps, concat, stack, pad, take,
// gather, index_add, scatter_add, their indices computed or constant); the composites (softmax,
// log_softmax, layer norm, one_hot, cross_entropy); constants; and several outputs of mixed dtypes and shapes,
// inputs and repeats among them. Used by the compiled-vs-interpreted tests (CPU, and GPU where one is present).
//
// Values stay small (each one carries a bound on its magnitude, and a power of two scales
// it back), so no result overflows. Ops that are discontinuous (floor, round, sign,
// comparisons, mod, argmax, casts to integers, truth values) only read values that the
// compiled code computes bit for bit as the interpreter does ("exact" ones: the inputs,
// integers, and what exact ops make of them): a last-bit difference in a transcendental
// (the two sides use different polynomials) must not become a different integer.
#pragma once

#include <ejit/ejit.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "op_chains.h"

namespace ejit::test {

/// What the interpreter's run says of an output of a chain.
struct ChainOutput {
  bool exact = false;  // computed bit for bit as the interpreter computes it
  double scale = 0;    // the magnitude its rounding errors scale with (0: its largest element)
};

namespace any_chain_detail {

struct Value {
  Tensor t;
  bool exact;    // the compiled code computes it bit for bit as the interpreter does
  double bound;  // |every element| <= bound
};

class Chain {
 public:
  /// `max_rows` > 0: the rows (m) may vary from call to call, up to max_rows (see
  /// random_any_chain_any_rows).
  Chain(uint64_t seed, const Tensor& a, const Tensor& b, double input_bound, int64_t max_rows = 0)
      : rng_(seed), m_(a.dim(0)), n_(a.dim(1)), rows_vary_(max_rows > 0), bm_(rows_vary_ ? max_rows : m_), device_(a.device()) {
    pool_.push_back({a, true, input_bound});
    pool_.push_back({b, true, input_bound});
  }

  std::vector<Tensor> run(std::vector<ChainOutput>* info) {
    const int steps = 4 + pick(9);
    for (int s = 0; s < steps; ++s) pool_.push_back(tame(step()));
    // Outputs: the last value, a few others (inputs among them), a repeat, a full reduction.
    std::vector<Value> outs = {pool_.back()};
    for (int k = pick(4); k > 0; --k) outs.push_back(some());
    if (pick(4) == 0) outs.push_back(outs[0]);
    std::vector<Tensor> result;
    for (const Value& v : outs) {
      result.push_back(v.t);
      if (info) info->push_back({v.exact, 0});
    }
    if (is_floating(pool_.back().t.dtype())) {  // a full sum: its rounding errors scale with its terms
      result.push_back(sum(pool_.back().t));
      if (info) info->push_back({false, sum(abs(pool_.back().t)).item<double>()});
    }
    return result;
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
  Value some() { return pool_[static_cast<size_t>(pick(static_cast<int>(pool_.size())))]; }
  /// An exact value (the inputs always are).
  Value any_exact() {
    for (;;) {
      Value v = some();
      if (v.exact) return v;
    }
  }
  static bool is_float(const Value& v) { return is_floating(v.t.dtype()); }
  /// v as (m, n).
  Value full(Value v) const { return {broadcast_to(v.t, {m_, n_}), v.exact, v.bound}; }
  /// v in a float dtype (bools and integers become f32 or f64).
  Value floats(Value v) {
    if (is_float(v)) return v;
    return {cast(v.t, pick(2) ? DType::F32 : DType::F64), v.exact, v.bound};
  }
  /// v without bools (as i32), for ops that do not take them.
  Value numeric(Value v) const {
    if (v.t.dtype() != DType::Bool) return v;
    return {cast(v.t, DType::I32), v.exact, 1};
  }
  /// Scales floats back to |x| <= 16 by a power of two (exact); folds large integers.
  static Value tame(Value v) {
    if (v.t.dtype() == DType::Bool || v.bound <= 16) return v;
    if (!is_float(v)) return {v.t % int64_t{997}, v.exact, 997};
    const double s = std::ldexp(1.0, -static_cast<int>(std::ceil(std::log2(v.bound / 8))));
    return {v.t * s, v.exact, v.bound * s};
  }
  /// A result reshaped so that it broadcasts with (m, n): (m,) becomes (m, 1).
  Value fit(Value v) const {
    if (v.t.rank() == 1 && v.t.dim(0) == m_ && m_ != n_) v.t = reshape(v.t, {m_, 1});
    return v;
  }
  std::vector<int64_t> random_axes() {
    switch (pick(5)) {
      case 0: return {};
      case 1: return {0};
      case 2: return {1};
      case 3: return {-1};
      default: return {0, 1};
    }
  }
  /// Elements a reduction over `axes` of (m, n) combines, at most (for bounds).
  int64_t count(const std::vector<int64_t>& axes) const {
    if (axes.empty() || axes.size() == 2) return bm_ * n_;
    return axes[0] == 0 ? bm_ : n_;
  }
  /// Indices in [0, size) of shape `shape`, computed in the trace from an exact value.
  Tensor indices(const Shape& shape, int64_t size) {
    Tensor src = any_exact().t;
    Tensor i = cast(broadcast_to(src, {m_, n_}), DType::I64);
    if (shape.rank() == 1) i = max(i, {shape[0] == n_ ? 0 : 1});
    if (shape.rank() == 2 && shape[0] == 1 && m_ != 1) i = max(i, {0}, true);  // one row, broadcast over the rows
    if (shape.rank() == 2 && shape[1] == 1 && n_ != 1) i = max(i, {1}, true);
    return abs(i) % size;
  }

  /// Constant indices in [-size, size) of shape `shape` (negative ones count from the end).
  Tensor constant_indices(const Shape& shape, int64_t size) {
    std::vector<int64_t> v(static_cast<size_t>(shape.numel()));
    for (int64_t& i : v) i = pick(static_cast<int>(2 * size)) - size;
    Tensor c = from_vector(v, shape).to(device_);
    return pick(2) ? c : cast(c, DType::I32);
  }

  Value step() {
    switch (pick(12)) {
      case 0: case 1: return unary_step();
      case 2: case 3: return binary_step();
      case 4: case 5: return reduce_step();
      case 6: return where_or_cast_step();
      case 7: return matmul_step();
      case 8: case 9: return movement_step();
      case 10: return composite_step();
      default: return scalar_step();
    }
  }

  Value unary_step() {
    const auto op = static_cast<UnaryOp>(pick(kNumUnaryOps));
    const bool discontinuous = op == UnaryOp::Sign || op == UnaryOp::Floor || op == UnaryOp::Ceil ||
                               op == UnaryOp::Round || op == UnaryOp::LogicalNot;
    Value x = discontinuous ? any_exact() : some();
    if (kind(op) == UnaryKind::Numeric) x = numeric(x);
    const double b = x.bound;
    switch (op) {  // keep arguments in the ops' domains and results small
      case UnaryOp::Log: return {log(abs(numeric(x).t) + 0.125), false, std::max(std::abs(std::log(0.125)), std::log(b + 1))};
      case UnaryOp::Log1p: return {log1p(abs(numeric(x).t)), false, std::log1p(b)};
      case UnaryOp::Sqrt: return {sqrt(abs(numeric(x).t)), false, std::sqrt(b)};
      case UnaryOp::Rsqrt: return {rsqrt(abs(numeric(x).t) + 0.5), false, 1.5};
      case UnaryOp::Exp: return {exp(x.t * 0.25), false, std::exp(b / 4)};
      case UnaryOp::Expm1: return {expm1(x.t * 0.25), false, std::exp(b / 4)};
      default: break;
    }
    Tensor r = unary(op, x.t);
    switch (op) {
      case UnaryOp::Neg: case UnaryOp::Abs: case UnaryOp::Relu: case UnaryOp::Floor: case UnaryOp::Ceil:
      case UnaryOp::Round: return {r, x.exact, b + 1};
      case UnaryOp::Sign: return {r, x.exact, 1};
      case UnaryOp::Square: return {r, x.exact && !is_float(x), b * b};
      case UnaryOp::LogicalNot: case UnaryOp::IsNan: case UnaryOp::IsFinite: return {r, x.exact, 1};
      case UnaryOp::Gelu: return {r, false, b};
      default: return {r, false, 1};  // sin, cos, tanh, sigmoid, erf
    }
  }

  Value binary_step() {
    const auto op = static_cast<BinaryOp>(pick(kNumBinaryOps));
    const BinaryKind k = kind(op);
    const bool discontinuous = k == BinaryKind::Compare || k == BinaryKind::Logical || op == BinaryOp::Mod;
    Value x = discontinuous ? any_exact() : some(), y = discontinuous ? any_exact() : some();
    if (k == BinaryKind::ArithNoBool && x.t.dtype() == DType::Bool && y.t.dtype() == DType::Bool) x = numeric(x);
    const bool ints = !is_float(x) && !is_float(y);
    switch (op) {
      case BinaryOp::Div: {
        Tensor d = abs(numeric(y).t) + 1;
        return {x.t / d, false, x.bound};
      }
      case BinaryOp::Mod: {
        const Value xn = numeric(x);
        Tensor d = abs(numeric(y).t) + (ints ? Scalar(int64_t{1}) : Scalar(0.5));
        return {xn.t % d, ints, y.bound + 1};
      }
      case BinaryOp::Pow: {
        if (ints) {  // small non-negative integer powers
          const Value xn = numeric(x);
          return {pow(xn.t, abs(numeric(y).t) % int64_t{3}), true, std::max(1.0, xn.bound * xn.bound)};
        }
        Tensor base = abs(numeric(x).t) * (1 / std::max(x.bound, 1.0)) + 0.5;
        Tensor e = numeric(y).t * (2 / std::max(y.bound, 1.0));
        return {pow(base, e), false, 4};
      }
      default: break;
    }
    Tensor r = binary(op, x.t, y.t);
    const bool both = x.exact && y.exact;
    switch (op) {
      case BinaryOp::Add: case BinaryOp::Sub: return {r, both && ints, x.bound + y.bound};
      case BinaryOp::Mul: return {r, both && ints, x.bound * y.bound};
      case BinaryOp::Maximum: case BinaryOp::Minimum: return {r, both, std::max(x.bound, y.bound)};
      default: return {r, both, 1};  // comparisons and logical ops
    }
  }

  Value reduce_step() {
    Value x = full(some());
    std::vector<int64_t> axes = random_axes();
    const bool keep = pick(2);
    const int64_t c = count(axes);
    switch (pick(10)) {
      case 0: return fit({sum(x.t, axes, keep), x.exact && !is_float(x), x.bound * static_cast<double>(c)});
      case 1: {
        if (!is_float(x)) {  // factors in {-1, 0, 1}
          Tensor f = numeric(x).t % int64_t{3} - int64_t{1};
          return fit({prod(f, axes, keep), x.exact, 1});
        }
        Tensor f = tanh(x.t) * (1.0 / 64) + 1.0;
        return fit({prod(f, axes, keep), false, std::pow(1 + 1.0 / 64, static_cast<double>(c))});
      }
      case 2: return fit({max(x.t, axes, keep), x.exact, x.bound});
      case 3: return fit({min(x.t, axes, keep), x.exact, x.bound});
      case 4: return fit({mean(x.t, axes, keep), false, x.bound});
      case 5: {
        const int64_t correction = c > 1 ? pick(2) : 0;
        Value f = floats(x);
        if (pick(2)) return fit({var(f.t, axes, correction, keep), false, 4 * f.bound * f.bound});
        return fit({stddev(f.t, axes, correction, keep), false, 2 * f.bound});
      }
      case 6: case 7: {  // all, any: truth values of exact values
        Value e = full(any_exact());
        return fit({pick(2) ? all(e.t, axes, keep) : any(e.t, axes, keep), true, 1});
      }
      default: {  // argmax, argmin: over one axis or all (flat positions)
        Value e = full(any_exact());
        std::optional<int64_t> axis;
        if (pick(3)) axis = pick(2);
        Tensor r = pick(2) ? argmax(e.t, axis, keep) : argmin(e.t, axis, keep);
        return fit({r, true, static_cast<double>(bm_ * n_)});
      }
    }
  }

  Value where_or_cast_step() {
    static constexpr DType kAll[] = {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64};
    if (pick(2)) {  // where, on a condition from exact values
      Value c = any_exact(), x = some(), y = some();
      Tensor cond = c.t.dtype() == DType::Bool ? c.t : c.t > any_exact().t;
      if (pick(3) == 0) return {where(cond, x.t, 0.5), x.exact, std::max(x.bound, 0.5)};
      return {where(cond, x.t, y.t), x.exact && y.exact, std::max(x.bound, y.bound)};
    }
    const DType to = kAll[pick(5)];
    const bool to_int = !is_floating(to);
    Value x = to_int ? any_exact() : some();  // a float becomes an integer by truncation
    return {cast(x.t, to), x.exact, to == DType::Bool ? 1 : x.bound + 1};
  }

  Value matmul_step() {
    Value x = full(some());
    if (x.t.dtype() == DType::Bool) x = numeric(x);
    // Integer products take exact operands: a float cast to an integer truncates.
    Value y = full(is_float(x) ? some() : any_exact()), z = full(is_float(x) ? some() : any_exact());
    const DType dt = x.t.dtype();
    Tensor ty = cast(y.t, dt), tz = cast(z.t, dt);
    const double b = x.bound * y.bound * z.bound;
    const double mm = static_cast<double>(bm_), nn = static_cast<double>(n_);
    Tensor r = pick(2) ? matmul(matmul(x.t, transpose(ty)), tz)    // (m, m) (m, n)
                       : matmul(x.t, matmul(transpose(ty), tz));   // (m, n) (n, n)
    return {r, !is_floating(dt) && x.exact && y.exact && z.exact, b * mm * nn};
  }

  Value movement_step() {
    Value x = full(some());
    Value y = full(is_float(x) ? some() : any_exact());  // cast to x's dtype below
    Tensor ty = cast(y.t, x.t.dtype());
    const bool both = x.exact && y.exact;
    const double b = std::max(x.bound, y.bound);
    switch (pick(10)) {
      case 0: return {transpose(maximum(transpose(x.t), transpose(ty))), both, b};
      case 1: {  // split the columns at k (0 and n give an empty part), join them again
        const int64_t k = pick(static_cast<int>(n_ + 1));
        return {concat({slice(x.t, 1, 0, k), slice(ty, 1, k, n_)}, 1), both, b};
      }
      case 2: {  // pad on both axes, then slice back to (m, n) shifted
        const Scalar v = is_float(x) ? Scalar(0.5) : Scalar(int64_t{1});
        const int64_t k = 1 + pick(2);
        Tensor p = pad(x.t, {{k, 1}, {0, k}}, x.t.dtype() == DType::Bool ? Scalar(false) : v);
        return {slice(slice(p, 0, 1, 1 + m_), 1, k - 1, k - 1 + n_), x.exact, b + 1};
      }
      case 3: return {slice(x.t, pick(2), std::nullopt, std::nullopt, -1), x.exact, b};  // reversed
      case 4: {  // even and odd columns, side by side
        Tensor r = concat({slice(x.t, 1, 0, std::nullopt, 2), slice(ty, 1, 1, std::nullopt, 2)}, 1);
        return {r, both, b};
      }
      case 5: {  // take along an axis: indices computed (checked after their kernel) or constant
        const int axis = pick(2);
        const int64_t size = axis ? n_ : m_;
        const bool computed = pick(2) || (rows_vary_ && axis == 0);  // constants would follow the rows
        const Tensor idx = computed ? indices({size}, size) : constant_indices({size}, size);
        // index_add (take's gradient, an interpreter step between kernels): slices of y
        // added at the indices, repeats adding up.
        if (x.t.dtype() != DType::Bool && pick(3) == 0)
          return {index_add(x.t, idx, ty, axis), both, b * static_cast<double>((axis ? n_ : bm_) + 1)};  // bm_: rows' bound
        return {take(x.t, idx, axis), x.exact, b};
      }
      case 6: {
        const int axis = pick(2);
        const int64_t size = axis ? n_ : m_;
        const bool computed = pick(2) || rows_vary_;
        // Now and then indices shared along the other dim (a row picked for all its columns,
        // or the same columns picked in every row): they broadcast against x.
        const Shape shape = pick(4) == 0 ? (axis ? Shape{1, n_} : Shape{m_, 1}) : Shape{m_, n_};
        const Tensor idx = computed ? indices(shape, size) : constant_indices(shape, size);
        // scatter_add (gather's gradient, an interpreter step between kernels): each element
        // of y added where gather reads it, repeats adding up.
        if (x.t.dtype() != DType::Bool && pick(3) == 0)
          return {scatter_add(x.t, idx, ty, axis), both, b * static_cast<double>((axis ? n_ : bm_) + 1)};
        return {gather(x.t, idx, axis), x.exact, b};
      }
      case 7: {  // stack, then reduce the new axis
        const int64_t ax = pick(3);
        Tensor s = stack({x.t, ty}, ax);
        if (x.t.dtype() == DType::Bool || pick(2)) return {max(s, {ax}), both, b};
        return {sum(s, {ax}), both && !is_float(x), 2 * b};
      }
      case 8: {  // reshape through a flat vector, and through (n, m) and a transpose
        if (pick(2)) return {reshape(reshape(x.t, {-1}), {m_, n_}), x.exact, b};
        return {transpose(reshape(x.t, {n_, m_})), x.exact, b};
      }
      default: {
        const int64_t ax = pick(3);
        return {squeeze(unsqueeze(x.t, ax), {ax}), x.exact, b};
      }
    }
  }

  Value composite_step() {
    Value x = floats(full(some()));
    switch (pick(6)) {
      case 0: return {softmax(x.t, pick(2) ? -1 : 0), false, 1};
      case 1: return {log_softmax(x.t, pick(2) ? -1 : 0), false, 2 * x.bound + std::log(static_cast<double>(bm_ * n_)) + 1};
      case 2: {
        // A ramp along the rows: the normalized rounding noise of a constant row (x - mean is
        // an ulp or 0, times 1/sqrt(eps)) would differ between any two summation orders. Its
        // slope is not the constants step's (0.25), which would cancel that step's ramp.
        x.t = x.t + cast(arange(n_).to(device_), x.t.dtype()) * 0.375;
        if (pick(2)) return {layer_norm(x.t), false, std::sqrt(static_cast<double>(n_)) + 1};
        Tensor g = cast(rand({n_}, static_cast<uint64_t>(pick(1000)), DType::F32, -2.0, 2.0).to(device_), x.t.dtype());
        Tensor beta = cast(rand({n_}, static_cast<uint64_t>(pick(1000)), DType::F32, -1.0, 1.0).to(device_), x.t.dtype());
        return {layer_norm(x.t, g, beta), false, 2 * std::sqrt(static_cast<double>(n_)) + 3};
      }
      case 3: {  // one_hot of computed labels
        Tensor labels = reshape(indices({m_}, n_), {m_});
        return {one_hot(labels, n_, x.t.dtype()) * x.t, false, x.bound};
      }
      case 4: {
        Tensor labels = reshape(indices({m_}, n_), {m_});
        const Reduction red = static_cast<Reduction>(pick(3));
        return fit({cross_entropy(x.t, labels, red), false, (2 * x.bound + std::log(static_cast<double>(n_)) + 1) * static_cast<double>(bm_)});
      }
      default: {  // constants made in the trace
        Tensor r = x.t + full_like(x.t, 2) - cast(arange(n_).to(device_), x.t.dtype()) * 0.25;
        return {r, false, x.bound + 2 + 0.25 * static_cast<double>(n_)};
      }
    }
  }

  Value scalar_step() {  // C++ numbers beside tensors (weak scalars: a tensor's dtype wins)
    Value x = some();
    switch (pick(4)) {
      case 0: return {x.t * 3, x.exact && !is_float(x), 3 * x.bound};
      case 1: return {x.t + 0.5, false, x.bound + 0.5};
      case 2: return {2 - numeric(x).t, x.exact && !is_float(x), x.bound + 2};
      default: return {numeric(x).t * 0.75f, false, x.bound};
    }
  }

  std::mt19937_64 rng_;
  int64_t m_, n_;
  bool rows_vary_;  // m may differ between calls: nothing but shapes may follow it
  int64_t bm_;      // the most rows, for magnitude bounds (and the constants that tame them)
  Device device_;  // the inputs': constants made here go there too
  std::vector<Value> pool_;
};

}  // namespace any_chain_detail

/// Inputs of dtype dt and shape s, all in [-4, 4] (integers rounded; bools: positive ones).
inline Tensor bounded_input(DType dt, const Shape& s, uint64_t seed) {
  Tensor x = rand(s, seed, DType::F64, -4.0, 4.0);
  if (dt == DType::Bool) return x > 0.0;
  return cast(is_floating(dt) ? x : round(x), dt);
}

/// A chain's inputs: a (m, n) and b of a shape broadcasting to it, m and n in [1, max_dim],
/// each of a random dtype, all from the seed; `what` describes them.
struct AnyChainCase {
  Tensor a, b;
  std::string what;
};
inline AnyChainCase any_chain_case(uint64_t seed, int64_t max_dim) {
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
  static constexpr DType kAll[] = {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64};
  const int64_t m = 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(max_dim));
  const int64_t n = 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(max_dim));
  const Shape other[] = {{n}, {m, 1}, {1, n}, {}, {m, n}};
  const DType da = kAll[rng() % 5], db = kAll[rng() % 5];
  const Shape sb = other[rng() % 5];
  AnyChainCase c{bounded_input(da, {m, n}, seed), bounded_input(db, sb, seed + 7), ""};
  c.what = "seed " + std::to_string(seed) + ": a " + c.a.shape().str() + " " + std::string(name(da)) + ", b " + sb.str() +
           " " + std::string(name(db));
  return c;
}

/// A chain's output against the interpreter's. `bits`: the same bytes (strict numerics).
/// Otherwise integers, bools and exact floats equal, and other floats within 1e-3 of the
/// interpreter's, relative to the element or 1e-4 relative to the output's scale (a long
/// chain of rounded ops drifts by that; a wrong answer is off by far more).
inline void require_chain_output(const Tensor& compiled, const Tensor& want, ChainOutput info, bool bits,
                                 const std::string& what) {
  const bool exact = info.exact;
  INFO(what);
  REQUIRE(compiled.shape() == want.shape());
  REQUIRE(compiled.dtype() == want.dtype());
  const Tensor got = compiled.to(Device::cpu());
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  double scale = info.scale;
  if (scale == 0)
    for (double v : w) scale = std::max(scale, std::isfinite(v) ? std::fabs(v) : 0.0);
  const bool approximate = !bits && is_floating(want.dtype()) && !exact;
  const size_t size = itemsize(got.dtype());
  for (size_t i = 0; i < g.size(); ++i) {
    bool same = approximate ? agree(g[i], w[i], 1e-3, 1e-4 * (1 + scale))
                            : (g[i] == w[i] || (std::isnan(g[i]) && std::isnan(w[i])));
    if (bits)
      same = std::memcmp(static_cast<const char*>(got.raw_data()) + i * size,
                         static_cast<const char*>(want.raw_data()) + i * size, size) == 0;
    if (!same) {
      INFO("element " << i << " of " << g.size() << ": compiled " << g[i] << ", interpreted " << w[i]
                      << (bits ? " (bit for bit)" : approximate ? "" : " (exact)"));
      REQUIRE(false);
    }
  }
}

/// A random chain over every op kind (see above) of a: (m, n) and b (broadcasting to it),
/// whose elements are at most `input_bound` in magnitude. The same for the same seed, shapes
/// and dtypes. `info`, when given, gets a ChainOutput per output (a host read: not while
/// recording).
inline std::vector<Tensor> random_any_chain(uint64_t seed, const Tensor& a, const Tensor& b, double input_bound = 4,
                                            std::vector<ChainOutput>* info = nullptr) {
  return any_chain_detail::Chain(seed, a, b, input_bound).run(info);
}

/// random_any_chain for a function whose rows (a's dim 0, and b's if it has rows) may vary
/// between calls, up to `max_rows`, and n (a's dim 1) may not equal any of them: the ops, their
/// constants and the magnitude bounds depend on n and the seed only, so jit() may make the rows
/// dynamic (JitOptions::dynamic = true) and run every size on one compile.
inline std::vector<Tensor> random_any_chain_any_rows(uint64_t seed, const Tensor& a, const Tensor& b, int64_t max_rows,
                                                     std::vector<ChainOutput>* info = nullptr) {
  return any_chain_detail::Chain(seed, a, b, 4, max_rows).run(info);
}

}  // namespace ejit::test
