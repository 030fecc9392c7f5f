// Calling a compiled CPU kernel: its packed wrapper, void(void** args), takes a pointer to
// each scalar argument (the row range lo, hi, then each buffer's memref descriptor fields),
// and runs over row chunks on the thread pool. Shared by kernels the JIT just compiled, kernels
// from the disk cache and kernels of an exported library loaded without a compiler.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ejit/trace.h"
#include "../trace/dynamic_dims.h"
#include "executable.h"

namespace ejit::detail {

/// Whatever keeps a module's machine code mapped (a JIT, a loaded library); its kernels
/// share it.
class KernelCode {
 public:
  virtual ~KernelCode() = default;
  /// Bytes of code and data it keeps mapped.
  virtual size_t bytes() const = 0;
  size_t kernels = 1;  // executables sharing it
};

/// Fields of a memref descriptor as the LLVM dialect passes it: {allocated, aligned, offset,
/// sizes..., strides...}.
constexpr unsigned memref_fields(int64_t rank) { return 3 + 2 * static_cast<unsigned>(rank); }

using PackedFn = void (*)(void**);

/// One kernel of a module: `trace` is the kernel's own trace (its inputs and outputs are the
/// kernel's buffers); `extent` its row extent (row_extent.h).
class PackedKernel final : public Executable {
 public:
  PackedKernel(std::shared_ptr<const KernelCode> code, PackedFn fn, const Trace& trace, int64_t extent);
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const override;
  size_t code_bytes() const override { return code_->bytes() / code_->kernels; }

  /// Rows per chunk are chosen so that a chunk writes about this many output elements.
  static constexpr int64_t kChunkElements = 1 << 14;
  /// Rows per kernel call within a chunk: about this many output elements, so that the rows a
  /// call touches stay in the core's L2 (512 KB here) from one loop nest to the next
  /// (bench/jit_bench: layer norm 4096x1024 1.18-1.40 ms before, 0.78-0.96 ms after).
  static constexpr int64_t kCallElements = 1 << 15;

 private:
  std::shared_ptr<const KernelCode> code_;      // keeps the machine code alive
  std::vector<SymbolSource> symbols_;  // where each dynamic dim's size is read
  std::vector<ValueType> outs_;
  PackedFn fn_ = nullptr;
  int64_t extent_ = 0;  // trip count of the outer parallel loop, 0 if the kernel runs whole, < 0: dynamic_extent()
  std::string profile_name_;  // the kernel's "kernel" events in profiles
  /// A take or gather whose indices are an input of the kernel: checked before it runs, as
  /// the interpreter checks them; whose indices the kernel computes: checked after it runs,
  /// in the output the kernel writes them to (the kernel clamps; it never reports).
  struct IndexCheck {
    size_t position;   // of the indices among the kernel's inputs (or outputs, when `after`)
    bool after;
    const char* op;    // "take" or "gather"
    int axis;
    Shape x;           // the shape indexed
    Tensor constant;   // or constant indices into a dynamic dim (checked before, for each call)
    const Tensor& indices(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) const {
      return constant.defined() ? constant : (after ? outputs : inputs).at(position);
    }
  };
  std::vector<IndexCheck> index_checks_;
  /// `outputs` of a run, once the indices it computed (with `all`, every index check, in
  /// trace order) passed their checks.
  std::vector<Tensor> checked_after(std::vector<Tensor> outputs, const std::vector<Tensor>& inputs,
                                    const std::vector<int64_t>& sizes, bool all) const;
  const char* unchecked_ = nullptr;  // a take or gather of indices nothing checks: run() refuses
};

/// "" when a kernel with this trace can take this row extent (a dynamic one names a buffer
/// and dim the kernel has), else why not. Extents come from object code or files.
std::string check_row_extent(const Trace& trace, int64_t extent);

}  // namespace ejit::detail
