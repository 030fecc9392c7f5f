// Dynamic dims: one trace for every size of some dims. jit() records a function at two
// sizes; generalize() finds the dims that follow the inputs' sizes and writes them as
// symbols (ValueType's dim -(1 + k)); compiled code reads each symbol's size from an input.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ejit/trace.h"

namespace ejit::detail {

/// True when some value of `t` has a dynamic dim.
bool has_dynamic_dims(const Trace& t);
/// Dim d of a shape as a symbol number, or -1 when it is static.
inline int symbol_of(int64_t d) { return d < 0 ? static_cast<int>(-1 - d) : -1; }
inline int64_t symbol_dim(int k) { return -1 - static_cast<int64_t>(k); }
/// A size constant (see generalize): a rank-0 Constant node whose ints are {symbol, factor},
/// standing for factor times the symbol's size.
inline bool is_size_constant(const TraceNode& n) { return n.kind == NodeKind::Constant && n.ints.size() == 2; }
/// A size constant's value when the symbols have sizes `sizes` (a rank-0 tensor of the
/// node's dtype); ejit::Error when the trace has no such symbol.
Tensor size_constant_value(const TraceNode& n, const std::vector<int64_t>& sizes);

/// Per symbol: the (trace input index, dim) its size is read from; {-1, -1} for a symbol
/// no input of `t` carries (then `t` cannot run on its own).
std::vector<std::pair<int, int>> symbol_sources(const Trace& t);
/// True when some symbol of `t` has no input to read its size from.
bool has_unsourced_symbols(const Trace& t);
/// The symbols' sizes for a call with `inputs` (bound to t.inputs in order).
std::vector<int64_t> symbol_sizes(const std::vector<std::pair<int, int>>& sources, const std::vector<Tensor>& inputs);
/// `s` with each dynamic dim replaced by its symbol's size.
Shape concrete(const Shape& s, const std::vector<int64_t>& sizes);
/// "" when `inputs` fit t's input types (dtypes, ranks, static dims, and one size of at
/// least 2 for all dims of a symbol), else what does not fit.
std::string dynamic_mismatch(const Trace& t, const std::vector<Tensor>& inputs);

/// One trace for both recordings `a` and `b` of a function at different sizes: same ops,
/// attributes, wiring and constants (but for rank-0 constants that are a multiple of a
/// symbol's size in both, such as mean's divisor: those become size constants, a Constant
/// node with ints {symbol, factor}), and every dim that differs between them the size of
/// an input dim that differs the same way (input dims that differ the same way are one
/// symbol). Only elementwise ops, casts, where, reductions, reshapes to at most one dynamic
/// dim and permutes may touch a dynamic dim. nullopt, with `why`, when that does not hold.
std::optional<Trace> generalize(const Trace& a, const Trace& b, std::string& why);

}  // namespace ejit::detail
