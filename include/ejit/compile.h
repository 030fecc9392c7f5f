// Compiling a trace ahead of its call: what jit() does on a new signature, for tools,
// benchmarks and programs that hold a Trace (recorded with record(), or parsed or loaded).
//
//   ejit::Trace t = ejit::load_trace("model.mlir");
//   ejit::Compiled c = ejit::compile(t, {.keep_ir = true});
//   if (!c.ok()) throw ejit::Error(c.error());
//   std::vector<ejit::Tensor> out = c.run(inputs);
//   std::string loops = c.ir(ejit::Stage::Loops);
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ejit/stage.h"
#include "ejit/tensor.h"
#include "ejit/trace.h"

namespace ejit {

/// Where compiled code runs: the host CPU, or a CUDA device (PTX; inputs on the device).
enum class Target { CPU, CUDA };

struct CompileOptions {
  Target target = Target::CPU;
  bool keep_ir = false;   // keep every stage's IR, for ir()
  bool keep_asm = false;  // also the host assembly (Stage::Asm: a second code generation)
  bool keep_ptx = false;  // CPU target: also the GPU program of the same trace (Stage::PTX)
  /// Strict numerics: the compiled code computes exactly what the interpreter computes, bit
  /// for bit. Kernels keep the ops whose IEEE results do not depend on how they are computed
  /// (+ - * / sqrt, comparisons, selects, casts, shape ops; no FMA contraction, no
  /// reassociation); transcendentals (exp, log, tanh, erf, float pow, ...) and float
  /// reductions run as interpreter steps between kernels, and matmuls on the BLAS without
  /// folded transposes. GPU programs are not strict yet: a strict GPU compile fails (jit()
  /// then runs eagerly). Unset: EJIT_STRICT=1 turns it on process-wide.
  std::optional<bool> strict = std::nullopt;
  /// CPU target: LLVM's fast instruction selector and register allocator instead of its
  /// optimizing ones, and no loop unrolling at EJIT_OPT_LEVEL 2 (the IR is still optimized and
  /// vectorized). The compile takes about half the time; the code runs up to 2.3x slower. jit()'s
  /// background compiles use it for a first version of a signature, then recompile it in
  /// full. Results come from the disk cache when it has full code for the trace, or else first-tier
  /// code; they go into it as first-tier code, which never serves a compile without this flag.
  bool fast_codegen = false;
};

/// A compiled trace. Compilation never throws: a trace that does not compile gives
/// ok() == false and error() says why, naming the op.
class Compiled {
 public:
  Compiled();
  ~Compiled();
  Compiled(Compiled&&) noexcept;
  Compiled& operator=(Compiled&&) noexcept;

  bool ok() const;
  const std::string& error() const;
  /// Runs the compiled code on the trace's inputs (on the target's device); throws
  /// ejit::Error when !ok() or the inputs do not fit.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const;
  /// The IR of a stage ("" when it was not kept or this target has no such stage).
  const std::string& ir(Stage s) const;
  double milliseconds() const;  // compile time (loading from the disk cache included)
  /// CPU target: the part of milliseconds() spent in one stage. Ejit..LLVMDialect are MLIR
  /// stages; LLVM is translation to LLVM IR and LLVM's optimizer; Asm is code generation and
  /// linking. 0 for a stage that did not run, and for GPU programs (not measured yet).
  double milliseconds(Stage s) const;
  bool from_disk_cache() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  friend Compiled compile(const Trace&, const CompileOptions&);
};

Compiled compile(const Trace& trace, const CompileOptions& options = {});

/// How export_library() builds a library.
struct ExportOptions {
  /// The function's name in the library (and in its errors). Unset: a jitted function's
  /// own name (Jitted::export_library), else "fn".
  std::optional<std::string> name;
  /// CPU: native code for `cpu`. CUDA: the GPU program's PTX for $EJIT_CUDA_ARCH (default: the
  /// device's chip, else sm_90), which the CUDA driver loads on the first call; no GPU is
  /// needed to export.
  Target target = Target::CPU;
  /// The CPU the code is for, as LLVM names CPUs ("x86-64-v3", "skylake-avx512"): the
  /// library loads on CPUs with that CPU's features. Empty: this machine's CPU. CPU only.
  std::string cpu;
  /// Strict numerics (see CompileOptions::strict; CPU only). Unset: EJIT_STRICT, or for
  /// Jitted::export_library the function's own JitOptions::strict.
  std::optional<bool> strict = std::nullopt;
};

/// Compiles traces (one per signature; each trace's inputs are the function's arguments, in
/// order) for the CPU or a GPU into one shared library at `path` that load_compiled()
/// (ejit/compiled_library.h) runs without LLVM or MLIR. Linking CPU code needs a C compiler
/// driver (EJIT_LINKER, default cc); a GPU library holds no host code, only PTX and plans. Throws ejit::Error "[export] ..." when a trace cannot be
/// exported (a host callback, a host read) or the library cannot be built.
void export_library(const std::vector<Trace>& traces, const std::string& path, const ExportOptions& options = {});

/// Parses ejit-dialect MLIR text (as Trace::to_mlir writes it) back into a Trace; throws
/// ejit::Error with the parser's line and column on malformed input.
Trace parse_trace(std::string_view mlir_text);
/// Reads a trace saved with Trace::save.
Trace load_trace(const std::string& path);

/// The on-disk cache of compiled kernels ($EJIT_CACHE_DIR, default ~/.cache/ejit).
struct KernelCacheStats {
  std::string dir;  // the entries' folder; empty when the cache is off
  int64_t entries = 0;
  int64_t bytes = 0;
};
KernelCacheStats kernel_cache_stats();
/// Removes every entry; returns how many.
int64_t kernel_cache_clear();

}  // namespace ejit
