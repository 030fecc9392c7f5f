// The GPU back end's code generation: a trace (or a reduction template) to PTX kernels
// plus the host-side launch plan that runs them.
//
// The fused, bufferized loops of the shared front half (Pipeline.h) are turned into GPU
// kernels: every top-level parallel loop nest is collapsed to one dimension and tiled by
// 256 (blocks of 256 threads), host ops that are not loops (a rank-0 store, a sequential
// loop) run as a one-thread kernel, and MLIR's GPU passes outline each loop into a kernel
// that the NVVM pipeline and LLVM's NVPTX back end turn into PTX. The host function that
// is left is read into a plan — which kernel, which grid, which buffers — instead of
// being compiled: shapes are static, so every launch is known at compile time.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ejit/jit.h"
#include "ejit/op_kind.h"
#include "ejit/trace.h"

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

/// Text form of GpuKernels for the disk cache, and back (false for a malformed text).
std::string serialize(const GpuKernels& k);
bool deserialize(const std::string& text, GpuKernels& k);

/// $EJIT_CUDA_ARCH, else "sm_90".
std::string default_cuda_arch();

/// Compiles a trace whose nodes all have a GPU lowering, or loads it from the disk cache
/// (keyed by the trace's MLIR text and the chip) when no IR is asked for. Keeps the IR of the stages up to
/// loops, the GPU form (Stage::Gpu: outlined kernels and host launches) and the PTX
/// in `ir` when it is given. On failure returns false with `error` naming the reason.
bool compile_gpu_kernels(const Trace& trace, const std::string& chip, GpuKernels& out, std::string& error,
                         std::array<std::string, kNumStages>* ir = nullptr);

/// A reduction kernel: "rows" reduces each row of a (rows, len) view with one block of
/// threads per (row, split) and a shuffle/shared-memory tree; "cols" reduces (outer, len,
/// inner) with one thread per output. op: 0 sum, 1 prod, 2 max, 3 min (ReduceOp order).
/// `input` is the element type read, `dtype` the accumulator and result (bool and i32
/// sums and products widen to i64). Returns the PTX of a module with kernel "reduce_rows"
/// or "reduce_cols", cached in memory and on disk.
std::string reduction_ptx(bool rows, ReduceOp op, DType input, DType dtype, const std::string& chip, std::string& error);

/// argmax / argmin over the middle dim of (outer, len, inner): kernel "reduce_arg", one thread
/// per output, the interpreter's rules (the first extreme wins; a NaN wins at once). Same
/// parameters as "reduce_cols"; the output is i64.
std::string arg_reduction_ptx(bool max, DType input, const std::string& chip, std::string& error);
/// The MLIR of that kernel template (a gpu.module), before lowering.
std::string arg_reduction_text(bool max, DType input);

/// take(x, indices, axis) as kernel "take": x viewed as (outer, n, inner), k indices;
/// out[o, j, i] = x[o, idx[j] (negative ones wrapped), i], one thread per output element.
/// Parameters: x, indices and out as 1-D memref descriptors, then n, k, inner, total.
/// The caller checks the indices (the kernel does not).
std::string take_ptx(DType dtype, DType index_dtype, const std::string& chip, std::string& error);

/// A shape-generic elementwise kernel "ew" for eager GPU ops: out[g] = op(in_k[offset_k(g)])
/// for g < n, where g's coordinates over `rank` dims and each input's strides (0 where it
/// broadcasts) are kernel parameters — so one kernel serves every shape of an op and
/// dtype. kind: 0 unary (sub = UnaryOp), 1 binary (BinaryOp), 2 cast, 3 where.
/// Parameters: out and each input as 1-D memref descriptors (5 values each), then n, the
/// rank sizes, and rank strides per input (all i64).
struct ElementwiseSpec {
  int kind = 0;
  int sub = 0;
  std::vector<DType> inputs;
  DType output = DType::F32;
  int rank = 1;
  std::string key() const;
};
/// Its PTX for `chip`, cached in memory and in the disk cache; "" and `error` on failure.
std::string elementwise_ptx(const ElementwiseSpec& spec, const std::string& chip, std::string& error);

}  // namespace ejit::detail
