#include "compile.h"

#include "../backend/common/kernel_cache.h"
#include "../backend/cpu/cpu_steps.h"
#include "../backend/gpu/gpu_program.h"
#include "../pipeline/Pipeline.h"
#include "../support/check.h"
#include "../support/options.h"
#include "../trace/dynamic_dims.h"
#include "compile_profile.h"

namespace ejit {
namespace detail {

namespace {
bool strict_enabled(const CompileOptions& options) { return options.strict.value_or(options::strict_numerics()); }
CpuCompileFlags cpu_flags(const CompileOptions& o) {
  return {.keep_ir = o.keep_ir, .keep_asm = o.keep_asm, .fast_codegen = o.fast_codegen};
}
}  // namespace

static CompileResult compile_one(const Trace& trace, const CompileOptions& options) {
  if (options.target == Target::CUDA) {
    if (strict_enabled(options)) {
      CompileResult r;
      r.error = "[jit] GPU programs are not strict yet (the GPU back end contracts multiplies and adds into FMAs)";
      return r;
    }
    return compile_for_gpu(trace, options.keep_ir);
  }
  CompileResult result = compile_cpu_steps(trace, cpu_flags(options), strict_enabled(options));
  if (options.keep_ptx || dump_requested(Stage::PTX)) {  // the GPU program of the same trace
    std::string ptx = gpu_ptx_listing(trace);
    if (dump_requested(Stage::PTX)) dump_stage(Stage::PTX, ptx);
    result.ir[static_cast<int>(Stage::PTX)] = std::move(ptx);
  }
  return result;
}

CompileResult compile_trace(const Trace& trace, const CompileOptions& options) {
  return compile_profiled({&trace}, options.target, [&] {
    try {  // a compiler failure of any kind is an error of the result, not an exception
      return compile_one(trace, options);
    } catch (const std::exception& e) {
      CompileResult r;
      r.error = std::string("[jit] the compiler failed: ") + e.what();
      return r;
    }
  });
}

CompileResult load_from_disk_cache(const Trace& trace, const CompileOptions& options) {
  CompileResult r;
  if (options.target != Target::CPU || options.keep_ir || options.keep_asm || options.keep_ptx) {
    r.error = "[jit] only CPU code without IR comes from the disk cache";
    return r;
  }
  try {
    CpuCompileFlags flags = cpu_flags(options);
    flags.disk_only = true;
    return compile_cpu_steps(trace, flags, strict_enabled(options));
  } catch (const std::exception& e) {
    r.error = std::string("[jit] loading from the disk cache failed: ") + e.what();
  } catch (...) {
    r.error = "[jit] loading from the disk cache failed";
  }
  return r;
}

std::vector<CompileResult> compile_traces(const std::vector<const Trace*>& traces, const CompileOptions& options) {
  if (options.target == Target::CPU && !dump_requested(Stage::PTX))  // else each compile_trace is an event
    return compile_profiled(traces, options.target, [&] { return compile_cpu_steps(traces, {.fast_codegen = options.fast_codegen}, strict_enabled(options)); });
  std::vector<CompileResult> results;
  for (const Trace* t : traces) results.push_back(compile_trace(*t, options));
  return results;
}

}  // namespace detail

struct Compiled::Impl {
  detail::CompileResult result;
  Trace inputs;  // what run() takes: the trace's input types, as a trace of inputs only
  bool unsourced = false;  // a dynamic dim that no input has (a forged trace): no call can give its size
};

Compiled::Compiled() : impl_(std::make_unique<Impl>()) {}
Compiled::~Compiled() = default;
Compiled::Compiled(Compiled&&) noexcept = default;
Compiled& Compiled::operator=(Compiled&&) noexcept = default;

bool Compiled::ok() const { return impl_->result.executable != nullptr; }
const std::string& Compiled::error() const { return impl_->result.error; }
const std::string& Compiled::ir(Stage s) const { return impl_->result.ir[static_cast<int>(s)]; }
double Compiled::milliseconds() const { return impl_->result.milliseconds; }
double Compiled::milliseconds(Stage s) const { return impl_->result.stage_milliseconds[static_cast<int>(s)]; }
bool Compiled::from_disk_cache() const { return impl_->result.from_disk_cache; }

std::vector<Tensor> Compiled::run(const std::vector<Tensor>& inputs) const {
  if (!ok()) fail("compile", "this trace did not compile: {}", impl_->result.error);
  const Trace& want = impl_->inputs;
  if (inputs.size() != want.inputs.size())
    fail("compile", "{} inputs given, the trace takes {}", inputs.size(), want.inputs.size());
  if (impl_->unsourced) fail("compile", "a dynamic dim that none of the trace's inputs has: no call gives its size");
  if (detail::has_dynamic_dims(want)) {  // any size of a dynamic dim (at least its least size)
    if (std::string why = detail::dynamic_mismatch(want, inputs); !why.empty()) fail("compile", "{}", why);
  } else {
    for (size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].shape() != want.values[i].shape || inputs[i].dtype() != want.values[i].dtype)
        fail("compile", "input {} is {}{}; the trace takes {}{}", i, name(inputs[i].dtype()), inputs[i].shape(),
             name(want.values[i].dtype), want.values[i].shape);
  }
  return impl_->result.executable->run(inputs);
}

Compiled compile(const Trace& trace, const CompileOptions& options) {
  Compiled c;
  c.impl_->unsourced = detail::has_unsourced_symbols(trace);
  for (int v : trace.inputs) {
    c.impl_->inputs.inputs.push_back(static_cast<int>(c.impl_->inputs.values.size()));
    c.impl_->inputs.values.push_back(trace.values[v]);
  }
  c.impl_->result = detail::compile_trace(trace, options);  // never throws
  return c;
}

KernelCacheStats kernel_cache_stats() { return detail::disk_cache_stats(); }
int64_t kernel_cache_clear() { return detail::disk_cache_clear(); }

}  // namespace ejit
