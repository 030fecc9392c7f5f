#include "dynamic_dims.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "../support/check.h"
#include "ejit/ops.h"
#include "subtrace.h"

namespace ejit::detail {

bool has_dynamic_dims(const Trace& t) {
  for (const ValueType& v : t.values)
    for (int64_t d : v.shape)
      if (d < 0) return true;
  return false;
}

std::string dim_str(int64_t d) {
  const std::optional<DimExpr> e = decode_dim(d);
  if (!e) return d >= 0 ? std::to_string(d) : fmt::format("<invalid dynamic dim {}>", d);
  std::string s = e->factor == 1 ? fmt::format("s{}", e->symbol) : fmt::format("{}*s{}", e->factor, e->symbol);
  if (e->offset) s += fmt::format("{:+}", e->offset);
  return s;
}

std::string shape_str(const Shape& s) {
  std::string out = "(";
  for (int d = 0; d < s.rank(); ++d) out += (d ? ", " : "") + dim_str(s[d]);
  return out + (s.rank() == 1 ? ",)" : ")");
}

bool encodable(const DimExpr& e) {
  return e.symbol >= 0 && e.symbol <= kMaxSymbol && e.factor >= 1 && e.factor <= kMaxFactor && e.offset >= -kMaxOffset &&
         e.offset <= kMaxOffset && e.min >= 2 && e.min <= kMaxMin;
}

int64_t encode_dim(const DimExpr& e) {
  const uint64_t zigzag = e.offset >= 0 ? static_cast<uint64_t>(e.offset) << 1 : (static_cast<uint64_t>(-e.offset) << 1) - 1;
  const uint64_t bits = static_cast<uint64_t>(e.symbol) | static_cast<uint64_t>(e.factor - 1) << 16 | zigzag << 28 |
                        static_cast<uint64_t>(e.min - 2) << 44;
  return -1 - static_cast<int64_t>(bits);
}

std::optional<DimExpr> decode_dim(int64_t d) {
  if (d >= 0) return std::nullopt;
  const uint64_t bits = static_cast<uint64_t>(-1 - d);
  if (bits >> 62) return std::nullopt;
  const uint64_t zigzag = (bits >> 28) & 0xFFFF;
  DimExpr e{static_cast<int>(bits & 0xFFFF), static_cast<int64_t>((bits >> 16) & 0xFFF) + 1,
            zigzag & 1 ? -static_cast<int64_t>((zigzag + 1) >> 1) : static_cast<int64_t>(zigzag >> 1),
            static_cast<int64_t>(bits >> 44) + 2};
  if (!encodable(e)) return std::nullopt;
  return e;
}

std::vector<SymbolSource> symbol_sources(const Trace& t) {
  std::vector<SymbolSource> sources;
  auto grow = [&](int k) {
    if (k >= static_cast<int>(sources.size())) sources.resize(static_cast<size_t>(k) + 1);
  };
  for (size_t i = 0; i < t.inputs.size(); ++i) {
    const Shape& s = t.values[t.inputs[i]].shape;
    for (int d = 0; d < s.rank(); ++d) {
      const std::optional<DimExpr> e = decode_dim(s[d]);
      if (!e) continue;
      grow(e->symbol);
      SymbolSource& source = sources[static_cast<size_t>(e->symbol)];
      const bool plain = e->factor == 1 && e->offset == 0;
      if (source.input < 0 || (plain && (source.factor != 1 || source.offset != 0)))
        source = {static_cast<int>(i), d, e->factor, e->offset};
    }
  }
  for (const ValueType& v : t.values)  // symbols only other values carry
    for (int64_t d : v.shape)
      if (int k = symbol_of(d); k >= 0) grow(k);
  return sources;
}

bool has_unsourced_symbols(const Trace& t) {
  for (const SymbolSource& s : symbol_sources(t))
    if (s.input < 0) return true;
  return false;
}

std::vector<int64_t> symbol_sizes(const std::vector<SymbolSource>& sources, const std::vector<Tensor>& inputs) {
  std::vector<int64_t> sizes(sources.size(), 0);
  for (size_t k = 0; k < sources.size(); ++k)
    if (const SymbolSource& s = sources[k]; s.input >= 0)
      sizes[k] = (inputs.at(static_cast<size_t>(s.input)).shape()[s.dim] - s.offset) / s.factor;
  return sizes;
}

Shape concrete(const Shape& s, const std::vector<int64_t>& sizes) {
  Shape out = s;
  for (int d = 0; d < s.rank(); ++d)
    if (const std::optional<DimExpr> e = decode_dim(s[d])) out[d] = e->at(sizes.at(static_cast<size_t>(e->symbol)));
  return out;
}

std::string dynamic_mismatch(const Trace& t, const std::vector<Tensor>& inputs) {
  if (inputs.size() != t.inputs.size()) return fmt::format("{} inputs, the trace takes {}", inputs.size(), t.inputs.size());
  std::map<int, int64_t> size;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ValueType& want = t.values[t.inputs[i]];
    const Shape& got = inputs[i].shape();
    if (inputs[i].dtype() != want.dtype || got.rank() != want.shape.rank())
      return fmt::format("input {} is {}{}, the trace takes {}{}", i, name(inputs[i].dtype()), got, name(want.dtype),
                         shape_str(want.shape));
    for (int d = 0; d < got.rank(); ++d) {
      const std::optional<DimExpr> e = decode_dim(want.shape[d]);
      if (!e && got[d] != want.shape[d]) return fmt::format("input {} dim {} is {}, not {}", i, d, got[d], want.shape[d]);
      if (!e) continue;
      const int64_t n = (got[d] - e->offset) / e->factor;
      if ((got[d] - e->offset) % e->factor != 0 || n < e->min) {
        if (e->factor == 1 && e->offset == 0 && e->min == 2)
          return fmt::format("input {} dim {} is {}: a dynamic dim is at least 2", i, d, got[d]);
        return fmt::format("input {} dim {} is {}, not {} for a size s{} of at least {}", i, d, got[d],
                           dim_str(want.shape[d]), e->symbol, e->min);
      }
      auto [it, fresh] = size.emplace(e->symbol, n);
      if (!fresh && it->second != n)
        return fmt::format("input {} dim {} is {}, another dim of its symbol gives it size {}", i, d, got[d], it->second);
    }
  }
  return "";
}

