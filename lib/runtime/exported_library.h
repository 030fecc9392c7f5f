// The file an export writes: a shared object holding the kernels' machine code (CPU
// libraries; a GPU library has none), followed by a manifest (the signatures' step programs, their traces, the target) and a trailer that
// says where the manifest starts and checks the whole file. dlopen ignores bytes past the
// object's segments, so the file stays a loadable shared library.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ejit/trace.h"

namespace ejit::detail {

/// A step as exported: compiled steps name their kernel by its index in the library.
struct ExportedStep {
  bool compiled = false;
  std::vector<int> nodes;           // indices into the entry's trace.nodes
  std::vector<int> inputs, outputs; // compiled: trace value ids in and out
  int kernel = -1;                  // compiled: index into ExportManifest::kernel_symbols
  int64_t extent = 0;               // compiled: the kernel's row extent (row_extent.h)
  Trace sub;                        // compiled: the kernel's own trace
};

/// A step of a GPU program as exported (see GpuStep).
struct ExportedGpuStep {
  uint8_t kind = 0;                 // GpuStep::Kind
  std::vector<int> nodes, inputs, outputs;
  std::string kernels;              // Kernels, Reduce, Take: GpuKernels as text (gpu_plan.h)
  std::string what;                 // its name in profiles and listings
};

/// One exported signature: CPU libraries have steps, GPU libraries gpu_steps.
struct ExportedEntry {
  Trace trace;                      // inputs: the function's arguments, in order
  std::vector<int> folded_from;     // CPU: per value, see StepProgram
  std::vector<ExportedStep> steps;
  std::vector<ExportedGpuStep> gpu_steps;
};

struct ExportManifest {
  std::string ejit_version;         // of the exporting build; a load needs the same
  std::string target = "cpu";       // "cpu" or "cuda"
  std::string cpu;                  // LLVM's CPU name the code was compiled for, or the CUDA chip (sm_90)
  std::vector<std::string> features;       // CPU features the code may use (cpu_features.h)
  std::vector<std::string> kernel_symbols; // packed wrappers (void(void**)) in the shared object
  std::string name;                 // the exported function's name
  std::vector<ExportedEntry> entries;
};

/// The version of this build of ejit and a fingerprint of its op tables, "0.1.0+ops.1a2b..."
/// (a library loads only into a build with the same).
const char* ejit_version();

std::string write_manifest(const ExportManifest& m);
/// Parses and checks an untrusted manifest: every id, index, count and step against its
/// trace (errors: ejit::Error "[load_compiled] ..."). Does not check version or CPU.
ExportManifest read_manifest(std::string_view bytes);

/// The library file: `shared_object`, then `manifest`, then the trailer.
std::string library_file(std::string_view shared_object, std::string_view manifest);
/// The shared object's bytes and the manifest's, once the trailer's magic, sizes and
/// checksum hold; else ejit::Error "[load_compiled] <path>: ...".
std::pair<std::string_view, std::string_view> split_library_file(std::string_view file, const std::string& path);

}  // namespace ejit::detail
