// Cutting a trace into compiled kernels and interpreter ops, and running the pieces in order.
#include "cpu_steps.h"

#include <chrono>
#include <functional>
#include <cstdlib>
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "../../pipeline/Pipeline.h"
#include "../../support/options.h"
#include "../../runtime/exported_library.h"
#include "../../runtime/step_program.h"
#include "../../trace/dynamic_dims.h"
#include "../../trace/subtrace.h"
#include "cpu_compiler.h"
#include "ejit/op_kind.h"

namespace ejit::detail {
namespace {

bool codegen_matmul() { return options::codegen_matmul(); }

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

/// Whether a node can fail a call at run time (indices out of range) or act outside it (a
/// host callback): such nodes keep their trace order among themselves.
bool fails_or_acts(NodeKind kind) {
  return kind == NodeKind::Take || kind == NodeKind::Gather || kind == NodeKind::IndexAdd || kind == NodeKind::ScatterAdd ||
         kind == NodeKind::HostCall;
}

/// Trace order, except that an interpreter node that does not depend on the kernel being
/// gathered runs before it, so that the kernel can also take the ops after that node;
/// unless both can fail or act (a callback after a take that fails must not run, and two
/// errors come in trace order, as eagerly).
/// Ops of one kernel at most: a longer run of compiled ops becomes several kernels (in one
/// module). MLIR's bufferization and LLVM's code generation take time superlinear in a
/// function's size (5000 outputs: 36 s to bufferize in one function); fused loops stop at
/// 256-op bodies anyway, so a cut costs at most one pass over memory per 256 ops.
constexpr size_t kMaxKernelNodes = 256;

std::vector<Step> partition(const Trace& t, const std::vector<int>& folded_from, bool strict) {
  const std::vector<int> producer = producers(t);
  std::vector<Step> steps;
  Step open{true, {}, nullptr, {}, {}, {}, {}};
  std::vector<char> in_open(t.values.size(), 0);
  bool open_fails = false;  // the kernel being gathered checks indices on each call
  auto close = [&] {
    for (int k : open.nodes) in_open[t.nodes[k].output] = 0;
    if (!open.nodes.empty()) steps.push_back(std::move(open));
    open = Step{true, {}, nullptr, {}, {}, {}, {}};
    open_fails = false;
  };
  for (size_t k = 0; k < t.nodes.size(); ++k) {
    const TraceNode& n = t.nodes[k];
    if (n.kind == NodeKind::Constant) continue;  // values known up front; copied into kernels that use them
    if (folded_from[n.output] >= 0) continue;    // a transpose the BLAS reads in place (see transposes_into_gemm)
    // take's and gather's indices are checked by the kernel's executor (PackedKernel): a
    // kernel input, or a constant into a dynamic dim, before the kernel runs; indices the
    // kernel computes after it, as an output of it (its code clamps them meanwhile, and the
    // call fails). Other constants are checked once, here. A size constant or a constant out
    // of range keeps the op on the interpreter, and so do indices computed in the kernel into
    // a dynamic dim (a call could make it empty).
    bool compiles = interpreter_reason(t, n, strict).empty();
    int computed_inside = -1;  // the indices' value when the kernel being gathered computes them
    bool checked = false;      // a take or gather whose indices are checked on each call
    if (compiles && (n.kind == NodeKind::Take || n.kind == NodeKind::Gather)) {
      int source = -1;
      const IndexOrigin origin = index_origin(t, producer, n, &source);
      checked = origin != IndexOrigin::Constant;
      if (origin == IndexOrigin::Unchecked) {
        const int p = producer[source];
        const bool computed = p >= 0 && t.nodes[p].kind != NodeKind::Constant;
        const bool inside = computed && in_open[source] && open.nodes.size() < kMaxKernelNodes;
        compiles = computed && !(inside && t.values[n.inputs[0]].shape[n.ints[0]] < 0);
        if (inside) computed_inside = source;
      }
    }
    if (compiles) {
      if (open.nodes.size() >= kMaxKernelNodes) close();
      open.nodes.push_back(static_cast<int>(k));
      in_open[n.output] = 1;
      if (computed_inside >= 0) open.checked_outputs.push_back(computed_inside);
      open_fails |= checked;
      continue;
    }
    bool depends = open_fails && fails_or_acts(n.kind);
    for (int v : n.inputs) depends |= in_open[folded_from[v] >= 0 ? folded_from[v] : v] != 0;
    if (depends) close();
    steps.push_back(Step{false, {static_cast<int>(k)}, nullptr, {}, {}, {}, {}});
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
    for (int k : s.nodes) out.push_back(Step{false, {k}, nullptr, {}, {}, {}, {}});
  }
  return out;
}

/// The nodes of a compiled step as a trace of their own (constants copied in, so they fold).
Trace sub_trace(const Trace& t, Step& step, const TraceUses& uses) {
  return extract_subtrace(t, step.nodes, uses, [](const TraceNode&, const ValueType&) { return true; }, step.inputs, step.outputs,
                          step.checked_outputs);
}


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
std::vector<CompileResult> compile_kernels(const std::vector<const Trace*>& traces, const CpuCompileFlags& flags) {
  try {
    return compile_for_cpu(traces, flags);
  } catch (const std::exception& e) {
    return failed_results(traces.size(), std::string("[jit] ") + e.what());
  }
}

/// The executable of a plan of steps, its kernels taken from `kernel_results` in order (or
/// compiled one by one when that is empty).
CompileResult assemble(Plan& plan, std::vector<CompileResult>& kernel_results, size_t& next, const CpuCompileFlags& flags,
                       std::chrono::steady_clock::time_point t0) {
  const Trace& trace = *plan.trace;
  CompileResult result;
  std::set<std::string> interpreted;  // reasons, for the log and the error
  std::vector<Step> final_steps;
  int kernels = 0;
  const bool checks_outputs = std::any_of(plan.steps.begin(), plan.steps.end(),
                                          [](const Step& s) { return !s.checked_outputs.empty(); });
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    Step& step = plan.steps[i];
    if (!step.compiled) {
      const TraceNode& n = trace.nodes[step.nodes[0]];
      std::string why = interpreter_reason(trace, n, plan.strict);
      if (why.empty() && (n.kind == NodeKind::Take || n.kind == NodeKind::Gather)) {
        int source = -1;
        const std::vector<int> producer = producers(trace);
        const bool unchecked = index_origin(trace, producer, n, &source) == IndexOrigin::Unchecked;
        const int p = unchecked ? producer[source] : -1;
        why = node_name(n) + (!unchecked ? " alone in its kernel runs on the interpreter"
                              : p >= 0 && trace.nodes[p].kind != NodeKind::Constant
                                  ? " of indices computed into a dynamic dim runs on the interpreter"
                                  : " of a size or of constant indices out of range runs on the interpreter");
      }
      interpreted.insert(why);
      final_steps.push_back(std::move(step));
      continue;
    }
    Trace sub = std::move(plan.subs[i]);
    CompileResult r;
    if (plan.no_sizes[i]) r.error = "a kernel that needs a dynamic size none of its inputs has";
    else if (kernel_results.empty()) r = std::move(compile_kernels({&sub}, flags)[0]);
    else r = std::move(kernel_results[next++]);
    if (!r.executable && flags.disk_only) {  // not all of it on disk: no program
      result.error = r.error;
      return result;
    }
    if (!r.executable) {  // keep the function correct: these ops run on the interpreter too
      interpreted.insert(r.error);
      for (int k : step.nodes) final_steps.push_back(Step{false, {k}, nullptr, {}, {}, {}, {}});
      continue;
    }
    ++kernels;
    result.from_disk_cache |= r.from_disk_cache;
    result.fast_code |= r.fast_code;
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
      ir = fmt::format("// {} kernels{}{}\n", kernels,
                       reasons.empty() ? "" : "; between them the interpreter runs: " + reasons,
                       checks_outputs ? " (with outputs of their own: indices they compute, checked after they run)" : "") +
           ir;
  if (options::log("compile"))
    fmt::print(stderr, "[ejit compile] {} ops as {} kernels and {} interpreter ops ({}), {:.1f} ms since the compile began\n",
               trace.nodes.size(), kernels,
               std::count_if(final_steps.begin(), final_steps.end(), [](const Step& s) { return !s.compiled; }),
               reasons, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  result.executable = std::make_unique<StepProgram>(trace, std::move(final_steps), plan.folded_from);
  return result;
}

}  // namespace

std::vector<CompileResult> compile_cpu_steps(const std::vector<const Trace*>& traces, const CpuCompileFlags& flags,
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
    // (Indices the kernel computes are an output of it: a step of its own then.)
    p.whole = p.steps.size() == 1 && p.steps[0].compiled && p.steps[0].checked_outputs.empty() &&
              !has_unsourced_symbols(*p.trace);
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
  if (!flags.keep_ir && !flags.keep_asm && !options::dump_any() && batch.size() > 1) {
    batched = compile_kernels(batch, flags);  // no IR is wanted here
    if (!batched[0].executable && flags.disk_only) return failed_results(traces.size(), batched[0].error);
    if (!batched[0].executable) batched.clear();
  }
  std::vector<CompileResult> results;
  size_t next = 0;
  for (Plan& p : plans) {
    if (p.whole)
      results.push_back(batched.empty() ? std::move(compile_kernels({p.trace}, flags)[0])
                                        : std::move(batched[next++]));
    else
      results.push_back(assemble(p, batched, next, flags, t0));
  }
  // One compile: its whole time is the first result's (a caller adding them up gets it once).
  const double total = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  for (CompileResult& r : results) r.milliseconds = 0;
  results.at(0).milliseconds = total;
  return results;
}

std::string compile_cpu_export(const std::vector<const Trace*>& traces, const std::string& cpu, bool strict,
                               ExportManifest& manifest, std::string& object) {
  manifest.entries.clear();
  for (const Trace* t : traces) {
    ExportedEntry e;
    e.trace = *t;
    e.folded_from = transposes_into_gemm(*t, strict);
    const TraceUses uses(*t);
    for (Step& s : partition(*t, e.folded_from, strict)) {
      ExportedStep x;
      x.compiled = s.compiled;
      x.nodes = s.nodes;
      if (s.compiled) {
        x.sub = sub_trace(*t, s, uses);
        x.inputs = s.inputs;
        x.outputs = s.outputs;
      }
      e.steps.push_back(std::move(x));
    }
    manifest.entries.push_back(std::move(e));
  }
  // As jit() does: a kernel that cannot read a dynamic size, or that does not compile, runs
  // its ops on the interpreter instead. All kernels compile as one module; when that fails,
  // each alone finds the ones that do not, and the rest compile together again.
  auto to_interpreter = [](ExportedStep& st, std::vector<ExportedStep>& out) {
    for (int k : st.nodes) out.push_back(ExportedStep{false, {k}, {}, {}, -1, 0, {}});
  };
  auto steps_of = [&](const std::function<bool(const ExportedStep&)>& keep_compiled) {
    for (ExportedEntry& e : manifest.entries) {
      std::vector<ExportedStep> out;
      for (ExportedStep& st : e.steps)
        if (st.compiled && !keep_compiled(st)) to_interpreter(st, out);
        else out.push_back(std::move(st));
      e.steps = std::move(out);
    }
  };
  steps_of([](const ExportedStep& st) { return !has_unsourced_symbols(st.sub); });
  ObjectCode code;
  code.cpu = cpu;
  for (int attempt = 0;; ++attempt) {
    std::vector<ExportedStep*> kernels;
    for (ExportedEntry& e : manifest.entries)
      for (ExportedStep& st : e.steps)
        if (st.compiled) st.kernel = static_cast<int>(kernels.size()), kernels.push_back(&st);
    object.clear();
    manifest.kernel_symbols.clear();
    manifest.features.clear();
    manifest.cpu = cpu;
    if (kernels.empty()) return "";
    std::vector<const Trace*> batch;
    for (ExportedStep* st : kernels) batch.push_back(&st->sub);
    const std::string error = compile_cpu_object(batch, code);
    if (error.empty()) {
      for (ExportedStep* st : kernels) st->extent = code.extents.at(st->kernel);
      manifest.kernel_symbols = std::move(code.symbols);
      manifest.features = std::move(code.features);
      manifest.cpu = code.cpu_name;
      object = std::move(code.object);
      return "";
    }
    if (attempt > 0 || error.find("LLVM knows no CPU") != std::string::npos) return error;
    std::set<const ExportedStep*> failing;
    for (ExportedStep* st : kernels) {
      ObjectCode alone;
      alone.cpu = cpu;
      if (!compile_cpu_object({&st->sub}, alone).empty()) failing.insert(st);
    }
    if (failing.empty()) return error;  // each compiles alone: not a kernel's fault
    steps_of([&](const ExportedStep& st) { return !failing.count(&st); });
  }
}

CompileResult compile_cpu_steps(const Trace& trace, const CpuCompileFlags& flags, bool strict) {
  return std::move(compile_cpu_steps(std::vector<const Trace*>{&trace}, flags, strict)[0]);
}

}  // namespace ejit::detail
