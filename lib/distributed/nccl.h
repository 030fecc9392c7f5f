// NCCL, loaded at run time (dlopen of libnccl.so.2, as the CUDA driver is), for collectives
// on GPU tensors: ejit builds and runs without it, and a machine without it moves GPU
// tensors' collectives through the host (EJIT_NCCL=auto) or says why it cannot (=on).
// The declarations are NCCL 2's ABI (nccl.h is not needed to build).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "ejit/distributed.h"
#include "ejit/dtype.h"

namespace ejit::distributed::detail {

using NcclResult = int;  // ncclResult_t; 0 is ncclSuccess
using NcclComm = struct NcclCommOpaque*;
using CudaStream = void*;  // cudaStream_t (the driver's CUstream)
inline constexpr size_t kNcclUniqueIdBytes = 128;
struct NcclUniqueId {
  char internal[kNcclUniqueIdBytes];
};

inline constexpr NcclResult kNcclInProgress = 7;  // ncclInProgress (non-blocking communicators)

/// ncclConfig_t as NCCL 2.14 declared it; later versions read what `size` covers.
struct NcclConfig {
  size_t size = sizeof(NcclConfig);
  unsigned magic = 0xcafebeef;
  unsigned version = 21400;
  int blocking = -2147483648;  // NCCL_CONFIG_UNDEF_INT for every field not set
  int cga_cluster_size = -2147483648;
  int min_ctas = -2147483648;
  int max_ctas = -2147483648;
  const char* net_name = nullptr;
};

/// NCCL's entry points ejit calls.
struct NcclApi {
  int version = 0;  // ncclGetVersion: 22703 for 2.27.3
  NcclResult (*ncclGetVersion)(int*);
  NcclResult (*ncclGetUniqueId)(NcclUniqueId*);
  NcclResult (*ncclCommInitRank)(NcclComm*, int, NcclUniqueId, int);
  NcclResult (*ncclCommDestroy)(NcclComm);
  NcclResult (*ncclCommAbort)(NcclComm);
  NcclResult (*ncclCommGetAsyncError)(NcclComm, NcclResult*);
  NcclResult (*ncclAllReduce)(const void*, void*, size_t, int, int, NcclComm, CudaStream);
  NcclResult (*ncclBroadcast)(const void*, void*, size_t, int, int, NcclComm, CudaStream);
  const char* (*ncclGetErrorString)(NcclResult);
  /// Since NCCL 2.14 (null before): a non-blocking init, so a rank that fails cannot leave
  /// the others waiting in it forever.
  NcclResult (*ncclCommInitRankConfig)(NcclComm*, int, NcclUniqueId, int, NcclConfig*) = nullptr;
};

/// Loads `library` (a path or a soname) once per name and resolves NCCL's entry points:
/// null, with the reason in `why`, when the library or a symbol is missing or it is older
/// than NCCL 2.4 (no async error queries). Thread-safe.
const NcclApi* load_nccl(const std::string& library, std::string& why);
/// The library NCCL is loaded from: EJIT_LIBNCCL, else libnccl.so.2.
std::string nccl_library();

/// NCCL's data type for `dtype` (bool as uint8, whose max and min are or and and).
int nccl_dtype(DType dtype);
/// NCCL's reduction for `op` on `dtype`: a bool sum is an or (max), as on MPI; a mean is a
/// sum (the caller divides, as on the host, so both paths round alike).
int nccl_op(Op op, DType dtype);
/// "NCCL 2.27.3" for 22703 (and the 2.8-era code 2803 as "NCCL 2.8.3").
std::string nccl_version_text(int code);

}  // namespace ejit::distributed::detail
