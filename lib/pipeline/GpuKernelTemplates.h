// Kernel templates of the GPU back end, as MLIR text (the back end turns them into PTX with
// template_to_ptx and caches them).
#pragma once

#include <string>
#include <vector>

#include "ejit/dtype.h"
#include "ejit/op_kind.h"

namespace mlir {
class ModuleOp;
}  // namespace mlir

namespace ejit::detail {

/// A reduction kernel: "rows" reduces each row of a (rows, len) view with one block of
/// threads per (row, split) and a shuffle/shared-memory tree; "cols" reduces (outer, len,
/// inner) with one thread per output. op: 0 sum, 1 prod, 2 max, 3 min (ReduceOp order).
/// `input` is the element type read, `dtype` the accumulator and result (bool and i32
/// sums and products widen to i64). Returns the PTX of a module with kernel "reduce_rows"
/// or "reduce_cols". This is the module's MLIR text.
std::string reduction_text(bool rows, ReduceOp op, DType input, DType dtype);

/// argmax / argmin over the middle dim of (outer, len, inner): kernel "reduce_arg", one thread
/// per output, the interpreter's rules (the first extreme wins; a NaN wins at once). Same
/// parameters as "reduce_cols"; the output is i64.
std::string arg_reduction_text(bool max, DType input);

/// take(x, indices, axis) as kernel "take": x viewed as (outer, n, inner), k indices;
/// out[o, j, i] = x[o, idx[j] (negative ones wrapped), i], one thread per output element.
/// Parameters: x, indices and out as 1-D memref descriptors, then n, k, inner, total.
/// The caller checks the indices (the kernel does not).
std::string take_text(DType dtype, DType index_dtype);

/// Softmax and layer norm over the last axis of a (rows, len) f32 or f64 tensor as one
/// kernel, a block per row ("row_softmax", "row_layer_norm"): the row is read from memory
/// once (its later passes find it in the caches) and written once, where two block
/// reductions and two fused kernels read it three times and wrote a temporary. The ops are
/// the trace's, in its order: softmax exp(x - max) / sum(exp(x - max)); layer norm
/// d = x - sum(x) / n1, d * (1 / sqrt(sum(d * d) / n2 + eps)). Parameters: in and out as
/// 1-D memref descriptors, len, and for layer norm n1, n2 and eps (the element type).
/// Layer norm's scale and shift (`scale`, `shift`: y * gamma + beta, each of the row's
/// length) come in as buffers between in and out.
enum class RowKernel : uint8_t { Softmax, LayerNorm, LogSoftmax };  // log_softmax: (x - max) - log(sum(exp(x - max)))
std::string row_kernel_text(RowKernel kind, DType dtype, bool scale = false, bool shift = false);
/// The kernel's name in that text.
const char* row_kernel_name(RowKernel kind);

/// A shape-generic elementwise kernel "ew" for eager GPU ops: out[g] = op(in_k[offset_k(g)])
/// for g < n, where g's coordinates over `rank` dims and each input's strides (0 where it
/// broadcasts) are kernel parameters — so one kernel serves every shape of an op and
/// dtype. kind: 0 unary (sub = UnaryOp), 1 binary (BinaryOp), 2 cast, 3 where.
/// Parameters: out and each input as 1-D memref descriptors (5 values each), then n, the
/// rank sizes, and rank strides per input (all i64).
struct ElementwiseSpec {
  int kind = 0;
  int sub = 0;
  std::vector<DType> inputs;
  DType output = DType::F32;
  int rank = 1;
  std::string key() const;
};
/// The kernel's text, its computation left as a call of @body...
std::string elementwise_text(const ElementwiseSpec& s);
/// ...which this replaces with the op's scalar computation (false and `why` if it cannot).
bool build_elementwise_body(mlir::ModuleOp m, const ElementwiseSpec& s, std::string& why);

}  // namespace ejit::detail