namespace {

/// Dim d as an expression; a static dim as symbol -1, factor 0 and offset d.
DimExpr affine(int64_t d) {
  if (const std::optional<DimExpr> e = decode_dim(d)) return *e;
  return {-1, 0, d};
}

int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0 && (a > 0) == (b > 0)); }

/// What each symbol's size must be at least: raised by `need`.
struct Minimums {
  std::vector<int64_t> min;
  void need(int symbol, int64_t at_least) { min[static_cast<size_t>(symbol)] = std::max(min[static_cast<size_t>(symbol)], at_least); }
};

/// a * b + c, or nullopt when it overflows int64.
std::optional<int64_t> mul_add(int64_t a, int64_t b, int64_t c) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r) || __builtin_add_overflow(r, c, &r)) return std::nullopt;
  return r;
}

/// Whether `n`, whose operands or result have dynamic dims, computes the same as the eager
/// op for every size of them that `mins` allows (raising mins where it needs larger sizes),
/// and every lowering takes it; else why not. Dims a value copies from another (elementwise
/// ops, reductions, permutes, matmuls) have the same expression by construction; dims an op
/// computes (concat, pad, slice, reshape) are checked against its rule, and a broadcast's
/// target against dims that other symbols could explain (`ambiguous`).
std::string takes_dynamic(const TraceNode& n, const Trace& t, const std::vector<int64_t>& ambiguous, Minimums& mins) {
  const Shape& out_shape = t.values[n.output].shape;
  switch (n.kind) {
    case NodeKind::Unary:
    case NodeKind::Binary:
    case NodeKind::Cast:
    case NodeKind::Where:
    case NodeKind::Reduce:
    case NodeKind::Permute:
    case NodeKind::Take:  // its dims are its operands' (indices checked against each call's sizes)
    case NodeKind::Gather:
    case NodeKind::IndexAdd:  // x's dims (the interpreter's, between kernels)
    case NodeKind::ScatterAdd:
    case NodeKind::MatMul: return "";  // its dims are its operands' (on the BLAS, between kernels)
    case NodeKind::BroadcastTo: {  // a target dim broadcast from 1 is read from an input (ejit.dim_sizes)
      const Shape& in = t.values[n.inputs[0]].shape;
      for (int d = 0; d < out_shape.rank(); ++d) {
        const int j = d - (out_shape.rank() - in.rank());
        if (out_shape[d] < 0 && (j < 0 || in[j] >= 0) &&
            std::find(ambiguous.begin(), ambiguous.end(), out_shape[d]) != ambiguous.end())
          return "a broadcast to a size two input dims could explain";
      }
      return "";
    }
    case NodeKind::Concat: {  // along the axis, the sum of the pieces'
      const int axis = static_cast<int>(n.ints[0]);
      DimExpr sum{-1, 0, 0};
      for (int v : n.inputs) {
        const DimExpr piece = affine(t.values[v].shape[axis]);
        if (piece.symbol >= 0 && sum.symbol >= 0 && piece.symbol != sum.symbol) return "a concat of pieces of two symbols";
        sum.symbol = std::max(sum.symbol, piece.symbol);
        sum.factor += piece.factor, sum.offset += piece.offset;
      }
      const DimExpr out = affine(out_shape[axis]);
      if (out.symbol != sum.symbol || out.factor != sum.factor || out.offset != sum.offset)
        return "a concat whose size is not its pieces' sum at every size";
      return "";
    }
    case NodeKind::Pad: {  // each dim grows by its widths
      const Shape& in = t.values[n.inputs[0]].shape;
      const size_t r = static_cast<size_t>(in.rank());
      for (size_t d = 0; d < r; ++d) {
        const DimExpr x = affine(in[static_cast<int>(d)]), y = affine(out_shape[static_cast<int>(d)]);
        if (x.symbol != y.symbol || x.factor != y.factor || (x.symbol >= 0 && y.offset != x.offset + n.ints[d] + n.ints[r + d]))
          return "a pad whose size is not its operand's plus its widths at every size";
      }
      return "";
    }
    case NodeKind::Slice: {
      // Reads x[start + step * i] for i < L along the axis: in bounds when
      // start + step * (L - 1) <= I - 1, with I and L affine in one symbol's size s. A fixed L
      // needs a stop of its own (x[:5], not x[::2]); a bound clamped to the dim, x[1:100],
      // looks like x[1:] at small sizes. A stop the caller computed from a size (x[k:k+m])
      // is taken as written, as every size the C++ code computes is.
      const int axis = static_cast<int>(n.ints[0]);
      const int64_t start = n.ints[1], step = n.ints[2];
      const DimExpr in = affine(t.values[n.inputs[0]].shape[axis]), out = affine(out_shape[axis]);
      if (in.symbol < 0 && out.symbol < 0) return "";
      if (n.ints.size() < 4) return "a slice along a dynamic dim whose bounds were not recorded";
      const int64_t bounds = n.ints[3];
      if (step < 1) return "a slice with a negative step along a dynamic dim";
      if (bounds & kSliceClamped) return "a slice along a dynamic dim with a bound outside it (x[1:100] of 10 rows)";
      if (out.symbol < 0 && (out.offset == 0 || (bounds & kSliceStopFromEnd)))
        return "a slice of a fixed length that counts from the end of a dynamic dim";
      if (in.symbol >= 0 && out.symbol >= 0 && in.symbol != out.symbol) return "a slice to the size of another dim";
      const int k = std::max(in.symbol, out.symbol);
      const std::optional<int64_t> a = mul_add(-step, out.factor, in.factor),
                                   b = mul_add(-step, out.offset - 1, in.offset - 1 - start);
      if (!a || !b || *a < 0 || (*a == 0 && *b < 0)) return "a slice that leaves its operand at some sizes";
      if (*a > 0) mins.need(k, ceil_div(-*b, *a));
      return "";
    }
    case NodeKind::Reshape: {  // one dynamic dim on each side, of one symbol, as many elements
      auto split = [](const Shape& s, DimExpr& dynamic, int64_t& statics) {
        int count = 0;
        statics = 1;
        for (int64_t d : s)
          if (d < 0) dynamic = affine(d), ++count;
          else statics *= d;  // at most 2^50 elements: no overflow
        return count;
      };
      DimExpr in, out;
      int64_t pin = 1, pout = 1;
      const int din = split(t.values[n.inputs[0]].shape, in, pin), dout = split(out_shape, out, pout);
      if (din == 0 && dout == 0) return "";
      if (din != 1 || dout != 1 || in.symbol != out.symbol || pin == 0 || pout == 0)
        return "a reshape that merges or splits dynamic dims";
      if (mul_add(pin, in.factor, 0) != mul_add(pout, out.factor, 0) || mul_add(pin, in.offset, 0) != mul_add(pout, out.offset, 0))
        return "a reshape whose sizes match at two sizes only";
      return "";
    }
    default: return fmt::format("{} does not take dynamic dims yet", node_name(n));
  }
}

