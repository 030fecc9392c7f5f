// A GPU program's kernels as data: PTX modules and the launches (grid, block, parameters)
// that compute a step's outputs; written by the GPU pipeline, run by the GPU executor, kept
// as text in the disk cache and in exported libraries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ejit/shape.h"

namespace ejit::detail {

/// The host's index arithmetic of a plan with dynamic dims: each op's value is computed per
/// call, in order, from the sizes of the plan's inputs and outputs (its fixed slots).
struct GpuIndexOp {
  enum class Kind : uint8_t { Const, Dim, Add, Sub, Mul, FloorDiv, CeilDiv, Rem, Min, Max };
  Kind kind = Kind::Const;
  int64_t a = 0, b = 0;  // Const: the value a; Dim: dim b of slot a; the others: ops a and b (earlier ones)
};

/// A size in a plan (grid, block, buffer offset, size or stride, temporary bytes): a value
/// when >= 0, else index_ops[-(n + 1)]'s value for the call.
inline int64_t index_ref(size_t op) { return -static_cast<int64_t>(op) - 1; }
inline int64_t resolve_size(int64_t n, const std::vector<int64_t>& values) {
  return n >= 0 ? n : values[static_cast<size_t>(-(n + 1))];
}

/// One kernel parameter (as MLIR's default calling convention expands it).
struct GpuArg {
  enum class Kind : uint8_t { Buffer, I64, I32, F32, F64 };
  Kind kind = Kind::Buffer;
  int slot = -1;                        // Buffer: inputs, then outputs, then temporaries
  int64_t offset = 0;                   // Buffer: the view's element offset, sizes, strides (sizes: see index_ref)
  std::vector<int64_t> sizes, strides;
  int64_t bits = 0;                     // scalars: the value (f32/f64 as their bit patterns), or
  int index = -1;                       // I64: index_ops[index]'s value for the call
};

/// Makes `a` a scalar parameter holding `v` as an f64, or as an f32 (rounded), by its bits.
inline void set_float_scalar(GpuArg& a, double v, bool f64) {
  if (f64) {
    a.kind = GpuArg::Kind::F64;
    std::memcpy(&a.bits, &v, sizeof v);
  } else {
    a.kind = GpuArg::Kind::F32;
    const float f = static_cast<float>(v);
    uint32_t u = 0;
    std::memcpy(&u, &f, sizeof f);
    a.bits = u;
  }
}

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
  std::vector<int64_t> temp_bytes;   // temporaries: slot num_inputs + num_outputs + i (sizes: see index_ref)
  std::vector<GpuIndexOp> index_ops; // dynamic dims: sizes computed per call (empty: every size is known)
  bool from_disk_cache = false;      // loaded from $EJIT_CACHE_DIR, not compiled
};

/// The values of k.index_ops for a call whose fixed slots (inputs, then outputs) have
/// `shapes`; ejit::Error naming the op when one cannot be computed (a division by zero, a
/// dim the slot does not have).
std::vector<int64_t> evaluate_index_ops(const GpuKernels& k, const std::vector<Shape>& shapes);
/// "" when every index reference of `k` names an op it has and every op reads earlier ops
/// and fixed slots only (files are untrusted), else what does not.
std::string check_index_ops(const GpuKernels& k);

/// Text form of GpuKernels for the disk cache and exported libraries, and back (false for a
/// malformed text; counts are checked against the text's length before anything is reserved).
std::string serialize(const GpuKernels& k);
bool deserialize(const std::string& text, GpuKernels& k);

}  // namespace ejit::detail
