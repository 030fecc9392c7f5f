// matmul: NumPy rules (1-D promotion, broadcast batch dims); float GEMMs go to OpenBLAS in
// blocks on ejit's pool, integer ones to plain loops.
#include <algorithm>

#include <mutex>

#include "../core/host_data.h"
#include "blas.h"
#include "dispatch.h"
#include "matmul.h"

namespace ejit {
namespace detail {
namespace {

constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

/// C[m,n] = op(A)[m,k] @ op(B)[k,n] with leading dims lda, ldb, ldc (row-major); op
/// transposes a stored (k,m) A when ta, a stored (n,k) B when tb.
template <class T>
void gemm_block(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc,
                bool ta = false, bool tb = false) {
  const Blas& bl = blas();
  static std::mutex unsafe_blas;  // serializes calls into a BLAS that cannot take concurrent ones
  std::unique_lock<std::mutex> lock(unsafe_blas, std::defer_lock);
  if (!bl.concurrent_calls) lock.lock();
  const int op_a = ta ? kTrans : kNoTrans, op_b = tb ? kTrans : kNoTrans;
  if constexpr (std::is_same_v<T, float>) {
    if (bl.sgemm) return bl.sgemm(kRowMajor, op_a, op_b, m, n, k, 1.f, a, lda, b, ldb, 0.f, c, ldc);
  } else if constexpr (std::is_same_v<T, double>) {
    if (bl.dgemm) return bl.dgemm(kRowMajor, op_a, op_b, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, ldc);
  }
  if (ta || tb) {  // no BLAS: plain loops over the transposed layouts
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        T acc = T(0);
        for (int64_t p = 0; p < k; ++p) acc += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
        c[i * ldc + j] = acc;
      }
    return;
  }
  for (int64_t i = 0; i < m; ++i) {
    T* __restrict ci = c + i * ldc;
    std::fill(ci, ci + n, T(0));
    for (int64_t p = 0; p < k; ++p) {
      const T aip = a[i * lda + p];
      const T* __restrict bp = b + p * ldb;
      for (int64_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
    }
  }
}

/// Element offsets of each batch entry of an operand whose batch dims broadcast to `batch`.
std::vector<int64_t> batch_offsets(const Shape& batch, const Shape& operand_batch, int64_t matrix_size) {
  LoopPlan p = make_plan(batch, {operand_batch});
  std::vector<int64_t> offs;
  offs.reserve(batch.numel());
  int64_t counter[kMaxRank] = {};
  int64_t off = 0;
  for (int64_t i = 0; i < batch.numel(); ++i) {
    offs.push_back(off * matrix_size);
    for (int d = p.rank - 1; d >= 0; --d) {
      off += p.strides[1][d];
      if (++counter[d] < p.shape[d]) break;
      off -= counter[d] * p.strides[1][d];
      counter[d] = 0;
    }
  }
  return offs;
}

/// Pieces (BLAS calls over blocks of rows or columns, on the pool) to cut a product of
/// `flops` into. The cut depends on the size and the thread count only: the BLAS gives an
/// element other last bits in another block (its edge kernels), and a cut that followed the
/// pool's state (a thread polling or asleep) made one product differ from call to call, and
/// strict numerics' compiled code from the interpreter. Below 8 MFLOP one piece: waking the
/// pool costs more than it saves (a 96^3 product, 1.8 MFLOP, took 23 us on one thread and
/// 33 us when a second one had to wake; from 192^3, 14 MFLOP, two threads win either way).
/// (Running four pieces in turn on the caller, to keep the cut of a product the pool might
/// run, slowed the digits step's 1-MFLOP products: a packing each.)
int64_t matmul_pieces(double flops) {
  if (!blas().concurrent_calls || flops < 8e6) return 1;
  return 2 * pool_threads();
}

template <class T>
void run_matmul(const Tensor& a, const Tensor& b, Tensor& out, const Shape& batch, const Shape& a_batch,
                const Shape& b_batch, int64_t m, int64_t k, int64_t n) {
  const T* pa = detail::host_data<T>(a);
  const T* pb = detail::host_data<T>(b);
  T* pc = detail::host_data<T>(out);
  const int64_t nb = batch.numel();
  std::vector<int64_t> oa = batch_offsets(batch, a_batch, m * k), ob = batch_offsets(batch, b_batch, k * n);
  // Enough blocks to keep every thread busy on big products; split the longer of m and n.
  const double flops = 2.0 * nb * m * n * k;
  const int64_t want = matmul_pieces(flops);
  const bool split_rows = m >= n;
  const int64_t extent = split_rows ? m : n;
  int64_t splits = std::clamp<int64_t>((want + nb - 1) / nb, 1, std::max<int64_t>(1, extent / 16));
  int64_t block = (extent + splits - 1) / splits;
  block = (block + 15) / 16 * 16;
  splits = (extent + block - 1) / block;
  parallel_chunks(nb * splits, [&](int64_t t) {
    int64_t bi = t / splits, s = t % splits;
    int64_t lo = s * block, len = std::min(extent, lo + block) - lo;
    const T* A = pa + oa[bi];
    const T* B = pb + ob[bi];
    T* C = pc + bi * m * n;
    if (split_rows) gemm_block(len, n, k, A + lo * k, k, B, n, C + lo * n, n);
    else gemm_block(m, len, k, A, k, B + lo, n, C + lo, n);
  });
}

}  // namespace

Tensor matmul_2d(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  OpScope prof("matmul", a, b);
  const bool direct = a.rank() == 2 && b.rank() == 2 && a.dtype() == b.dtype() && is_floating(a.dtype()) &&
                      blas().concurrent_calls;
  if (!direct) {
    PauseRecording pause;
    return matmul(trans_a ? transpose(a) : a, trans_b ? transpose(b) : b);
  }
  const int64_t m = a.dim(trans_a ? 1 : 0), k = a.dim(trans_a ? 0 : 1);
  const int64_t k2 = b.dim(trans_b ? 1 : 0), n = b.dim(trans_b ? 0 : 1);
  if (k != k2) fail("matmul", "cannot multiply {}{} by {}{}: inner dims {} and {} differ", a.shape(),
                    trans_a ? "^T" : "", b.shape(), trans_b ? "^T" : "", k, k2);
  if (k == 0 || m == 0 || n == 0) {
    PauseRecording pause;
    DeviceScope on_cpu(Device::cpu());
    return zeros({m, n}, a.dtype());
  }
  Tensor out = Tensor::empty({m, n}, a.dtype());
  visit_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      const T* pa = detail::host_data<T>(a);
      const T* pb = detail::host_data<T>(b);
      T* pc = detail::host_data<T>(out);
      const int64_t lda = a.dim(1), ldb = b.dim(1);
      const int64_t want = matmul_pieces(2.0 * m * n * k);
      const bool split_rows = m >= n;
      const int64_t extent = split_rows ? m : n;
      int64_t splits = std::clamp<int64_t>(want, 1, std::max<int64_t>(1, extent / 16));
      const int64_t block = ((extent + splits - 1) / splits + 15) / 16 * 16;
      splits = (extent + block - 1) / block;
      parallel_chunks(splits, [&](int64_t s) {
        const int64_t lo = s * block, len = std::min(extent, lo + block) - lo;
        if (split_rows)  // rows lo.. of op(A): columns of a stored (k,m) A
          gemm_block(len, n, k, pa + (trans_a ? lo : lo * lda), lda, pb, ldb, pc + lo * n, n, trans_a, trans_b);
        else  // columns lo.. of op(B): rows of a stored (n,k) B
          gemm_block(m, len, k, pa, lda, pb + (trans_b ? lo * ldb : lo), ldb, pc + lo, n, trans_a, trans_b);
      });
    }
  });
  return out;
}

}  // namespace detail