/// The symbol sizes of the two recordings: symbol k is (first[k], second[k]).
struct SymbolSizes {
  std::vector<int64_t> first, second;
};

/// Dim (sa in a, sb in b) as factor * symbol + offset: an input dim that grew the same way
/// if there is one (*ambiguous when another symbol's affine function fits too), else the
/// one affine fit with an integer factor >= 1.
std::optional<DimExpr> fit_dim(int64_t sa, int64_t sb, const SymbolSizes& symbols, bool* ambiguous, std::string& why) {
  std::optional<DimExpr> exact, found;
  bool conflicting = false;  // two affine fits of different symbols or coefficients
  for (size_t k = 0; k < symbols.first.size(); ++k) {
    const int64_t na = symbols.first[k], nb = symbols.second[k];
    if (sa == na && sb == nb) {
      exact = DimExpr{static_cast<int>(k)};
      continue;
    }
    if ((sb - sa) % (nb - na) != 0 || (sb - sa) / (nb - na) < 1) continue;
    const int64_t factor = (sb - sa) / (nb - na);
    const DimExpr e{static_cast<int>(k), factor, sa - factor * na};
    conflicting |= found && !(*found == e);
    if (!found) found = e;
  }
  *ambiguous = exact && found;
  if (exact) return exact;
  if (!found) why = "it is no multiple of an input dim's size plus a constant";
  else if (conflicting) why = "it fits the sizes of two input dims";
  else if (!encodable(*found)) why = fmt::format("factor {} and offset {} are more than a dim encodes", found->factor, found->offset);
  else return found;
  return std::nullopt;
}

