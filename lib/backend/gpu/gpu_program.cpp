// GPU programs: partitioning a trace into steps and running them on a device's stream.
#include "gpu_program.h"

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "../../core/observer.h"
#include "../../cuda/cublas.h"
#include "../../cuda/runtime.h"
#include "../../pipeline/Pipeline.h"
#include "../../support/check.h"
#include "../../support/options.h"
#include "../../trace/dynamic_dims.h"
#include "../../trace/subtrace.h"
#include "../../runtime/exported_library.h"
#include "../../runtime/gpu_executor.h"
#include "../../runtime/gpu_reduction_plan.h"
#include "gpu_kernels.h"
#include "gpu_row_kernels.h"
#include "ejit/ops.h"

namespace ejit::detail {
namespace {

/// Whether a Reduce node is argmax / argmin (one run of reduced dims, i64 positions).
bool is_index_reduction(const TraceNode& n) { return kind(static_cast<ReduceOp>(n.sub)) == ReduceKind::Index; }


bool log_compile() { return options::log("compile"); }

// ---- partition ----

enum class Placement { Fuse, Reduce, Take, Gemm, Host };

Placement place(const Trace& t, const TraceNode& n) {
  const ValueType& in0 = n.inputs.empty() ? t.values[n.output] : t.values[n.inputs[0]];
  switch (n.kind) {
    case NodeKind::Reduce: {
      if (is_index_reduction(n)) {  // one run of reduced dims: a thread per output walks it
        int runs = 0;
        for (auto [size, reduced] : reduce_runs(in0.shape, n.ints)) runs += reduced;
        return runs == 1 ? Placement::Reduce : Placement::Host;
      }
      const DType dt = in0.dtype, out = t.values[n.output].dtype;
      const bool same = dt == out && (dt == DType::F32 || dt == DType::F64 || dt == DType::I32 || dt == DType::I64);
      const bool widening = out == DType::I64 && (dt == DType::Bool || dt == DType::I32);  // integer sums, products
      const bool supported = same || widening;
      bool reduces = false;
      for (auto [size, reduced] : reduce_runs(in0.shape, n.ints)) reduces |= reduced;
      return supported && reduces ? Placement::Reduce : Placement::Fuse;
    }
    case NodeKind::MatMul: {
      const bool generated = options::gpu_matmul_generated();  // never cuBLAS (tests, comparisons)
      if (is_floating(t.values[n.output].dtype) && !generated && cuda::cublas_available()) return Placement::Gemm;
      const Shape &a = in0.shape, &b = t.values[n.inputs[1]].shape;
      bool same_batch = a.rank() == b.rank();
      for (int d = 0; same_batch && d + 2 < a.rank(); ++d) same_batch = a[d] == b[d];
      return same_batch ? Placement::Fuse : Placement::Host;
    }
    case NodeKind::Take: return Placement::Take;
    case NodeKind::Gather: return Placement::Host;  // the CPU's lowering leaves index checks to its executor
    default: return interpreter_reason(t, n).empty() ? Placement::Fuse : Placement::Host;
  }
}

/// The nodes of a group as a trace of their own: one-element constants are copied in (they
/// fold into the kernel); larger ones are inputs (their device copies live in the program),
/// and so are size constants (the executor computes them per call).
Trace group_trace(const Trace& t, const std::vector<int>& nodes, const TraceUses& uses, std::vector<int>& inputs,
                  std::vector<int>& outputs) {
  return extract_subtrace(t, nodes, uses, [](const TraceNode& c, const ValueType& v) { return v.shape.numel() == 1 && !is_size_constant(c); }, inputs, outputs);
}

/// The PTX of a kernel of node `n`'s block reduction: the rows or cols kernel reading the
/// input (first) or partials, or the arg kernel of an index reduction; "" and `error`.
std::string reduction_module_ptx(const Trace& t, const TraceNode& n, const std::string& chip, bool rows, bool first,
                                 std::string& error) {
  const DType in = t.values[n.inputs[0]].dtype, acc = t.values[n.output].dtype;
  if (is_index_reduction(n)) return arg_reduction_ptx(static_cast<ReduceOp>(n.sub) == ReduceOp::ArgMax, in, chip, error);
  return reduction_ptx(rows, static_cast<ReduceOp>(n.sub), first ? in : acc, acc, chip, error);
}

/// The block reduction of node `n`: its PTX modules (made as the plan needs them) and launches.
bool plan_reduction(const Trace& t, const TraceNode& n, const std::string& chip, GpuKernels& k, std::string& error) {
  int modules[2][2] = {{-1, -1}, {-1, -1}};  // [rows][first]
  auto module = [&](bool rows, bool first) -> int {
    int& index = modules[rows][first];
    if (index >= 0) return index;
    std::string ptx = reduction_module_ptx(t, n, chip, rows, first, error);
    if (ptx.empty()) return -1;
    k.ptx.push_back(std::move(ptx));
    return index = static_cast<int>(k.ptx.size()) - 1;
  };
  return plan_reduction_launches(t.values[n.inputs[0]].shape, n.ints, is_index_reduction(n),
                                 itemsize(t.values[n.output].dtype), module, k, error);
}

/// The modules of node `n`'s block reduction for any size (any_size_reduction_module's
/// order) and no launches: the executor plans them per call from the input's shape.
bool reduce_any_size(const Trace& t, const TraceNode& n, const std::string& chip, GpuKernels& k, std::string& error) {
  k.num_inputs = 1, k.num_outputs = 1;
  const bool index = is_index_reduction(n);
  for (bool rows : {true, false})
    for (bool first : {true, false})
      if (k.ptx.size() < any_size_reduction_modules(index) &&
          static_cast<size_t>(any_size_reduction_module(index, rows, first)) == k.ptx.size()) {
        std::string ptx = reduction_module_ptx(t, n, chip, rows, first, error);
        if (ptx.empty()) return false;
        k.ptx.push_back(std::move(ptx));
      }
  return true;
}

// ---- the program ----


}  // namespace

std::string target_chip() {
  if (std::optional<std::string> arch = options::cuda_arch()) return *arch;
  if (cuda_available()) return cuda::device_arch(0);
  return default_cuda_arch();
}

namespace {

bool is_bool_extremum(const Trace& t, const TraceNode& n) {
  if (n.kind != NodeKind::Reduce || t.values[n.inputs[0]].dtype != DType::Bool) return false;
  const auto op = static_cast<ReduceOp>(n.sub);
  bool reduces = false;
  for (auto [size, reduced] : reduce_runs(t.values[n.inputs[0]].shape, n.ints)) reduces |= reduced;
  return reduces && (op == ReduceOp::Max || op == ReduceOp::Min);
}

/// any() and all() (max and min over bools) as the same reduction over i32 between two casts:
/// the block reductions take i32, while a reduction over bools would run in a fused kernel with
/// one GPU thread per output (one thread for a whole tensor's any()). Appends values; the
/// trace's inputs and outputs stay as they are.
Trace widen_bool_extrema(const Trace& t) {
  if (std::none_of(t.nodes.begin(), t.nodes.end(), [&](const TraceNode& n) { return is_bool_extremum(t, n); })) return t;
  Trace w = t;
  w.nodes.clear();
  for (const TraceNode& n : t.nodes) {
    if (!is_bool_extremum(t, n)) {
      w.nodes.push_back(n);
      continue;
    }
    auto fresh = [&](const Shape& shape) {
      w.values.push_back({shape, DType::I32});
      return static_cast<int>(w.values.size()) - 1;
    };
    TraceNode widen{};
    widen.kind = NodeKind::Cast;
    widen.inputs = {n.inputs[0]};
    widen.output = fresh(t.values[n.inputs[0]].shape);
    TraceNode reduce = n;
    reduce.inputs = {widen.output};
    reduce.output = fresh(t.values[n.output].shape);
    TraceNode narrow{};
    narrow.kind = NodeKind::Cast;
    narrow.inputs = {reduce.output};
    narrow.output = n.output;
    w.nodes.insert(w.nodes.end(), {widen, reduce, narrow});
  }
  return w;
}

std::unique_ptr<GpuProgram> build_program(const Trace& recorded, bool keep_ir, std::array<std::string, kNumStages>& ir,
                                          std::string& error, bool* from_disk = nullptr) {
  const Trace trace = widen_bool_extrema(recorded);
  const std::string chip = target_chip();
  const TraceUses uses(trace);
  std::vector<GpuStep> steps;
  std::vector<std::string> notes;
  int groups = 0;             // fused kernel groups compiled or loaded
  bool all_from_disk = true;  // every one of them came from the disk cache
  // Dynamic dims: fused kernels take their sizes at run time (the plan's index ops), cuBLAS
  // and the host steps take each call's shapes, block reductions and take are planned per
  // call (reduce_any_size; the executor). A reduction over trailing static dims that keeps
  // every dynamic dim fuses instead (a thread per output row).
  const bool dynamic = has_dynamic_dims(trace);
  std::string dynamic_refusal;
  auto single = [&](int k, GpuStep::Kind kind, std::string what) {
    GpuStep s;
    s.kind = kind, s.nodes = {k}, s.what = std::move(what);
    steps.push_back(std::move(s));
  };
  // A group of fusable nodes: one compiled kernel set, else each node alone, else the host.
  std::function<void(const std::vector<int>&)> emit_group = [&](const std::vector<int>& nodes) {
    if (nodes.empty()) return;
    bool all_views = true;
    for (int k : nodes) all_views &= trace.nodes[k].kind == NodeKind::Reshape;
    if (all_views) {
      for (int k : nodes) single(k, GpuStep::Kind::View, "reshape (a view)");
      return;
    }
    GpuStep s;
    s.kind = GpuStep::Kind::Kernels;
    s.nodes = nodes;
    Trace sub = group_trace(trace, nodes, uses, s.inputs, s.outputs);
    std::array<std::string, kNumStages> sub_ir;
    std::string why;
    if (compile_gpu_kernels(sub, chip, s.kernels, why, keep_ir ? &sub_ir : nullptr)) {
      ++groups;
      all_from_disk &= s.kernels.from_disk_cache;
      std::string names;
      for (int k : nodes) names += (names.empty() ? "" : ", ") + node_name(trace.nodes[k]);
      s.what = fmt::format("fused kernels ({} launches) for {}", s.kernels.launches.size(), names);
      if (keep_ir)
        for (int st = 0; st < kNumStages; ++st)
          if (!sub_ir[st].empty()) ir[st] += fmt::format("// ---- step {}: {}\n{}\n", steps.size(), s.what, sub_ir[st]);
      steps.push_back(std::move(s));
      return;
    }
    notes.push_back(why);
    if (dynamic) {  // the program is refused: no per-node fallback to compile
      if (dynamic_refusal.empty()) dynamic_refusal = "a fused kernel of dynamic dims failed: " + why;
      return;
    }
    if (keep_ir)  // the stages reached, to show where it failed
      for (int st = 0; st < kNumStages; ++st)
        if (!sub_ir[st].empty()) ir[st] += fmt::format("// ---- failed group ({}):\n{}\n", why, sub_ir[st]);
    if (nodes.size() > 1) {
      for (int k : nodes) emit_group({k});
      return;
    }
    single(nodes[0], GpuStep::Kind::Host, node_name(trace.nodes[nodes[0]]) + " on the host (" + why + ")");
  };
  // Softmax and layer norm over the last axis: one kernel each, run where their last node
  // was (their inputs are made before their first; nothing else reads their insides).
  // A match whose kernel cannot be made (no libdevice for its sqrt or f64 exp) takes the
  // old plan, which says why where it fails too.
  struct PlannedRowKernel {
    RowKernelMatch match;
    GpuKernels plan;
  };
  std::vector<PlannedRowKernel> row_kernels;
  std::vector<int> row_kernel_of(trace.nodes.size(), -1);  // node -> index in row_kernels
  for (RowKernelMatch& m : match_row_kernels(trace, uses)) {
    GpuKernels plan;
    std::string why;
    if (!plan_row_kernel(m, chip, plan, why)) {
      notes.push_back(why);
      continue;
    }
    for (int k : m.nodes) row_kernel_of[static_cast<size_t>(k)] = static_cast<int>(row_kernels.size());
    row_kernels.push_back({std::move(m), std::move(plan)});
  }
  std::vector<int> open;
  for (size_t k = 0; k < trace.nodes.size(); ++k) {
    const TraceNode& n = trace.nodes[k];
    if (n.kind == NodeKind::Constant) continue;
    if (row_kernel_of[k] >= 0) {
      PlannedRowKernel& planned = row_kernels[static_cast<size_t>(row_kernel_of[k])];
      const RowKernelMatch& m = planned.match;
      if (static_cast<int>(k) != m.nodes.back()) continue;
      emit_group(open);
      open.clear();
      GpuStep s;
      s.kind = GpuStep::Kind::Kernels;
      s.nodes = m.nodes;
      s.inputs = row_kernel_inputs(m);
      s.outputs = {m.output};
      s.kernels = std::move(planned.plan);
      s.what = fmt::format("{}{} as one kernel, a block per row ({} rows of {})",
                           m.kind == RowKernel::Softmax ? "softmax" : m.kind == RowKernel::LogSoftmax ? "log_softmax" : "layer norm",
                           m.scale >= 0 && m.shift >= 0 ? " with scale and shift" : m.scale >= 0 ? " with scale" : m.shift >= 0 ? " with shift" : "",
                           m.rows < 0 ? std::string("the call's") : std::to_string(m.rows), m.len);
      if (keep_ir)
        ir[static_cast<int>(Stage::PTX)] += fmt::format("// ---- step {}: {}\n// ---- PTX module 0\n{}\n", steps.size(), s.what, s.kernels.ptx[0]);
      steps.push_back(std::move(s));
      continue;
    }
    Placement p = place(trace, n);
    if (dynamic && p == Placement::Reduce) {
      // Fused, a reduction over the trailing dims runs a thread per output row; over leading
      // dims it would be one thread for all of it (a loop nest with no parallel loop outside).
      const Shape& in = trace.values[n.inputs[0]].shape;
      bool along_dynamic = false, trailing = true;
      std::vector<bool> reduced(static_cast<size_t>(in.rank()), false);
      for (int64_t a : n.ints) along_dynamic |= in[static_cast<int>(a)] < 0, reduced[static_cast<size_t>(a)] = true;
      for (size_t d = 0; d + 1 < reduced.size(); ++d) trailing &= !reduced[d] || reduced[d + 1];
      // Else a block reduction, planned per call (reduce_any_size).
      if (!along_dynamic && trailing && !is_index_reduction(n)) p = Placement::Fuse;
    }
    if (dynamic && p == Placement::Fuse && n.kind == NodeKind::MatMul) {
      error = "[gpu] a generated (fused) matmul of dynamic dims: only cuBLAS takes them";
      return nullptr;
    }
    if (p == Placement::Fuse) {
      open.push_back(static_cast<int>(k));
      continue;
    }
    emit_group(open);
    open.clear();
    const int id = static_cast<int>(k);
    if (p == Placement::Take) {
      GpuStep s;
      s.kind = GpuStep::Kind::Take;
      s.nodes = {id};
      s.inputs = {n.inputs[0], n.inputs[1]};
      s.outputs = {n.output};
      const ValueType &x = trace.values[n.inputs[0]], &idx = trace.values[n.inputs[1]];
      std::string ptx = take_ptx(x.dtype, idx.dtype, chip, error);
      if (ptx.empty()) return nullptr;
      s.kernels.ptx.push_back(std::move(ptx));
      s.kernels.num_inputs = 2, s.kernels.num_outputs = 1;
      if (!dynamic) plan_take_launch(x.shape, static_cast<int>(n.ints[0]), idx.shape.numel(), s.kernels);  // else per call
      s.what = "take as a kernel (indices checked on the host)";
      steps.push_back(std::move(s));
    } else if (p == Placement::Gemm) {
      single(id, GpuStep::Kind::Gemm, "matmul on cuBLAS");
    } else if (p == Placement::Host) {
      notes.push_back(node_name(n) + " has no GPU kernel yet");
      single(id, GpuStep::Kind::Host, node_name(n) + " on the host (no GPU kernel yet)");
    } else {
      GpuStep s;
      s.kind = GpuStep::Kind::Reduce;
      s.nodes = {id};
      s.inputs = {n.inputs[0]};
      s.outputs = {n.output};
      if (dynamic) {
        if (!reduce_any_size(trace, n, chip, s.kernels, error)) return nullptr;
        s.what = fmt::format("{} as a block reduction (launches planned per call)", node_name(n));
      } else {
        if (!plan_reduction(trace, n, chip, s.kernels, error)) return nullptr;
        s.what = fmt::format("{} as a block reduction ({} launches)", node_name(n), s.kernels.launches.size());
      }
      if (keep_ir) {
        std::string ptx;
        for (size_t i = 0; i < s.kernels.ptx.size(); ++i) ptx += fmt::format("// ---- PTX module {}\n{}", i, s.kernels.ptx[i]);
        ir[static_cast<int>(Stage::PTX)] += fmt::format("// ---- step {}: {}\n{}\n", steps.size(), s.what, ptx);
      }
      steps.push_back(std::move(s));
    }
  }
  emit_group(open);
  if (!dynamic_refusal.empty()) {
    error = "[gpu] " + dynamic_refusal;
    return nullptr;
  }
  if (from_disk) *from_disk = groups > 0 && all_from_disk;
  if (log_compile() && !notes.empty()) {
    std::string all;
    for (const std::string& n : notes) all += "\n  " + n;
    fmt::print(stderr, "[ejit compile] GPU program of {} ops: {} steps; notes:{}\n", trace.nodes.size(), steps.size(), all);
  }
  if (keep_ir) {
    std::string summary = fmt::format("// GPU program for {}: {} steps\n", chip, steps.size());
    for (size_t i = 0; i < steps.size(); ++i) {
      summary += fmt::format("//   step {}: {}\n", i, steps[i].what);
      for (const GpuLaunch& l : steps[i].kernels.launches) {
        size_t params = 0;
        for (const GpuArg& a : l.args) params += a.kind == GpuArg::Kind::Buffer ? 3 + 2 * a.sizes.size() : 1;
        summary += fmt::format("//     launch {} grid ({}, {}, {}) block ({}, {}, {}), {} parameters\n", l.function,
                               l.grid[0], l.grid[1], l.grid[2], l.block[0], l.block[1], l.block[2], params);
      }
    }
    for (std::string& s : ir) s = summary + s;
  }
  return std::make_unique<GpuProgram>(trace, std::move(steps));
}

}  // namespace

CompileResult compile_for_gpu(const Trace& trace, bool keep_ir) {
  auto t0 = std::chrono::steady_clock::now();
  CompileResult result;
  std::string error;
  bool dump = false;  // EJIT_DUMP names a stage: print it, as the CPU compiler does
  for (int s = 0; s < kNumStages; ++s) dump |= dump_requested(static_cast<Stage>(s));
  auto program = build_program(trace, keep_ir || dump, result.ir, error, &result.from_disk_cache);
  for (int s = 0; dump && s < kNumStages; ++s)
    if (dump_requested(static_cast<Stage>(s)) && !result.ir[s].empty())
      dump_stage(static_cast<Stage>(s), result.ir[s], " (GPU)");
  if (!program) {
    result.error = error;
    return result;
  }
  result.executable = std::move(program);
  result.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (log_compile()) fmt::print(stderr, "[ejit compile] GPU program of {} ops in {:.1f} ms\n", trace.nodes.size(), result.milliseconds);
  return result;
}

std::vector<std::string> gpu_program_ptx(const Trace& trace, std::string& error) {
  std::array<std::string, kNumStages> ir;
  auto program = build_program(trace, false, ir, error);
  std::vector<std::string> ptx;
  if (!program) return ptx;
  for (const GpuStep& s : program->steps())
    for (const std::string& p : s.kernels.ptx) ptx.push_back(p);
  return ptx;
}

std::vector<GpuLaunchInfo> gpu_program_launches(const Trace& trace, std::string& error) {
  std::array<std::string, kNumStages> ir;
  auto program = build_program(trace, false, ir, error);
  std::vector<GpuLaunchInfo> out;
  if (!program) return out;
  for (const GpuStep& s : program->steps())
    for (const GpuLaunch& l : s.kernels.launches) {
      GpuLaunchInfo info{s.kernels.ptx[l.module], l.function, {}};
      for (const GpuArg& a : l.args) {
        if (a.kind == GpuArg::Kind::Buffer) info.param_bytes.insert(info.param_bytes.end(), 3 + 2 * a.sizes.size(), 8);
        else info.param_bytes.push_back(a.kind == GpuArg::Kind::I32 || a.kind == GpuArg::Kind::F32 ? 4 : 8);
      }
      out.push_back(std::move(info));
    }
  return out;
}

std::string gpu_program_host_steps(const Trace& trace) {
  std::array<std::string, kNumStages> ir;
  std::string error;
  auto program = build_program(trace, false, ir, error);
  if (!program) return error;
  std::string host;
  for (const GpuStep& s : program->steps())
    if (s.kind == GpuStep::Kind::Host) host += (host.empty() ? "" : "; ") + s.what;
  return host;
}

std::string gpu_ptx_listing(const Trace& trace) {
  std::array<std::string, kNumStages> ir;
  std::string error;
  auto program = build_program(trace, true, ir, error);
  if (!program) return "// cannot generate PTX: " + error + "\n";
  return ir[static_cast<int>(Stage::PTX)];
}

std::string compile_gpu_export(const std::vector<const Trace*>& traces, ExportManifest& manifest) {
  manifest.entries.clear();
  manifest.cpu = target_chip();
  for (const Trace* t : traces) {
    CompileResult r = compile_for_gpu(*t, false);
    if (!r.executable) return r.error;
    const auto* program = dynamic_cast<const GpuProgram*>(r.executable.get());
    if (!program) return "[export] the GPU compiler returned no GPU program";
    ExportedEntry e;
    e.trace = program->trace();  // the nodes its steps name (the GPU program may rewrite some)
    for (const GpuStep& s : program->steps()) {
      const bool kernels = runs_kernels(s.kind);
      e.gpu_steps.push_back({static_cast<uint8_t>(s.kind), s.nodes, s.inputs, s.outputs, kernels ? serialize(s.kernels) : "",
                             s.what});
    }
    manifest.entries.push_back(std::move(e));
  }
  return "";
}

}  // namespace ejit::detail
