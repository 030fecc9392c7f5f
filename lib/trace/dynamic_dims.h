// Dynamic dims: one trace for every size of some dims. jit() records a function at two
// sizes; generalize() finds the dims that follow the inputs' sizes and writes them as affine
// functions of symbols (a negative ValueType dim, see encode_dim); compiled code reads each
// symbol's size from an input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ejit/trace.h"

namespace ejit::detail {

/// True when some value of `t` has a dynamic dim.
bool has_dynamic_dims(const Trace& t);

/// A dynamic dim: `factor` times the size of symbol `symbol`, plus `offset`, where the
/// symbol's size is at least `min` on every call the trace serves. A plain symbol (an
/// input's dim) has factor 1 and offset 0; a slice, pad, concat or flattening reshape of
/// it makes other factors and offsets (x[1:] of n rows has n - 1).
struct DimExpr {
  int symbol = 0;
  int64_t factor = 1;
  int64_t offset = 0;
  int64_t min = 2;
  friend bool operator==(const DimExpr&, const DimExpr&) = default;
  /// Its size when the symbol's size is `s`.
  int64_t at(int64_t s) const { return factor * s + offset; }
};
/// The largest symbol number, factor, |offset| and min a dim can encode.
inline constexpr int64_t kMaxSymbol = (int64_t{1} << 16) - 1, kMaxFactor = int64_t{1} << 12,
                         kMaxOffset = (int64_t{1} << 15) - 1, kMaxMin = (int64_t{1} << 18) + 1;
/// True when `e` fits the encoding (symbol, factor >= 1, offset and min in range).
bool encodable(const DimExpr& e);
/// The negative dim standing for `e` (requires encodable(e)). Bits of -1 - dim: symbol
/// (16), factor - 1 (12), zigzag offset (16), min - 2 (18); a plain symbol k of min 2 is
/// -(1 + k), as before affine dims existed.
int64_t encode_dim(const DimExpr& e);
/// The expression dim `d` stands for; nullopt when d >= 0 (static) or not a valid encoding.
std::optional<DimExpr> decode_dim(int64_t d);
/// A dim as text: "12", "s0", "s0-1", "4*s1".
std::string dim_str(int64_t d);
/// A shape as text with dynamic dims as dim_str writes them: "(s0-1, 4)".
std::string shape_str(const Shape& s);
/// Dim d of a shape as a symbol number, or -1 when it is static.
inline int symbol_of(int64_t d) {
  const std::optional<DimExpr> e = decode_dim(d);
  return e ? e->symbol : -1;
}
/// A size constant (see generalize): a rank-0 Constant node whose ints are {symbol, factor}
/// or {symbol, factor, offset}, standing for factor times the symbol's size plus offset.
inline bool is_size_constant(const TraceNode& n) {
  return n.kind == NodeKind::Constant && (n.ints.size() == 2 || n.ints.size() == 3);
}
/// The largest factor and |offset| of a size constant.
inline constexpr int64_t kMaxSizeConstantTerm = int64_t{1} << 46;
/// A size constant's value when the symbols have sizes `sizes` (a rank-0 tensor of the
/// node's dtype); ejit::Error when the trace has no such symbol.
Tensor size_constant_value(const TraceNode& n, const std::vector<int64_t>& sizes);

/// Where a symbol's size is read: dim `dim` of trace input `input`, which is
/// factor * size + offset (input < 0: no input carries the symbol, and then the trace
/// cannot run on its own).
struct SymbolSource {
  int input = -1;
  int dim = -1;
  int64_t factor = 1;
  int64_t offset = 0;
  friend bool operator==(const SymbolSource&, const SymbolSource&) = default;
};
/// Per symbol: where its size is read (a plain dim of an input where there is one).
std::vector<SymbolSource> symbol_sources(const Trace& t);
/// True when some symbol of `t` has no input to read its size from.
bool has_unsourced_symbols(const Trace& t);
/// The symbols' sizes for a call with `inputs` (bound to t.inputs in order).
std::vector<int64_t> symbol_sizes(const std::vector<SymbolSource>& sources, const std::vector<Tensor>& inputs);
/// `s` with each dynamic dim replaced by its size when the symbols have sizes `sizes`.
Shape concrete(const Shape& s, const std::vector<int64_t>& sizes);
/// "" when `inputs` fit t's input types (dtypes, ranks, static dims, and one size of at
/// least its min for every symbol, which each dim of it gives), else what does not fit.
std::string dynamic_mismatch(const Trace& t, const std::vector<Tensor>& inputs);

/// One trace for both recordings `a` and `b` of a function at different sizes: same ops,
/// attributes, wiring and constants (but for rank-0 constants that are a multiple of a
/// dynamic dim's size in both, such as mean's divisor: those become size constants), and
/// every dim that differs between them an affine function (factor >= 1, offset) of an
/// input dim that differs (input dims that differ the same way are one symbol). Each
/// symbol gets the least size for which every dim is at least 1 and every slice stays in
/// bounds. nullopt, with `why`, when that does not hold or some op cannot take its dims.
std::optional<Trace> generalize(const Trace& a, const Trace& b, std::string& why);

}  // namespace ejit::detail
