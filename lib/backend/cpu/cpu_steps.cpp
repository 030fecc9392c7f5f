// Cutting a trace into compiled kernels and interpreter ops, and running the pieces in order.
#include "cpu_steps.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <algorithm>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "../../interp/matmul.h"
#include "../../pipeline/Pipeline.h"
#include "../../support/options.h"
#include "../../support/profiler.h"
#include "../common/profile_names.h"
#include "../../trace/dynamic_dims.h"
#include "../../trace/node_eval.h"
#include "../../trace/subtrace.h"
#include "cpu_compiler.h"
#include "ejit/op_kind.h"
#include "ejit/ops.h"

namespace ejit::detail {
namespace {

bool codegen_matmul() { return options::codegen_matmul(); }

/// A piece of the trace: one compiled kernel over several nodes, or one interpreter node.
struct Step {
  bool compiled = false;
  std::vector<int> nodes;                  // indices into trace.nodes, in trace order
  std::unique_ptr<Executable> kernel;   // compiled steps
  std::vector<int> inputs, outputs;        // compiled steps: trace value ids in and out
  Trace sub;                               // compiled steps: the kernel's own trace
};

/// EJIT_CHECK_KERNELS=1: every kernel's outputs are compared with the interpreter's (debugging).
bool check_kernels() { return options::check_kernels(); }

/// Transposes (permute [1, 0] of a matrix) whose only consumers are 2-D matmuls on the
/// BLAS: the matmul reads the untransposed matrix with the BLAS's transpose flag instead of
/// a copy (a backward pass has one per weight). Per value: the matrix it transposes, or -1.
std::vector<int> transposes_into_gemm(const Trace& t, bool strict) {
  std::vector<int> from(t.values.size(), -1);
  if (codegen_matmul() || strict) return from;  // strict: the BLAS reads what the interpreter's matmul reads
  const TraceUses uses(t);
  const auto& consumers = uses.consumers;
  const auto& is_output = uses.is_output;
  for (const TraceNode& n : t.nodes) {
    if (n.kind != NodeKind::Permute || n.ints != std::vector<int64_t>{1, 0} || is_output[n.output] ||
        consumers[n.output].empty())
      continue;
    bool all_matmul = true;
    for (int c : consumers[n.output]) {
      const TraceNode& m = t.nodes[c];
      all_matmul &= m.kind == NodeKind::MatMul && t.values[m.inputs[0]].shape.rank() == 2 &&
                    t.values[m.inputs[1]].shape.rank() == 2 && is_floating(t.values[m.output].dtype);
    }
    if (all_matmul) from[n.output] = n.inputs[0];
  }
  return from;
}

/// Trace order, except that an interpreter node that does not depend on the kernel being
/// gathered runs before it, so that the kernel can also take the ops after that node.
/// Ops of one kernel at most: a longer run of compiled ops becomes several kernels (in one
/// module). MLIR's bufferization and LLVM's code generation take time superlinear in a
/// function's size (5000 outputs: 36 s to bufferize in one function); fused loops stop at
/// 256-op bodies anyway, so a cut costs at most one pass over memory per 256 ops.
constexpr size_t kMaxKernelNodes = 256;

std::vector<Step> partition(const Trace& t, const std::vector<int>& folded_from, bool strict) {
  std::vector<Step> steps;
  Step open{true, {}, nullptr, {}, {}, {}};
  std::vector<char> in_open(t.values.size(), 0);
  auto close = [&] {
    for (int k : open.nodes) in_open[t.nodes[k].output] = 0;
    if (!open.nodes.empty()) steps.push_back(std::move(open));
    open = Step{true, {}, nullptr, {}, {}, {}};
  };
  for (size_t k = 0; k < t.nodes.size(); ++k) {
    const TraceNode& n = t.nodes[k];
    if (n.kind == NodeKind::Constant) continue;  // values known up front; copied into kernels that use them
    if (folded_from[n.output] >= 0) continue;    // a transpose the BLAS reads in place (see transposes_into_gemm)
    if (interpreter_reason(t, n, strict).empty()) {
      if (open.nodes.size() >= kMaxKernelNodes) close();
      open.nodes.push_back(static_cast<int>(k));
      in_open[n.output] = 1;
      continue;
    }
    bool depends = false;
    for (int v : n.inputs) depends |= in_open[folded_from[v] >= 0 ? folded_from[v] : v] != 0;
    if (depends) close();
    steps.push_back(Step{false, {static_cast<int>(k)}, nullptr, {}, {}, {}});
  }
  close();
  // A kernel of one op (plus reshapes, free views eagerly) fuses nothing: the interpreter's
  // kernel is as fast, and a compilation costs 60-100 ms of LLVM. Strict mode keeps them:
  // its point is compiled code checked against the interpreter, and it cuts traces finely.
  std::vector<Step> out;
  for (Step& s : steps) {
    const auto ops = std::count_if(s.nodes.begin(), s.nodes.end(),
                                   [&](int k) { return t.nodes[k].kind != NodeKind::Reshape; });
    if (!s.compiled || ops > 1 || steps.size() == 1 || strict) {
      out.push_back(std::move(s));
      continue;
    }
    for (int k : s.nodes) out.push_back(Step{false, {k}, nullptr, {}, {}, {}});
  }
  return out;
}

/// The nodes of a compiled step as a trace of their own (constants copied in, so they fold).
Trace sub_trace(const Trace& t, Step& step, const TraceUses& uses) {
  return extract_subtrace(t, step.nodes, uses, [](const ValueType&) { return true; }, step.inputs, step.outputs);
}

class SegmentedExecutable final : public Executable {
 public:
  SegmentedExecutable(Trace trace, std::vector<Step> steps, std::vector<int> folded_from)
      : trace_(std::move(trace)), steps_(std::move(steps)), folded_from_(std::move(folded_from)),
        symbols_(symbol_sources(trace_)) {
    std::vector<int> last_use(trace_.values.size(), -1);
    for (size_t s = 0; s < steps_.size(); ++s) {
      const Step& st = steps_[s];
      if (st.compiled) for (int v : st.inputs) last_use[v] = static_cast<int>(s);
      else for (int v : trace_.nodes[st.nodes[0]].inputs) last_use[source(v)] = static_cast<int>(s);
    }
    for (int v : trace_.outputs) last_use[v] = -1;
    for (int v : trace_.inputs) last_use[v] = -1;
    release_.resize(steps_.size());
    for (size_t k = 0; k < trace_.nodes.size(); ++k)
      if (trace_.nodes[k].kind == NodeKind::Constant) constant_nodes_.push_back(static_cast<int>(k));
    for (size_t v = 0; v < last_use.size(); ++v)
      if (last_use[v] >= 0) release_[last_use[v]].push_back(static_cast<int>(v));
  }

  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const override {
    std::vector<Tensor> v(trace_.values.size());
    for (size_t i = 0; i < inputs.size(); ++i) v[trace_.inputs[i]] = inputs[i];
    const std::vector<int64_t> sizes = symbol_sizes(symbols_, inputs);  // empty without dynamic dims
    for (int k : constant_nodes_) {
      const TraceNode& c = trace_.nodes[k];
      v[c.output] = c.ints.empty() ? c.constant  // a size constant: factor * the symbol's size
                                   : full(Shape{}, static_cast<double>(c.ints[1] * sizes.at(c.ints[0])), c.constant.dtype());
    }
    std::vector<Tensor> in;
    NodeEvaluator host;
    for (size_t s = 0; s < steps_.size(); ++s) {
      const Step& st = steps_[s];
      in.clear();
      if (st.compiled) {
        for (int id : st.inputs) in.push_back(v[id]);
        std::vector<Tensor> out = st.kernel->run(in);
        if (check_kernels() && symbols_.empty()) {
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
        ProfileScope prof(n.kind == NodeKind::MatMul ? "blas" : "interp", [&] {  // compiled kernels are events of their own
          const auto folded = [&](size_t i) { return i < n.inputs.size() && folded_from_[n.inputs[i]] >= 0; };
          return interp_step_name(n, in, folded(0), folded(1));
        });
        if (n.kind == NodeKind::MatMul && (folded_from_[n.inputs[0]] >= 0 || folded_from_[n.inputs[1]] >= 0))
          v[n.output] = matmul_2d(in[0], in[1], folded_from_[n.inputs[0]] >= 0, folded_from_[n.inputs[1]] >= 0);
        else if (!symbols_.empty())  // the node's type with this call's sizes
          v[n.output] = host.eval(n, in, {concrete(trace_.values[n.output].shape, sizes), trace_.values[n.output].dtype});
        else
          v[n.output] = host.eval(n, in, trace_.values[n.output]);
        if (check_kernels()) fmt::print(stderr, "[ejit check] step {}: {} on the interpreter -> value {}\n", s, node_name(n), n.output);
      }
      for (int id : release_[s]) v[id] = Tensor();
    }
    std::vector<Tensor> outputs;
    for (int id : trace_.outputs) outputs.push_back(v[id]);
    return outputs;
  }

  size_t code_bytes() const override {
    size_t n = 0;
    for (const Step& st : steps_) n += st.kernel ? st.kernel->code_bytes() : 0;
    return n;
  }

 private:
  /// The value a step reads for v: the untransposed matrix when v is a folded transpose.
  int source(int v) const { return folded_from_[v] >= 0 ? folded_from_[v] : v; }

  Trace trace_;
  std::vector<Step> steps_;
  std::vector<int> folded_from_;
  std::vector<std::pair<int, int>> symbols_;  // dynamic dims: where each symbol's size is read
  std::vector<int> constant_nodes_;        // set before the steps run, on every call
  std::vector<std::vector<int>> release_;  // per step: values no later step reads
};

}  // namespace

namespace {

/// How one trace runs: one kernel (whole), or steps of kernels and interpreter ops.
struct Plan {
  const Trace* trace = nullptr;
  std::vector<int> folded_from;
  std::vector<Step> steps;
  std::vector<Trace> subs;    // per step: the kernel's trace (compiled steps)
  std::vector<char> no_sizes;  // per step: a kernel that needs a dynamic size none of its inputs has
  bool whole = false;
  bool strict = false;
};

/// compile_for_cpu, with an exception (the MLIR text could not be made) as a failed result.
std::vector<CompileResult> compile_kernels(const std::vector<const Trace*>& traces, bool keep_ir, bool keep_asm) {
  try {
    return compile_for_cpu(traces, keep_ir, keep_asm);
  } catch (const std::exception& e) {
    std::vector<CompileResult> failed(traces.size());
    for (CompileResult& r : failed) r.error = std::string("[jit] ") + e.what();
    return failed;
  }
}

/// The executable of a plan of steps, its kernels taken from `kernel_results` in order (or
/// compiled one by one when that is empty).
CompileResult assemble(Plan& plan, std::vector<CompileResult>& kernel_results, size_t& next, bool keep_ir,
                       bool keep_asm, std::chrono::steady_clock::time_point t0) {
  const Trace& trace = *plan.trace;
  CompileResult result;
  std::set<std::string> interpreted;  // reasons, for the log and the error
  std::vector<Step> final_steps;
  int kernels = 0;
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    Step& step = plan.steps[i];
    if (!step.compiled) {
      interpreted.insert(interpreter_reason(trace, trace.nodes[step.nodes[0]], plan.strict));
      final_steps.push_back(std::move(step));
      continue;
    }
    Trace sub = std::move(plan.subs[i]);
    CompileResult r;
    if (plan.no_sizes[i]) r.error = "a kernel that needs a dynamic size none of its inputs has";
    else if (kernel_results.empty()) r = std::move(compile_kernels({&sub}, keep_ir, keep_asm)[0]);
    else r = std::move(kernel_results[next++]);
    if (!r.executable) {  // keep the function correct: these ops run on the interpreter too
      interpreted.insert(r.error);
      for (int k : step.nodes) final_steps.push_back(Step{false, {k}, nullptr, {}, {}, {}});
      continue;
    }
    ++kernels;
    result.from_disk_cache |= r.from_disk_cache;
    for (int s = 0; s < kNumStages; ++s) result.stage_milliseconds[s] += r.stage_milliseconds[s];
    for (int s = 0; s < kNumStages; ++s)
      if (!r.ir[s].empty()) result.ir[s] += fmt::format("// ---- kernel {} ({} ops)\n{}\n", kernels, step.nodes.size(), r.ir[s]);
    step.kernel = std::move(r.executable);
    step.sub = std::move(sub);
    final_steps.push_back(std::move(step));
  }
  std::string reasons;
  for (const std::string& r : interpreted) reasons += (reasons.empty() ? "" : "; ") + r;
  if (kernels == 0) {
    // No reason given: no ops at all, or each would be a one-op kernel (see partition).
    if (reasons.empty())
      reasons = final_steps.empty() ? "the trace has no ops besides constants: its outputs are inputs or constants"
                                    : "no two ops fuse, and a kernel of one op runs on the interpreter";
    result.error = "[jit] no op of this trace compiles (" + reasons + ")";
    return result;
  }
  for (std::string& ir : result.ir)
    if (!ir.empty())
      ir = fmt::format("// {} kernels; between them the interpreter runs: {}\n", kernels, reasons) + ir;
  if (options::log("compile"))
    fmt::print(stderr, "[ejit compile] {} ops as {} kernels and {} interpreter ops ({}), {:.1f} ms since the compile began\n",
               trace.nodes.size(), kernels,
               std::count_if(final_steps.begin(), final_steps.end(), [](const Step& s) { return !s.compiled; }),
               reasons, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  result.executable = std::make_unique<SegmentedExecutable>(trace, std::move(final_steps), plan.folded_from);
  return result;
}

}  // namespace

std::vector<CompileResult> compile_cpu_steps(const std::vector<const Trace*>& traces, bool keep_ir, bool keep_asm,
                                             bool strict) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<Plan> plans(traces.size());
  // Every kernel of every trace as one module (one compile's fixed costs instead of one per
  // kernel); each on its own when one of them fails (its ops then run on the interpreter),
  // or when IR is wanted (its listing is per kernel).
  std::vector<const Trace*> batch;
  for (size_t t = 0; t < traces.size(); ++t) {
    Plan& p = plans[t];
    p.trace = traces[t];
    p.strict = strict;
    p.folded_from = transposes_into_gemm(*p.trace, strict);
    p.steps = partition(*p.trace, p.folded_from, strict);
    p.whole = p.steps.size() == 1 && p.steps[0].compiled && !has_unsourced_symbols(*p.trace);
    if (p.whole) {
      batch.push_back(p.trace);
      continue;
    }
    const TraceUses uses(*p.trace);
    p.subs.resize(p.steps.size());
    p.no_sizes.assign(p.steps.size(), 0);
    for (size_t i = 0; i < p.steps.size(); ++i)
      if (p.steps[i].compiled) {
        p.subs[i] = sub_trace(*p.trace, p.steps[i], uses);
        p.no_sizes[i] = has_unsourced_symbols(p.subs[i]);  // cannot read a size: the interpreter runs it
        if (!p.no_sizes[i]) batch.push_back(&p.subs[i]);
      }
  }
  std::vector<CompileResult> batched;
  if (!keep_ir && !keep_asm && !options::dump_any() && batch.size() > 1) {
    batched = compile_kernels(batch, false, false);
    if (!batched[0].executable) batched.clear();
  }
  std::vector<CompileResult> results;
  size_t next = 0;
  for (Plan& p : plans) {
    if (p.whole)
      results.push_back(batched.empty() ? std::move(compile_kernels({p.trace}, keep_ir, keep_asm)[0])
                                        : std::move(batched[next++]));
    else
      results.push_back(assemble(p, batched, next, keep_ir, keep_asm, t0));
  }
  // One compile: its whole time is the first result's (a caller adding them up gets it once).
  const double total = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  for (CompileResult& r : results) r.milliseconds = 0;
  results.at(0).milliseconds = total;
  return results;
}

CompileResult compile_cpu_steps(const Trace& trace, bool keep_ir, bool keep_asm, bool strict) {
  return std::move(compile_cpu_steps(std::vector<const Trace*>{&trace}, keep_ir, keep_asm, strict)[0]);
}

}  // namespace ejit::detail