using namespace detail;

Tensor matmul(const Tensor& a, const Tensor& b) {
  OpScope prof("matmul", a, b);
  check_defined("matmul", a);
  check_defined("matmul", b);
  if (a.rank() == 0 || b.rank() == 0)
    fail("matmul", "operands need at least one dim, got shapes {} and {}", a.shape(), b.shape());
  DType dt = promote_types(a.dtype(), b.dtype());
  if (dt == DType::Bool) fail("matmul", "not defined for dtype bool (shapes {} and {})", a.shape(), b.shape());
  const bool vec_a = a.rank() == 1, vec_b = b.rank() == 1;
  // 1-D operands become matrices first, so the recorded matmul always sees rank >= 2.
  Tensor a2 = to_dtype(vec_a ? reshape(a, Shape{1, a.shape()[0]}) : a, dt);
  Tensor b2 = to_dtype(vec_b ? reshape(b, Shape{b.shape()[0], 1}) : b, dt);
  std::vector<int64_t> sa = a2.shape().vec(), sb = b2.shape().vec();
  const int64_t m = sa[sa.size() - 2], k = sa.back(), k2 = sb[sb.size() - 2], n = sb.back();
  if (k != k2)
    fail("matmul", "cannot multiply {} by {}: inner dims {} and {} differ", a.shape(), b.shape(), k, k2);
  Shape a_batch(std::span<const int64_t>(sa.data(), sa.size() - 2));
  Shape b_batch(std::span<const int64_t>(sb.data(), sb.size() - 2));
  for (int i = 1; i <= std::min(a_batch.rank(), b_batch.rank()); ++i) {
    int64_t da = a_batch[a_batch.rank() - i], db = b_batch[b_batch.rank() - i];
    if (da != db && da != 1 && db != 1)
      fail("matmul", "batch dims of {} and {} cannot broadcast ({} vs {})", a.shape(), b.shape(), da, db);
  }
  Shape batch = broadcast_shapes("matmul", a_batch, b_batch);
  Shape full_shape = batch;
  full_shape.push_back(m);
  full_shape.push_back(n);
  const Device device = op_device("matmul", {&a2, &b2});
  Tensor out;
  if (device.is_cuda() && k != 0 && full_shape.numel() > 0) {
    out = run_on_device("matmul", {NodeKind::MatMul, 0, {a2, b2}, {}, false, 0, full_shape, dt}, device);
  } else {
    out = Tensor::empty(full_shape, dt, device);
    if (full_shape.numel() > 0 && k == 0) {
      PauseRecording pause;
      DeviceScope on(device);
      out = zeros(full_shape, dt);
    } else if (full_shape.numel() > 0) {
      visit_dtype(dt, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (!std::is_same_v<T, bool>) run_matmul<T>(a2, b2, out, batch, a_batch, b_batch, m, k, n);
      });
    }
    record_op(NodeKind::MatMul, {a2, b2}, out);
  }
  if (!vec_a && !vec_b) return out;
  std::vector<int64_t> final_shape = batch.vec();
  if (!vec_a) final_shape.push_back(m);
  if (!vec_b) final_shape.push_back(n);
  return reshape(out, Shape(final_shape));
}

}  // namespace ejit