/// A rank-0 constant that in both recordings is `m` times the size of one of the trace's
/// dynamic dims `dims` (mean's divisor): {symbol, factor, offset} of its value.
std::optional<std::vector<int64_t>> size_constant(const TraceNode& a, const TraceNode& b, const std::vector<DimExpr>& dims,
                                                  const SymbolSizes& symbols) {
  if (a.kind != NodeKind::Constant || b.kind != NodeKind::Constant || a.output != b.output) return std::nullopt;
  const Tensor &x = a.constant, &y = b.constant;
  if (x.rank() != 0 || y.rank() != 0 || x.dtype() != y.dtype() || x.dtype() == DType::Bool) return std::nullopt;
  const double va = x.item<double>(), vb = y.item<double>();
  std::optional<std::vector<int64_t>> found;
  for (const DimExpr& e : dims) {
    const int64_t da = e.at(symbols.first[static_cast<size_t>(e.symbol)]),
                  db = e.at(symbols.second[static_cast<size_t>(e.symbol)]);
    if (da < 1 || db < 1) continue;
    const double ma = va / static_cast<double>(da), mb = vb / static_cast<double>(db);
    if (ma != mb || ma < 1 || ma != std::floor(ma) || ma >= 1e9) continue;
    const int64_t m = static_cast<int64_t>(ma);
    if (m * e.factor > kMaxSizeConstantTerm || m * std::max(e.offset, -e.offset) > kMaxSizeConstantTerm) continue;
    std::vector<int64_t> ints = {e.symbol, m * e.factor};
    if (e.offset) ints.push_back(m * e.offset);
    if (found && *found != ints) return std::nullopt;  // two dims fit (dims that grew alike): which one it counts is unknown
    found = ints;
  }
  return found;
}

}  // namespace

