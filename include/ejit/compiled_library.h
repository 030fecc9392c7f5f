// Exported functions, loaded without a compiler: `ejit export` or Jitted::export_library
// write one shared library (kernels, step plans, traces, target); load_compiled() runs it
// in a process that links only the eager library (ejit::ejit: no LLVM, no MLIR).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ejit/tensor.h"
#include "ejit/trace.h"

namespace ejit {

/// A loaded export: one function with one or more signatures (the argument types it was
/// compiled for). Thread-safe to call; copies share the loaded code.
class CompiledLibrary {
 public:
  /// Runs the signature the inputs fit (CPU tensors; CUDA tensors for a GPU library); throws ejit::Error naming the
  /// signatures when none fits.
  std::vector<Tensor> operator()(const std::vector<Tensor>& inputs) const;
  template <class... A> std::vector<Tensor> call(const A&... args) const { return (*this)({Tensor(args)...}); }
  /// Runs signature i (throws when the inputs do not fit it).
  std::vector<Tensor> run_signature(size_t i, const std::vector<Tensor>& inputs) const;

  /// The exported function's name.
  const std::string& name() const;
  size_t signatures() const;
  /// Signature i's argument types, "(f32(64,784), i64(64,))" (? for a dynamic dim).
  std::string signature(size_t i) const;
  /// Signature i's trace: what the interpreter runs (eval_trace) to check the library.
  const Trace& trace(size_t i) const;
  /// What the code was compiled for: "cpu x86-64-v3 (avx,avx2,...)", "cuda sm_90".
  std::string target() const;
  /// A GPU library (PTX): it runs on CUDA tensors.
  bool on_gpu() const;
  /// The ejit version that wrote it (equal to this build's, or it would not load).
  const std::string& ejit_version() const;
  /// Kernels and steps of signature i: "3 kernels, 2 interpreter steps".
  std::string plan(size_t i) const;
  /// Bytes of the shared object (machine code and data).
  size_t code_bytes() const;

  struct Impl;

 private:
  CompiledLibrary() = default;  // from load_compiled() only
  friend CompiledLibrary load_compiled(const std::string& path);
  std::shared_ptr<const Impl> impl_;
};

/// Loads a library written by ejit export. The file is untrusted until checked: a wrong
/// format, another ejit version, a CPU that lacks a feature the code uses, or a truncated or
/// modified file each throw ejit::Error "[load_compiled] <path>: ..." before any of its code
/// is loaded.
CompiledLibrary load_compiled(const std::string& path);

}  // namespace ejit
