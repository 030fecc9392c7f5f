#include "gpu_row_kernels.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "../../trace/dynamic_dims.h"
#include "gpu_kernels.h"

namespace ejit::detail {
namespace {

/// Threads per block (per row), at most.
constexpr int64_t kRowThreads = 256;
/// The largest row a block takes. A row's later passes should find it in L2: an H100 keeps
/// about 1000 such blocks resident (132 SMs, 8 blocks of 256 threads each) in 50 MB of L2,
/// so 32 KB rows (8192 f32) fill 34 MB. Longer rows keep the block reductions, which also
/// split a row over several blocks.
constexpr int64_t kMaxRowBytes = 32 << 10;

/// Walks one candidate: each step finds the node that reads a value in the expected way
/// and records it; a step that finds none ends the match.
struct Walk {
  const Trace& t;
  const TraceUses& uses;
  const ValueType& x;  // the row-wise input
  std::vector<int> nodes;

  const TraceNode& node(int k) const { return t.nodes[static_cast<size_t>(k)]; }
  bool has_shape(int v, const Shape& s) const { return t.values[v].shape == s && t.values[v].dtype == x.dtype; }

  /// The consumer of `v` that `fits`, recorded; -1 when none.
  template <class F>
  int consumer(int v, F fits) {
    for (int k : uses.consumers[v])
      if (fits(node(k))) return nodes.push_back(k), node(k).output;
    return -1;
  }
  bool binary(const TraceNode& n, BinaryOp op) const {
    return n.kind == NodeKind::Binary && static_cast<BinaryOp>(n.sub) == op && n.inputs.size() == 2;
  }
  bool unary(const TraceNode& n, UnaryOp op) const { return n.kind == NodeKind::Unary && static_cast<UnaryOp>(n.sub) == op; }
  /// Starts a match at `reduce`, a reduction `op` of its input over the last axis: that
  /// row value, or -1 when `reduce` is not one.
  int begin(int reduce, ReduceOp op) {
    nodes = {};
    const int r = row_reduction(node(reduce).inputs[0], op);
    return r >= 0 && nodes.front() == reduce ? r : -1;
  }
  /// A one-element constant of x's dtype (not a size constant of dynamic dims): its value.
  std::optional<double> scalar(int v) const {
    const int k = uses.producer[v];
    if (k < 0 || node(k).kind != NodeKind::Constant || is_size_constant(node(k)) || t.values[v].shape.numel() != 1 ||
        t.values[v].dtype != x.dtype)
      return std::nullopt;
    return node(k).constant.item<double>();
  }
  /// A reduction `op` of `v` over its last axis as a (..., 1) value: a keepdims reduction,
  /// or one reshaped to that; -1 when `v` has no such reader.
  int row_reduction(int v, ReduceOp op) {
    const Shape& s = x.shape;
    std::vector<int64_t> kept(s.begin(), s.end() - 1), one = kept;
    one.push_back(1);
    const int r = consumer(v, [&](const TraceNode& n) {
      return n.kind == NodeKind::Reduce && static_cast<ReduceOp>(n.sub) == op && n.ints == std::vector<int64_t>{s.rank() - 1} &&
             (has_shape(n.output, Shape(one)) || has_shape(n.output, Shape(kept)));
    });
    if (r < 0 || t.values[r].shape == Shape(one)) return r;
    return consumer(r, [&](const TraceNode& n) { return n.kind == NodeKind::Reshape && has_shape(n.output, Shape(one)); });
  }
  /// Whether every value the match makes, but its output, is read by its nodes only.
  bool closed(int output) const {
    for (int k : nodes) {
      const int v = node(k).output;
      if (v == output) continue;
      if (uses.is_output[v]) return false;
      for (int c : uses.consumers[v])
        if (std::find(nodes.begin(), nodes.end(), c) == nodes.end()) return false;
    }
    return true;
  }
};

/// softmax: m = max(x), e = exp(x - m), e / sum(e) (the rows of m and of the sum as (..., 1));
/// log_softmax: (x - m) - log(sum(e)).
std::optional<RowKernelMatch> match_softmax(Walk& w, int max_node) {
  const int x = w.node(max_node).inputs[0];
  const int m = w.begin(max_node, ReduceOp::Max);
  if (m < 0) return std::nullopt;
  const int d = w.consumer(m, [&](const TraceNode& n) { return w.binary(n, BinaryOp::Sub) && n.inputs[0] == x && n.inputs[1] == m; });
  if (d < 0) return std::nullopt;
  const int e = w.consumer(d, [&](const TraceNode& n) { return w.unary(n, UnaryOp::Exp); });
  if (e < 0) return std::nullopt;
  const int s = w.row_reduction(e, ReduceOp::Sum);
  if (s < 0) return std::nullopt;
  RowKernelMatch r;
  r.kind = RowKernel::Softmax, r.input = x;
  int y = w.consumer(s, [&](const TraceNode& n) { return w.binary(n, BinaryOp::Div) && n.inputs[0] == e && n.inputs[1] == s; });
  if (y < 0) {  // log_softmax: (x - m) - log(s)
    const int l = w.consumer(s, [&](const TraceNode& n) { return w.unary(n, UnaryOp::Log); });
    if (l < 0) return std::nullopt;
    y = w.consumer(l, [&](const TraceNode& n) { return w.binary(n, BinaryOp::Sub) && n.inputs[0] == d && n.inputs[1] == l; });
    r.kind = RowKernel::LogSoftmax;
  }
  if (y < 0 || !w.closed(y)) return std::nullopt;
  r.output = y;
  return r;
}

/// layer norm: d = x - sum(x) / n1, d * rsqrt(sum(d * d) / n2 + eps) (eps + ... and r * d too).
std::optional<RowKernelMatch> match_layer_norm(Walk& w, int sum_node) {
  const int x = w.node(sum_node).inputs[0];
  const int s = w.begin(sum_node, ReduceOp::Sum);
  if (s < 0) return std::nullopt;
  std::optional<double> n1, n2, eps;
  const int mean = w.consumer(s, [&](const TraceNode& n) { return w.binary(n, BinaryOp::Div) && n.inputs[0] == s && (n1 = w.scalar(n.inputs[1])); });
  if (mean < 0) return std::nullopt;
  const int d = w.consumer(mean, [&](const TraceNode& n) { return w.binary(n, BinaryOp::Sub) && n.inputs[0] == x && n.inputs[1] == mean; });
  if (d < 0) return std::nullopt;
  const int dd = w.consumer(d, [&](const TraceNode& n) { return w.binary(n, BinaryOp::Mul) && n.inputs[0] == d && n.inputs[1] == d; });
  if (dd < 0) return std::nullopt;
  const int q = w.row_reduction(dd, ReduceOp::Sum);
  if (q < 0) return std::nullopt;
  const int var = w.consumer(q, [&](const TraceNode& n) { return w.binary(n, BinaryOp::Div) && n.inputs[0] == q && (n2 = w.scalar(n.inputs[1])); });
  if (var < 0) return std::nullopt;
  const int ve = w.consumer(var, [&](const TraceNode& n) {
    return w.binary(n, BinaryOp::Add) && (eps = w.scalar(n.inputs[n.inputs[0] == var ? 1 : 0]));
  });
  if (ve < 0) return std::nullopt;
  const int r = w.consumer(ve, [&](const TraceNode& n) { return w.unary(n, UnaryOp::Rsqrt); });
  if (r < 0) return std::nullopt;
  const int y = w.consumer(r, [&](const TraceNode& n) {
    return w.binary(n, BinaryOp::Mul) && ((n.inputs[0] == d && n.inputs[1] == r) || (n.inputs[0] == r && n.inputs[1] == d));
  });
  if (y < 0) return std::nullopt;
  RowKernelMatch m;
  m.kind = RowKernel::LayerNorm, m.input = x, m.n1 = *n1, m.n2 = *n2, m.eps = *eps;
  // Then, as layer_norm writes them, y * gamma and + beta over the row (an operand of the
  // row's shape, of x's dtype, not made by the match).
  const Shape row({w.x.shape[w.x.shape.rank() - 1]});
  auto operand = [&](const TraceNode& n, int v, BinaryOp op, int& other) {
    if (!w.binary(n, op) || n.inputs[0] != v || n.inputs[1] == v || !w.has_shape(n.inputs[1], row)) return false;
    const int p = w.uses.producer[n.inputs[1]];
    if (p >= 0 && std::find(w.nodes.begin(), w.nodes.end(), p) != w.nodes.end()) return false;
    return other = n.inputs[1], true;
  };
  auto only_reader = [&](int v) { return w.uses.consumers[v].size() == 1 && !w.uses.is_output[v]; };
  int out = y;
  if (only_reader(out))
    if (const int g = w.consumer(out, [&](const TraceNode& n) { return operand(n, out, BinaryOp::Mul, m.scale); }); g >= 0) out = g;
  if (only_reader(out))
    if (const int b = w.consumer(out, [&](const TraceNode& n) { return operand(n, out, BinaryOp::Add, m.shift); }); b >= 0) out = b;
  if (!w.closed(out)) return std::nullopt;
  m.output = out;
  return m;
}

/// The bits of `v` as a kernel's scalar parameter of `dtype`.
GpuArg scalar_arg(double v, DType dtype) {
  GpuArg a;
  set_float_scalar(a, v, dtype == DType::F64);
  return a;
}

}  // namespace

std::vector<RowKernelMatch> match_row_kernels(const Trace& t, const TraceUses& uses) {
  std::vector<RowKernelMatch> found;
  std::vector<char> taken(t.nodes.size(), 0);
  for (size_t k = 0; k < t.nodes.size(); ++k) {
    const TraceNode& n = t.nodes[k];
    if (n.kind != NodeKind::Reduce || n.inputs.size() != 1 || taken[k]) continue;
    const ValueType& x = t.values[n.inputs[0]];
    const Shape& s = x.shape;
    if ((x.dtype != DType::F32 && x.dtype != DType::F64) || s.rank() < 1) continue;
    const int64_t len = s[s.rank() - 1];
    if (len <= 0 || len * static_cast<int64_t>(itemsize(x.dtype)) > kMaxRowBytes) continue;  // dynamic, empty or long rows
    int64_t rows = 1;
    for (int d = 0; d + 1 < s.rank(); ++d) rows = s[d] < 0 || rows < 0 ? -1 : rows * s[d];  // -1: counted per call
    if (rows == 0 || rows > std::numeric_limits<int32_t>::max()) continue;  // empty; grid.x's limit
    Walk w{t, uses, x, {}};
    std::optional<RowKernelMatch> m;
    if (static_cast<ReduceOp>(n.sub) == ReduceOp::Max) m = match_softmax(w, static_cast<int>(k));
    else if (static_cast<ReduceOp>(n.sub) == ReduceOp::Sum) m = match_layer_norm(w, static_cast<int>(k));
    if (!m || std::any_of(w.nodes.begin(), w.nodes.end(), [&](int j) { return taken[j] != 0; })) continue;
    std::sort(w.nodes.begin(), w.nodes.end());
    for (int j : w.nodes) taken[j] = 1;
    m->nodes = w.nodes, m->shape = s, m->rows = rows, m->len = len, m->dtype = x.dtype;
    found.push_back(std::move(*m));
  }
  return found;
}

std::vector<int> row_kernel_inputs(const RowKernelMatch& m) {
  std::vector<int> in = {m.input};
  for (int v : {m.scale, m.shift})
    if (v >= 0) in.push_back(v);
  return in;
}

bool plan_row_kernel(const RowKernelMatch& m, const std::string& chip, GpuKernels& k, std::string& error) {
  const DType dtype = m.dtype;
  std::string ptx = row_kernel_ptx(m.kind, dtype, m.scale >= 0, m.shift >= 0, chip, error);
  if (ptx.empty()) return false;
  const int inputs = static_cast<int>(row_kernel_inputs(m).size());
  k = GpuKernels{};
  k.ptx.push_back(std::move(ptx));
  k.num_inputs = inputs, k.num_outputs = 1;
  GpuLaunch l;
  l.module = 0;
  l.function = row_kernel_name(m.kind);
  int64_t rows = m.rows, elements = m.rows * m.len;
  if (m.rows < 0) {  // the rows of this call: the product of the input's leading dims
    auto op = [&](GpuIndexOp::Kind kind, int64_t a, int64_t b) {
      k.index_ops.push_back(GpuIndexOp{kind, a, b});
      return static_cast<int64_t>(k.index_ops.size()) - 1;
    };
    int64_t product = op(GpuIndexOp::Kind::Const, 1, 0);
    for (int d = 0; d + 1 < m.shape.rank(); ++d) {
      const int64_t dim = m.shape[d] < 0 ? op(GpuIndexOp::Kind::Dim, 0, d) : op(GpuIndexOp::Kind::Const, m.shape[d], 0);
      product = op(GpuIndexOp::Kind::Mul, product, dim);
    }
    rows = index_ref(static_cast<size_t>(product));
    elements = index_ref(static_cast<size_t>(op(GpuIndexOp::Kind::Mul, product, op(GpuIndexOp::Kind::Const, m.len, 0))));
  }
  l.grid[0] = rows;
  l.block[0] = std::min(kRowThreads, (m.len + 31) / 32 * 32);  // whole warps; short rows leave fewer idle
  for (int slot = 0; slot <= inputs; ++slot) {  // in, gamma and beta (a row each), out
    GpuArg b;
    const bool row = slot > 0 && slot < inputs;
    b.kind = GpuArg::Kind::Buffer, b.slot = slot, b.sizes = {row ? m.len : elements}, b.strides = {1};
    l.args.push_back(b);
  }
  GpuArg len;
  len.kind = GpuArg::Kind::I64, len.bits = m.len;
  l.args.push_back(len);
  if (m.kind == RowKernel::LayerNorm)
    for (double v : {m.n1, m.n2, m.eps}) l.args.push_back(scalar_arg(v, dtype));
  k.launches.push_back(std::move(l));
  return true;
}

}  // namespace ejit::detail