std::optional<Trace> generalize(const Trace& a, const Trace& b, std::string& why) {
  if (a.values.size() != b.values.size() || a.inputs != b.inputs || a.outputs != b.outputs ||
      a.nodes.size() != b.nodes.size()) {
    why = "the two recordings differ in their ops";
    return std::nullopt;
  }
  for (size_t v = 0; v < a.values.size(); ++v)
    if (a.values[v].dtype != b.values[v].dtype || a.values[v].shape.rank() != b.values[v].shape.rank()) {
      why = fmt::format("value {} has another dtype or rank", v);
      return std::nullopt;
    }
  SymbolSizes symbols;  // one per distinct (size in a, size in b) of input dims
  for (int v : a.inputs)
    for (int d = 0; d < a.values[v].shape.rank(); ++d) {
      const int64_t sa = a.values[v].shape[d], sb = b.values[v].shape[d];
      if (sa == sb) continue;
      if (sa < 2 || sb < 2) {
        why = fmt::format("a dim of size {} -> {}: dynamic dims are at least 2", sa, sb);
        return std::nullopt;
      }
      bool known = false;
      for (size_t k = 0; k < symbols.first.size(); ++k) known |= symbols.first[k] == sa && symbols.second[k] == sb;
      if (!known) symbols.first.push_back(sa), symbols.second.push_back(sb);
    }
  if (symbols.first.empty()) {
    why = "no input dim differs";
    return std::nullopt;
  }
  if (static_cast<int64_t>(symbols.first.size()) > kMaxSymbol + 1) {
    why = "too many input dims differ";
    return std::nullopt;
  }
  Trace g = b;
  std::vector<DimExpr> dims;        // the distinct dynamic dims, for size constants
  std::vector<int64_t> ambiguous;    // dims exactly an input's that another symbol fits too
  for (size_t v = 0; v < g.values.size(); ++v) {
    Shape& s = g.values[v].shape;
    for (int d = 0; d < s.rank(); ++d) {
      const int64_t sa = a.values[v].shape[d], sb = b.values[v].shape[d];
      if (sa == sb) continue;
      std::string not_fit = "dynamic dims are at least 2 (1 broadcasts)";
      bool two_fits = false;
      const std::optional<DimExpr> e = sa < 2 || sb < 2 ? std::nullopt : fit_dim(sa, sb, symbols, &two_fits, not_fit);
      if (!e) {
        why = fmt::format("value {} dim {} ({} -> {}): {}", v, d, sa, sb, not_fit);
        return std::nullopt;
      }
      s[d] = encode_dim(*e);
      if (two_fits) ambiguous.push_back(s[d]);
      if (std::find(dims.begin(), dims.end(), *e) == dims.end()) dims.push_back(*e);  // all of min 2 yet
    }
  }
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    if (same_node(a.nodes[i], b.nodes[i])) continue;
    std::optional<std::vector<int64_t>> size = size_constant(a.nodes[i], b.nodes[i], dims, symbols);
    if (!size) {
      why = fmt::format("the two recordings differ at op {} ({})", i, node_name(a.nodes[i]));
      return std::nullopt;
    }
    g.nodes[i].ints = std::move(*size);
  }
  Minimums mins{std::vector<int64_t>(symbols.first.size(), 2)};
  for (const DimExpr& e : dims) mins.need(e.symbol, ceil_div(1 - e.offset, e.factor));  // every dim at least 1
  for (const TraceNode& n : g.nodes) {
    bool dynamic = false;
    for (int v : n.inputs) dynamic |= g.values[v].shape != a.values[v].shape;
    dynamic |= g.values[n.output].shape != a.values[n.output].shape;
    if (!dynamic) continue;
    if (std::string no = takes_dynamic(n, g, ambiguous, mins); !no.empty()) {
      why = fmt::format("op {} ({}): {}", &n - g.nodes.data(), node_name(n), no);
      return std::nullopt;
    }
  }
  for (size_t k = 0; k < mins.min.size(); ++k)
    if (mins.min[k] > std::min(symbols.first[k], symbols.second[k]) || mins.min[k] > kMaxMin) {
      why = fmt::format("symbol s{} would need sizes of at least {}", k, mins.min[k]);
      return std::nullopt;
    }
  for (ValueType& v : g.values)  // every dim of a symbol says the symbol's least size
    for (int d = 0; d < v.shape.rank(); ++d)
      if (std::optional<DimExpr> e = decode_dim(v.shape[d])) {
        e->min = mins.min[static_cast<size_t>(e->symbol)];
        v.shape[d] = encode_dim(*e);
      }
  return g;
}

Tensor size_constant_value(const TraceNode& n, const std::vector<int64_t>& sizes) {
  if (n.ints[0] < 0 || static_cast<size_t>(n.ints[0]) >= sizes.size())
    fail("trace", "a size constant of symbol {}, which the trace does not have ({} symbols)", n.ints[0], sizes.size());
  const int64_t offset = n.ints.size() > 2 ? n.ints[2] : 0;
  int64_t value = 0;
  if (__builtin_mul_overflow(n.ints[1], sizes[static_cast<size_t>(n.ints[0])], &value) ||
      __builtin_add_overflow(value, offset, &value))
    fail("trace", "a size constant {} * s{} + {} overflows int64", n.ints[1], n.ints[0], offset);
  return full(Shape{}, static_cast<double>(value), n.constant.dtype());
}

}  // namespace ejit::detail
