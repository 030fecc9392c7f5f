#include "dynamic_dims.h"

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

std::vector<std::pair<int, int>> symbol_sources(const Trace& t) {
  std::vector<std::pair<int, int>> sources;
  auto note = [&](int k, int input, int dim) {
    if (k >= static_cast<int>(sources.size())) sources.resize(k + 1, {-1, -1});
    if (sources[k].first < 0 && input >= 0) sources[k] = {input, dim};
  };
  for (size_t i = 0; i < t.inputs.size(); ++i) {
    const Shape& s = t.values[t.inputs[i]].shape;
    for (int d = 0; d < s.rank(); ++d)
      if (int k = symbol_of(s[d]); k >= 0) note(k, static_cast<int>(i), d);
  }
  for (const ValueType& v : t.values)  // symbols only other values carry
    for (int64_t d : v.shape)
      if (int k = symbol_of(d); k >= 0) note(k, -1, -1);
  return sources;
}

bool has_unsourced_symbols(const Trace& t) {
  for (const auto& [input, dim] : symbol_sources(t))
    if (input < 0) return true;
  return false;
}

std::vector<int64_t> symbol_sizes(const std::vector<std::pair<int, int>>& sources, const std::vector<Tensor>& inputs) {
  std::vector<int64_t> sizes(sources.size(), 0);
  for (size_t k = 0; k < sources.size(); ++k)
    if (sources[k].first >= 0) sizes[k] = inputs.at(sources[k].first).shape()[sources[k].second];
  return sizes;
}

Shape concrete(const Shape& s, const std::vector<int64_t>& sizes) {
  Shape out = s;
  for (int d = 0; d < s.rank(); ++d)
    if (int k = symbol_of(s[d]); k >= 0) out[d] = sizes.at(k);
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
                         want.shape);
    for (int d = 0; d < got.rank(); ++d) {
      const int k = symbol_of(want.shape[d]);
      if (k < 0 && got[d] != want.shape[d]) return fmt::format("input {} dim {} is {}, not {}", i, d, got[d], want.shape[d]);
      if (k < 0) continue;
      if (got[d] < 2) return fmt::format("input {} dim {} is {}: a dynamic dim is at least 2", i, d, got[d]);
      auto [it, fresh] = size.emplace(k, got[d]);
      if (!fresh && it->second != got[d])
        return fmt::format("input {} dim {} is {}, another dim of its symbol {}", i, d, got[d], it->second);
    }
  }
  return "";
}

