// The one place that reads the environment: every variable is a row of options.def, read
// here and nowhere else. Settings that tests and tools change while a process runs
// (EJIT_CACHE_DIR, EJIT_GPU_MATMUL, CUDA_HOME) are read at each use; the others once, on
// first use.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ejit::options {

enum class Var {
#define EJIT_OPTION(id, name, doc) id,
#include "options.def"
};

/// The variable's name ("EJIT_LOG") and its one-line description.
const char* name(Var v);
const char* doc(Var v);
/// Its value now; nullopt when unset.
std::optional<std::string> get(Var v);

int num_threads();                   // EJIT_NUM_THREADS; 0 when unset or not positive
std::string isa();                   // EJIT_ISA, "" when unset
std::optional<std::string> blas();   // EJIT_BLAS
long cache_limit_mb();               // EJIT_CACHE_LIMIT_MB, default 4096, never negative
/// EJIT_DUMP names the stage (or "all").
bool dump(std::string_view stage);
bool dump_any();
/// The disk cache's root folder: $EJIT_CACHE_DIR, else $HOME/.cache/ejit; "" when off.
std::string cache_root();
std::optional<std::string> cuda_arch();  // EJIT_CUDA_ARCH when set and not empty
std::string default_device();        // EJIT_DEFAULT_DEVICE, "auto" when unset
std::optional<std::string> libcuda();    // EJIT_LIBCUDA when set and not empty
std::optional<std::string> libcublas();  // EJIT_LIBCUBLAS when set and not empty
bool cuda_sync();                    // EJIT_CUDA_SYNC=1
bool gpu_matmul_generated();         // EJIT_GPU_MATMUL=generated
std::string cuda_home();             // CUDA_HOME, default /usr/local/cuda
unsigned opt_level();                // EJIT_OPT_LEVEL 0-3, default 2
/// EJIT_LOG names the topic ("cache", "compile").
bool log(std::string_view topic);
bool codegen_matmul();               // EJIT_CODEGEN_MATMUL=1
/// EJIT_STREAMING_MB in bytes (read once); default: twice the largest cache a core sees (the
/// last level), at least 64 MiB; 0: never.
long long streaming_bytes();
bool compile_sync();                 // EJIT_COMPILE=sync
/// EJIT_DYNAMIC: unset is Auto (dims that vary become dynamic unless the user's C++ code
/// read them while recording), 0 Off, 1 On (dynamic even when C++ code read them).
enum class Dynamic { Auto, Off, On };
Dynamic dynamic_dims();
bool strict_numerics();              // EJIT_STRICT=1
std::string linker();                // EJIT_LINKER, default "cc"
double dist_timeout();               // EJIT_DIST_TIMEOUT seconds, default 300
enum class Nccl { Auto, On, Off };
Nccl nccl();                         // EJIT_NCCL auto (default), on or off
std::optional<std::string> libnccl();  // EJIT_LIBNCCL when set and not empty
std::optional<std::string> launcher_rank();  // OMPI_COMM_WORLD_RANK or PMI_RANK when set (under mpirun)
std::optional<std::string> profile_path();  // EJIT_PROFILE when set (read once)
bool check_kernels();                // EJIT_CHECK_KERNELS set

}  // namespace ejit::options
