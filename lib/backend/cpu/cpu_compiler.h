// Compiles a Trace to native CPU code: ejit -> linalg -> fused -> loops -> LLVM -> ORC JIT.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../common/executable.h"
#include "ejit/trace.h"

namespace ejit::detail {

/// What a CPU compile keeps besides the code, and how it generates the code.
struct CpuCompileFlags {
  bool keep_ir = false;   // every stage's IR (also made when EJIT_DUMP names a stage)
  bool keep_asm = false;  // the host assembly (Stage::Asm): a second code generation; kept in the IR when keep_ir
  bool fast_codegen = false;  // see CompileOptions::fast_codegen
  bool disk_only = false;     // code from the disk cache or a failure, at once (never waits for the compiler lock)
};

/// Compiles several traces as one module (kernel0, kernel1, ...; just kernel for one trace):
/// one pipeline run, one LLVM module, one code generation and one disk cache entry, instead
/// of one each. The first result holds the module's IR and times; when one kernel fails,
/// every result has the error.
std::vector<CompileResult> compile_for_cpu(const std::vector<const Trace*>& traces, const CpuCompileFlags& flags);

/// Object code to link into a shared library (an export): position-independent, for `cpu`.
struct ObjectCode {
  std::string cpu;                       // in: an LLVM CPU name ("x86-64-v3"); "" for this machine's
  std::string object;                    // out: a relocatable ELF object
  std::vector<int64_t> extents;          // out: per kernel, its row extent
  std::vector<std::string> symbols;      // out: per kernel, its packed wrapper's symbol
  std::vector<std::string> features;     // out: the CPU features (cpu_features.h) the code may use
  std::string cpu_name;                  // out: the CPU compiled for
};
/// Compiles `traces` as one module into `out` (never from or into the disk cache); "" on
/// success, else why not.
std::string compile_cpu_object(const std::vector<const Trace*>& traces, ObjectCode& out);

}  // namespace ejit::detail