namespace {

/// Ops whose output dims follow their input dims in a way every lowering takes dynamic.
bool takes_dynamic(const TraceNode& n, const Trace& t) {
  switch (n.kind) {
    case NodeKind::Unary:
    case NodeKind::Binary:
    case NodeKind::Cast:
    case NodeKind::Where:
    case NodeKind::Reduce:
    case NodeKind::Permute:
    case NodeKind::BroadcastTo:  // its dynamic target dims are symbols, read from inputs
    case NodeKind::Take:         // on the interpreter: its dims are its operands'
    case NodeKind::Gather:
    case NodeKind::MatMul: return true;  // its dims are its operands' (on the BLAS, between kernels)
    case NodeKind::Slice: {  // along a dim that does not vary (its size would depend on clamping)
      const int axis = static_cast<int>(n.ints[0]);
      return t.values[n.inputs[0]].shape[axis] >= 0 && t.values[n.output].shape[axis] >= 0;
    }
    case NodeKind::Concat: {
      const int axis = static_cast<int>(n.ints[0]);
      bool fixed = t.values[n.output].shape[axis] >= 0;
      for (int v : n.inputs) fixed &= t.values[v].shape[axis] >= 0;
      return fixed;
    }
    case NodeKind::Pad: {  // padding only dims that do not vary
      const Shape& in = t.values[n.inputs[0]].shape;
      const size_t r = static_cast<size_t>(in.rank());
      for (size_t d = 0; d < r; ++d)
        if (in[static_cast<int>(d)] < 0 && (n.ints[d] != 0 || n.ints[r + d] != 0)) return false;
      return true;
    }
    case NodeKind::Reshape: {  // one dynamic dim on each side, the same symbol
      std::vector<int64_t> in, out;
      for (int64_t d : t.values[n.inputs[0]].shape)
        if (d < 0) in.push_back(d);
      for (int64_t d : t.values[n.output].shape)
        if (d < 0) out.push_back(d);
      return in == out && in.size() <= 1;
    }
    default: return false;
  }
}

/// A rank-0 constant that is `factor` times a symbol's size in both recordings (mean's
/// divisor): (symbol, factor).
std::optional<std::pair<int, int64_t>> size_constant(const TraceNode& a, const TraceNode& b,
                                                     const std::map<std::pair<int64_t, int64_t>, int>& symbols) {
  if (a.kind != NodeKind::Constant || b.kind != NodeKind::Constant || a.output != b.output) return std::nullopt;
  const Tensor &x = a.constant, &y = b.constant;
  if (x.rank() != 0 || y.rank() != 0 || x.dtype() != y.dtype() || x.dtype() == DType::Bool) return std::nullopt;
  const double va = x.item<double>(), vb = y.item<double>();
  std::optional<std::pair<int, int64_t>> found;
  for (const auto& [sizes, k] : symbols) {
    const double ca = va / static_cast<double>(sizes.first), cb = vb / static_cast<double>(sizes.second);
    if (ca != cb || ca < 1 || ca != std::floor(ca) || ca >= 1e9) continue;
    if (found) return std::nullopt;  // two symbols fit (dims that grew alike): which one it counts is unknown
    found = std::pair{k, static_cast<int64_t>(ca)};
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
  std::map<std::pair<int64_t, int64_t>, int> symbol;  // (size in a, size in b) -> symbol
  for (int v : a.inputs)
    for (int d = 0; d < a.values[v].shape.rank(); ++d) {
      const int64_t sa = a.values[v].shape[d], sb = b.values[v].shape[d];
      if (sa == sb) continue;
      if (sa < 2 || sb < 2) {
        why = fmt::format("a dim of size {} -> {}: dynamic dims are at least 2", sa, sb);
        return std::nullopt;
      }
      symbol.emplace(std::pair{sa, sb}, static_cast<int>(symbol.size()));
    }
  if (symbol.empty()) {
    why = "no input dim differs";
    return std::nullopt;
  }
  Trace g = b;
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    if (same_node(a.nodes[i], b.nodes[i])) continue;
    std::optional<std::pair<int, int64_t>> size = size_constant(a.nodes[i], b.nodes[i], symbol);
    if (!size) {
      why = fmt::format("the two recordings differ at op {} ({})", i, node_name(a.nodes[i]));
      return std::nullopt;
    }
    g.nodes[i].ints = {size->first, size->second};
  }
  for (size_t v = 0; v < g.values.size(); ++v) {
    Shape& s = g.values[v].shape;
    for (int d = 0; d < s.rank(); ++d) {
      const int64_t sa = a.values[v].shape[d], sb = b.values[v].shape[d];
      if (sa == sb) continue;
      auto it = symbol.find({sa, sb});
      if (it == symbol.end()) {
        why = fmt::format("value {} dim {} ({} -> {}) is the size of no input dim", v, d, sa, sb);
        return std::nullopt;
      }
      s[d] = symbol_dim(it->second);
    }
  }
  for (const TraceNode& n : g.nodes) {
    bool dynamic = false;
    for (int v : n.inputs) dynamic |= g.values[v].shape != a.values[v].shape;
    dynamic |= g.values[n.output].shape != a.values[n.output].shape;
    if (dynamic && !takes_dynamic(n, g)) {
      why = fmt::format("{} does not take dynamic dims yet", node_name(n));
      return std::nullopt;
    }
  }
  return g;
}

Tensor size_constant_value(const TraceNode& n, const std::vector<int64_t>& sizes) {
  if (n.ints[0] < 0 || static_cast<size_t>(n.ints[0]) >= sizes.size())
    fail("trace", "a size constant of symbol {}, which the trace does not have ({} symbols)", n.ints[0], sizes.size());
  return full(Shape{}, static_cast<double>(n.ints[1] * sizes[static_cast<size_t>(n.ints[0])]), n.constant.dtype());
}

}  // namespace ejit::detail
