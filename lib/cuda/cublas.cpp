// Loading cuBLAS and calling its strided batched GEMM.
#include "cublas.h"
#include "../support/options.h"

#include <dlfcn.h>

#include <cstdlib>
#include <limits>
#include <mutex>
#include <vector>

#include "../support/check.h"
#include "runtime.h"

namespace ejit::cuda {
namespace {

using Handle = struct cublasContext*;
using Status = int;
constexpr int kOpN = 0;

struct Cublas {
  Status (*create)(Handle*) = nullptr;
  Status (*set_stream)(Handle, CUstream) = nullptr;
  Status (*sgemm)(Handle, int, int, int, int, int, const float*, const float*, int, long long, const float*, int,
                  long long, const float*, float*, int, long long, int) = nullptr;
  Status (*dgemm)(Handle, int, int, int, int, int, const double*, const double*, int, long long, const double*, int,
                  long long, const double*, double*, int, long long, int) = nullptr;
  std::string why;
};

const Cublas& library() {
  static const Cublas c = [] {
    Cublas c;
    void* lib = nullptr;
    std::vector<std::string> names;
    if (std::optional<std::string> env = options::libcublas()) names.push_back(*env);
    for (const char* n : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"}) names.push_back(n);
    for (const std::string& n : names)
      if ((lib = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL))) break;
    if (!lib) {
      c.why = "cuBLAS (libcublas.so.13 or .12) cannot be loaded";
      return c;
    }
    c.create = reinterpret_cast<decltype(c.create)>(dlsym(lib, "cublasCreate_v2"));
    c.set_stream = reinterpret_cast<decltype(c.set_stream)>(dlsym(lib, "cublasSetStream_v2"));
    c.sgemm = reinterpret_cast<decltype(c.sgemm)>(dlsym(lib, "cublasSgemmStridedBatched"));
    c.dgemm = reinterpret_cast<decltype(c.dgemm)>(dlsym(lib, "cublasDgemmStridedBatched"));
    if (!c.create || !c.set_stream || !c.sgemm || !c.dgemm) c.why = "libcublas lacks the strided batched GEMM";
    return c;
  }();
  return c;
}

/// One handle per device, bound to ejit's stream of that device.
Handle handle(int device) {
  static std::mutex mu;
  static std::vector<Handle> handles;
  CUstream st = stream(device, "matmul");
  std::lock_guard lock(mu);
  if (handles.size() <= static_cast<size_t>(device)) handles.resize(device + 1, nullptr);
  if (!handles[device]) {
    if (Status s = library().create(&handles[device]); s != 0) fail("matmul", "cublasCreate failed (status {})", s);
    if (Status s = library().set_stream(handles[device], st); s != 0) fail("matmul", "cublasSetStream failed (status {})", s);
  }
  return handles[device];
}

}  // namespace

bool cublas_available(std::string* why) {
  const Cublas& c = library();
  if (!c.why.empty() && why) *why = c.why;
  return c.why.empty();
}

void gemm(int device, bool f64, int64_t batch, int64_t m, int64_t n, int64_t k, const void* a, int64_t stride_a,
          const void* b, int64_t stride_b, void* c, int64_t stride_c) {
  std::string why;
  if (!cublas_available(&why)) fail("matmul", "{}", why);
  // Empty products: cuBLAS rejects a leading dimension of 0, and a sum over k = 0 is 0.
  if (batch == 0 || m == 0 || n == 0) return;
  if (k == 0) {
    const size_t elem = f64 ? sizeof(double) : sizeof(float);
    if (stride_c == m * n) return zero_on_device(device, c, static_cast<size_t>(batch * m * n) * elem);
    for (int64_t i = 0; i < batch; ++i)
      zero_on_device(device, static_cast<char*>(c) + static_cast<size_t>(i * stride_c) * elem,
                     static_cast<size_t>(m * n) * elem);
    return;
  }
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  if (m > kMax || n > kMax || k > kMax || batch > kMax)
    fail("matmul", "({}, {}) x ({}, {}) exceeds cuBLAS's 32-bit sizes", m, k, k, n);
  Handle h = handle(device);
  // Row-major C = A B is column-major C^T = B^T A^T: swap the operands and m with n.
  Status s;
  if (f64) {
    const double one = 1, zero = 0;
    s = library().dgemm(h, kOpN, kOpN, n, m, k, &one, static_cast<const double*>(b), n, stride_b,
                        static_cast<const double*>(a), k, stride_a, &zero, static_cast<double*>(c), n, stride_c, batch);
  } else {
    const float one = 1, zero = 0;
    s = library().sgemm(h, kOpN, kOpN, n, m, k, &one, static_cast<const float*>(b), n, stride_b,
                        static_cast<const float*>(a), k, stride_a, &zero, static_cast<float*>(c), n, stride_c, batch);
  }
  if (s != 0) fail("matmul", "cuBLAS GEMM of ({}, {}) x ({}, {}) failed (status {})", m, k, k, n, s);
}

}  // namespace ejit::cuda
