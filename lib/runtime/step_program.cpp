#include "step_program.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "../interp/matmul.h"
#include "../support/check.h"
#include "../support/options.h"
#include "../support/profiler.h"
#include "../trace/dynamic_dims.h"
#include "../trace/node_eval.h"
#include "ejit/ops.h"
#include "profile_names.h"

namespace ejit::detail {

StepProgram::StepProgram(Trace trace, std::vector<Step> steps, std::vector<int> folded_from)
    : trace_(std::move(trace)), steps_(std::move(steps)), folded_from_(std::move(folded_from)),
      symbols_(symbol_sources(trace_)) {
  std::vector<std::vector<int>> reads;
  for (const Step& st : steps_) {
    if (st.compiled) {
      reads.push_back(st.inputs);
    } else {
      reads.emplace_back();
      for (int v : trace_.nodes[st.nodes[0]].inputs) reads.back().push_back(source(v));
    }
  }
  release_ = release_lists(trace_, reads);
  for (size_t k = 0; k < trace_.nodes.size(); ++k)
    if (trace_.nodes[k].kind == NodeKind::Constant) constant_nodes_.push_back(static_cast<int>(k));
}

std::vector<std::vector<int>> release_lists(const Trace& trace, const std::vector<std::vector<int>>& reads) {
  std::vector<int> last_use(trace.values.size(), -1);
  for (size_t s = 0; s < reads.size(); ++s)
    for (int v : reads[s]) last_use[v] = static_cast<int>(s);
  for (int v : trace.outputs) last_use[v] = -1;
  for (int v : trace.inputs) last_use[v] = -1;  // the caller's tensors
  std::vector<std::vector<int>> release(reads.size());
  for (size_t v = 0; v < last_use.size(); ++v)
    if (last_use[v] >= 0) release[last_use[v]].push_back(static_cast<int>(v));
  return release;
}

std::vector<Tensor> StepProgram::run(const std::vector<Tensor>& inputs) const {
  const bool check_kernels = options::check_kernels();  // EJIT_CHECK_KERNELS=1: each kernel against the interpreter
  std::vector<Tensor> v(trace_.values.size());
  for (size_t i = 0; i < inputs.size(); ++i) v[trace_.inputs[i]] = inputs[i];
  const std::vector<int64_t> sizes = symbol_sizes(symbols_, inputs);  // empty without dynamic dims
  for (int k : constant_nodes_) {
    const TraceNode& c = trace_.nodes[k];
    v[c.output] = is_size_constant(c) ? size_constant_value(c, sizes) : c.constant;
  }
  std::vector<Tensor> in;
  NodeEvaluator host(Device::cpu(), "jit");
  for (size_t s = 0; s < steps_.size(); ++s) {
    const Step& st = steps_[s];
    in.clear();
    if (st.compiled) {
      for (int id : st.inputs) in.push_back(v[id]);
      std::vector<Tensor> out = st.kernel->run(in);
      if (check_kernels && symbols_.empty()) {
        std::vector<Tensor> want = eval_trace(st.sub, in);
        for (size_t i = 0; i < out.size(); ++i) {
          auto a = out[i].to_vector<double>(), b = want[i].to_vector<double>();
          double m = 0;
          for (size_t j = 0; j < a.size(); ++j) m = std::max(m, std::fabs(a[j] - b[j]));
          fmt::print(stderr, "[ejit check] step {} output {} (value {}): max abs diff {}\n", s, i, st.outputs[i], m);
        }
      }
      for (size_t i = 0; i < out.size(); ++i) v[st.outputs[i]] = std::move(out[i]);
    } else {
      const TraceNode& n = trace_.nodes[st.nodes[0]];
      for (int id : n.inputs) in.push_back(v[source(id)]);
      // Values read for the last time here are given up (their handles dropped), so that an
      // op can write over their memory (index_add over the zeros of take's gradient).
      for (int id : n.inputs)
        if (source(id) == id && std::count(n.inputs.begin(), n.inputs.end(), id) == 1 &&
            std::find(release_[s].begin(), release_[s].end(), id) != release_[s].end())
          v[id] = Tensor();
      const auto folded = [&](size_t i) { return i < n.inputs.size() && folded_from_[n.inputs[i]] >= 0; };
      ProfileScope prof(n.kind == NodeKind::MatMul ? "blas" : "interp",  // compiled kernels are events of their own
                        [&] { return interp_step_name(n, in, folded(0), folded(1)); });
      const ValueType& type = trace_.values[n.output];
      const ValueType want = symbols_.empty() ? type : ValueType{concrete(type.shape, sizes), type.dtype};  // this call's sizes
      if (n.kind == NodeKind::MatMul && (folded(0) || folded(1)))
        v[n.output] = check_node_result(n, matmul_2d(in[0], in[1], folded(0), folded(1)), want, "jit");
      else
        v[n.output] = host.eval(n, std::move(in), want);
      if (check_kernels) fmt::print(stderr, "[ejit check] step {}: {} on the interpreter -> value {}\n", s, node_name(n), n.output);
    }
    for (int id : release_[s]) v[id] = Tensor();
  }
  std::vector<Tensor> outputs;
  for (int id : trace_.outputs) outputs.push_back(v[id]);
  return outputs;
}

size_t StepProgram::code_bytes() const {
  size_t n = 0;
  for (const Step& st : steps_) n += st.kernel ? st.kernel->code_bytes() : 0;
  return n;
}

}  // namespace ejit::detail
