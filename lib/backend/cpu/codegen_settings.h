// LLVM's code generation choices for CPU kernels. LLVM reads them from process-wide options
// (what llc takes on its command line), so a CPU compile sets them while it runs, under the
// compiler lock: the GPU's NVPTX pipeline, under the same lock, keeps LLVM's defaults. Code
// outside ejit that generates machine code with the same libLLVM at the same time, on
// another thread, would see them too (an unoptimized one would get the basic register
// allocator, which LLVM does not allow there).
#pragma once

#include <memory>

namespace ejit::detail {

/// The settings of one CPU compile, from construction to destruction (which restores
/// LLVM's defaults). An option that a command line set (a program that parses LLVM's
/// options itself) is left as given.
class CpuCodegenSettings {
 public:
  /// `fast_codegen`: a first tier (LLVM's fast instruction selector and register
  /// allocator, no schedulers), which only the loop strength reduction setting concerns.
  explicit CpuCodegenSettings(bool fast_codegen);
  ~CpuCodegenSettings();
  CpuCodegenSettings(const CpuCodegenSettings&) = delete;
  CpuCodegenSettings& operator=(const CpuCodegenSettings&) = delete;

 private:
  struct Holds;
  std::unique_ptr<Holds> holds_;
};

}  // namespace ejit::detail
