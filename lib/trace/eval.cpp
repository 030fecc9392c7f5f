// eval_trace: runs a Trace node by node with the eager ops (the interpreter for saved traces).
#include "../support/check.h"
#include "ejit/host_callback.h"
#include "ejit/op_kind.h"
#include "ejit/ops.h"
#include "ejit/trace.h"
#include "dynamic_dims.h"
#include "node_eval.h"

namespace ejit {
namespace {

/// Slice from the recorded (axis, start, step) and the result's length along the axis.
Tensor eval_slice(const Tensor& x, const std::vector<int64_t>& ints, int64_t count);

std::string type_str(const Shape& s, DType d) { return fmt::format("{} {}", s, d); }

}  // namespace

std::string node_name(const TraceNode& n) {
  switch (n.kind) {
    case NodeKind::Constant: return "constant";
    case NodeKind::Unary: return n.sub < kNumUnaryOps ? std::string(name(static_cast<UnaryOp>(n.sub))) : "unary";
    case NodeKind::Binary: return n.sub < kNumBinaryOps ? std::string(name(static_cast<BinaryOp>(n.sub))) : "binary";
    case NodeKind::Cast: return "cast";
    case NodeKind::Where: return "where";
    case NodeKind::Reduce: return n.sub < kNumReduceOps ? std::string(name(static_cast<ReduceOp>(n.sub))) : "reduce";
    case NodeKind::MatMul: return "matmul";
    case NodeKind::Reshape: return "reshape";
    case NodeKind::Permute: return "permute";
    case NodeKind::BroadcastTo: return "broadcast_to";
    case NodeKind::Slice: return "slice";
    case NodeKind::Concat: return "concat";
    case NodeKind::Pad: return "pad";
    case NodeKind::Take: return "take";
    case NodeKind::Gather: return "gather";
    case NodeKind::HostCall: return "host_call";
    case NodeKind::IndexAdd: return "index_add";
    case NodeKind::ScatterAdd: return "scatter_add";
  }
  return "node";
}

namespace {
Tensor eval_slice(const Tensor& x, const std::vector<int64_t>& ints, int64_t count) {
  const int64_t axis = ints[0], start = ints[1], step = ints[2];
  if (count == 0) return slice(x, axis, 0, 0, 1);
  const int64_t end = start + count * step;
  if (step > 0) return slice(x, axis, start, std::min(end, x.dim(axis)), step);
  return slice(x, axis, start, end < 0 ? std::nullopt : std::optional<int64_t>(end), step);
}
}  // namespace

Tensor eval_node(const TraceNode& n, const std::vector<Tensor>& in, const ValueType& out) {
  auto need = [&](size_t inputs, size_t ints) {
    if (in.size() != inputs || n.ints.size() < ints)
      fail("eval_trace", "node '{}' has {} inputs and {} attributes, expected {} and {}", node_name(n), in.size(),
           n.ints.size(), inputs, ints);
  };
  switch (n.kind) {
    case NodeKind::Constant:
      if (!n.constant.defined()) fail("eval_trace", "constant node without a value");
      return n.constant;
    case NodeKind::Unary:
      need(1, 0);
      if (n.sub >= kNumUnaryOps) fail("eval_trace", "unknown unary op {}", n.sub);
      return unary(static_cast<UnaryOp>(n.sub), in[0]);
    case NodeKind::Binary:
      need(2, 0);
      if (n.sub >= kNumBinaryOps) fail("eval_trace", "unknown binary op {}", n.sub);
      return binary(static_cast<BinaryOp>(n.sub), in[0], in[1]);
    case NodeKind::Cast: need(1, 0); return cast(in[0], out.dtype);
    case NodeKind::Where: need(3, 0); return where(in[0], in[1], in[2]);
    case NodeKind::Reduce:
      need(1, 1);
      switch (n.sub) {
        case 0: return sum(in[0], n.ints);
        case 1: return prod(in[0], n.ints);
        case 2: return max(in[0], n.ints);
        case 3: return min(in[0], n.ints);
        case 4: case 5:
          if (n.ints.size() != 1) fail("eval_trace", "{} over {} axes (one expected)", node_name(n), n.ints.size());
          return n.sub == 4 ? argmax(in[0], n.ints[0]) : argmin(in[0], n.ints[0]);
        default: fail("eval_trace", "unknown reduction {}", n.sub);
      }
    case NodeKind::MatMul: need(2, 0); return matmul(in[0], in[1]);
    case NodeKind::Reshape: need(1, 0); return reshape(in[0], out.shape);
    case NodeKind::Permute: need(1, 0); return permute(in[0], n.ints);
    case NodeKind::BroadcastTo: need(1, 0); return broadcast_to(in[0], out.shape);
    case NodeKind::Slice:
      need(1, 3);
      if (n.ints[0] < 0 || n.ints[0] >= out.shape.rank()) fail("eval_trace", "slice axis {} out of range", n.ints[0]);
      return eval_slice(in[0], n.ints, out.shape[static_cast<int>(n.ints[0])]);
    case NodeKind::Concat: need(in.size(), 1); return concat(in, n.ints[0]);
    case NodeKind::Pad: {
      need(1, 0);
      if (n.ints.size() != 2 * static_cast<size_t>(in[0].rank()))
        fail("eval_trace", "pad has {} widths for rank {}", n.ints.size(), in[0].rank());
      std::vector<std::pair<int64_t, int64_t>> widths;
      for (int d = 0; d < in[0].rank(); ++d) widths.emplace_back(n.ints[d], n.ints[d + in[0].rank()]);
      Scalar value = is_floating(in[0].dtype()) ? Scalar(n.value) : Scalar(static_cast<int64_t>(n.value));
      return pad(in[0], widths, value);
    }
    case NodeKind::Take: need(2, 1); return take(in[0], in[1], n.ints[0]);
    case NodeKind::Gather: need(2, 1); return gather(in[0], in[1], n.ints[0]);
    case NodeKind::IndexAdd: need(3, 1); return index_add(in[0], in[1], in[2], n.ints[0]);
    case NodeKind::ScatterAdd: need(3, 1); return scatter_add(in[0], in[1], in[2], n.ints[0]);
    case NodeKind::HostCall: return detail::NodeEvaluator(in.empty() ? default_device() : in[0].device()).eval(n, in, out);
  }
  fail("eval_trace", "unknown node kind {}", static_cast<int>(n.kind));
}

Tensor eval_node(const TraceNode& n, std::vector<Tensor>&& in, const ValueType& out) {
  switch (n.kind) {  // the ops with rvalue overloads; a malformed node fails in the other eval_node
    case NodeKind::Unary:
      if (in.size() == 1 && n.sub < kNumUnaryOps) return unary(static_cast<UnaryOp>(n.sub), std::move(in[0]));
      break;
    case NodeKind::Binary:
      if (in.size() == 2 && n.sub < kNumBinaryOps)
        return binary(static_cast<BinaryOp>(n.sub), std::move(in[0]), std::move(in[1]));
      break;
    case NodeKind::IndexAdd:
      if (in.size() == 3 && !n.ints.empty()) return index_add(std::move(in[0]), in[1], in[2], n.ints[0]);
      break;
    case NodeKind::ScatterAdd:
      if (in.size() == 3 && !n.ints.empty()) return scatter_add(std::move(in[0]), in[1], in[2], n.ints[0]);
      break;
    default: break;
  }
  return eval_node(n, in, out);
}

namespace detail {

Tensor NodeEvaluator::eval(const TraceNode& n, const std::vector<Tensor>& in, const ValueType& result) {
  return check_node_result(n, n.kind == NodeKind::HostCall ? call(n, in) : eval_node(n, in, result), result, op_);
}

Tensor NodeEvaluator::eval(const TraceNode& n, std::vector<Tensor>&& in, const ValueType& result) {
  return check_node_result(n, n.kind == NodeKind::HostCall ? call(n, in) : eval_node(n, std::move(in), result), result,
                           op_);
}

Tensor check_node_result(const TraceNode& n, Tensor out, const ValueType& result, const char* op) {
  if (out.shape() != result.shape || out.dtype() != result.dtype)
    fail(op, "'{}' (value {}) gave {}, the trace says {}", node_name(n), n.output, type_str(out.shape(), out.dtype()),
         type_str(result.shape, result.dtype));
  return out;
}

Tensor NodeEvaluator::call(const TraceNode& n, const std::vector<Tensor>& in) {
  if (!n.host_call || n.ints.size() != 1 || n.ints[0] < 0 ||
      n.ints[0] >= std::max<int64_t>(1, static_cast<int64_t>(n.host_call->results.size())))  // 1: a token
    fail(op_, "a host_call node without its callback or with a result index out of range: a trace saved to "
                       "a file cannot call back into the program that recorded it");
  auto it = std::find_if(done_.begin(), done_.end(), [&](const Done& d) { return d.call == n.host_call.get(); });
  if (it == done_.end()) {
    done_.push_back({n.host_call.get(), run_host_call(*n.host_call, in, device_)});
    it = done_.end() - 1;
  }
  return it->results[static_cast<size_t>(n.ints[0])];
}

}  // namespace detail

void check_trace_inputs(const Trace& trace, const std::vector<Tensor>& inputs, std::string_view op) {
  if (inputs.size() != trace.inputs.size())
    fail(op, "the trace takes {} inputs, {} given", trace.inputs.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ValueType& want = trace.values.at(trace.inputs[i]);
    if (!inputs[i].defined()) fail(op, "input {} is an undefined tensor", i);
    if (inputs[i].shape() != want.shape || inputs[i].dtype() != want.dtype)
      fail(op, "input {} is {}, the trace takes {}", i, type_str(inputs[i].shape(), inputs[i].dtype()),
           type_str(want.shape, want.dtype));
  }
}

std::vector<Tensor> eval_trace(const Trace& trace, const std::vector<Tensor>& inputs) {
  // A trace with dynamic dims runs at the sizes its inputs give its symbols.
  const bool dynamic = detail::has_dynamic_dims(trace);
  std::vector<int64_t> sizes;
  if (dynamic) {
    if (std::string why = detail::dynamic_mismatch(trace, inputs); !why.empty()) fail("eval_trace", "{}", why);
    const auto sources = detail::symbol_sources(trace);
    for (const detail::SymbolSource& s : sources)
      if (s.input < 0) fail("eval_trace", "a dynamic dim that none of the trace's inputs has");
    sizes = detail::symbol_sizes(sources, inputs);
  } else {
    check_trace_inputs(trace, inputs, "eval_trace");
  }
  std::vector<Tensor> values(trace.values.size());
  for (size_t i = 0; i < inputs.size(); ++i) values[trace.inputs[i]] = inputs[i];
  detail::NodeEvaluator evaluator(inputs.empty() ? default_device() : inputs[0].device());
  for (size_t k = 0; k < trace.nodes.size(); ++k) {
    const TraceNode& n = trace.nodes[k];
    if (n.output < 0 || static_cast<size_t>(n.output) >= values.size())
      fail("eval_trace", "node {} ('{}') has no valid output value", k, node_name(n));
    std::vector<Tensor> in;
    for (int id : n.inputs) {
      if (id < 0 || static_cast<size_t>(id) >= values.size() || !values[id].defined())
        fail("eval_trace", "node {} ('{}') uses value {} before it is defined", k, node_name(n), id);
      in.push_back(values[id]);
    }
    const ValueType want = dynamic ? ValueType{detail::concrete(trace.values[n.output].shape, sizes), trace.values[n.output].dtype}
                                   : trace.values[n.output];
    if (dynamic && detail::is_size_constant(n)) {
      if (n.ints[0] < 0 || static_cast<size_t>(n.ints[0]) >= sizes.size())  // named here: size_constant_value would not
        fail("eval_trace", "node {} is a size constant of symbol {}, which the trace does not have", k, n.ints[0]);
      values[n.output] = detail::size_constant_value(n, sizes);
      continue;
    }
    values[n.output] = evaluator.eval(n, in, want);
  }
  std::vector<Tensor> outputs;
  for (int id : trace.outputs) {
    if (id < 0 || static_cast<size_t>(id) >= values.size() || !values[id].defined())
      fail("eval_trace", "output value {} is never defined", id);
    outputs.push_back(values[id]);
  }
  return outputs;
}

}  // namespace ejit
