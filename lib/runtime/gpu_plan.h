// A GPU program's kernels as data: PTX modules and the launches (grid, block, parameters)
// that compute a step's outputs; written by the GPU pipeline, run by the GPU executor, kept
// as text in the disk cache and in exported libraries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ejit::detail {

/// One kernel parameter (as MLIR's default calling convention expands it).
struct GpuArg {
  enum class Kind : uint8_t { Buffer, I64, I32, F32, F64 };
  Kind kind = Kind::Buffer;
  int slot = -1;                        // Buffer: inputs, then outputs, then temporaries
  int64_t offset = 0;                   // Buffer: the view's element offset, sizes, strides
  std::vector<int64_t> sizes, strides;
  int64_t bits = 0;                     // scalars: the value (f32/f64 as their bit patterns)
};

struct GpuLaunch {
  int module = 0;          // index into GpuKernels::ptx
  std::string function;    // the kernel's name in that module
  int64_t grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
  std::vector<GpuArg> args;
};

/// Kernels and the launches that compute some outputs from some inputs, in order.
struct GpuKernels {
  std::vector<std::string> ptx;      // one PTX module per entry
  std::vector<GpuLaunch> launches;
  int num_inputs = 0, num_outputs = 0;
  std::vector<size_t> temp_bytes;    // temporaries: slot num_inputs + num_outputs + i
  bool from_disk_cache = false;      // loaded from $EJIT_CACHE_DIR, not compiled
};

/// Text form of GpuKernels for the disk cache and exported libraries, and back (false for a
/// malformed text; counts are checked against the text's length before anything is reserved).
std::string serialize(const GpuKernels& k);
bool deserialize(const std::string& text, GpuKernels& k);

}  // namespace ejit::detail
