// How compiled kernels and the interpreter's steps inside compiled code are named in profiles.
#pragma once

// Its inline code reads tensor sizes: only library code (EJIT_LIBRARY_CODE, quiet size
// reads) may include it, or a test's copy of these functions would report to recorders.
#ifndef EJIT_LIBRARY_CODE
#error "a library-internal header: include it from library code only"
#endif

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ejit/format.h"
#include "ejit/tensor.h"
#include "ejit/trace.h"

namespace ejit::detail {

/// "exp,mul,add,sum +2 (12 ops) -> f32(64,10)": a kernel's first distinct ops, its op count
/// and its first output (the kernels of one trace read apart; equal kernels add up).
inline std::string kernel_profile_name(const Trace& t) {
  std::vector<std::string> kinds;
  size_t ops = 0;
  for (const TraceNode& n : t.nodes) {
    if (n.kind == NodeKind::Constant || n.kind == NodeKind::Reshape) continue;
    ++ops;
    std::string k = node_name(n);
    if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(std::move(k));
  }
  std::string list;
  for (size_t i = 0; i < std::min<size_t>(kinds.size(), 4); ++i) list += (i ? "," : "") + kinds[i];
  if (kinds.size() > 4) list += fmt::format(" +{}", kinds.size() - 4);
  std::string out;
  if (!t.outputs.empty()) {
    const ValueType& v = t.values[t.outputs[0]];
    out = fmt::format(" -> {}{}{}", v.dtype, v.shape, t.outputs.size() > 1 ? fmt::format(" +{}", t.outputs.size() - 1) : "");
  }
  return fmt::format("{} ({} op{}){}", list.empty() ? "copy" : list, ops, ops == 1 ? "" : "s", out);
}

/// An interpreter step of compiled code: its op, and for a matmul on the BLAS its operands
/// ("matmul (256,784)^T x (256,512)": ^T, read transposed in place).
inline std::string interp_step_name(const TraceNode& n, const std::vector<Tensor>& in, bool trans_a = false,
                                    bool trans_b = false) {
  if (n.kind == NodeKind::MatMul && in.size() == 2 && in[0].defined() && in[1].defined())
    return fmt::format("matmul {}{} x {}{}", in[0].shape(), trans_a ? "^T" : "", in[1].shape(), trans_b ? "^T" : "");
  return node_name(n);
}

}  // namespace ejit::detail
