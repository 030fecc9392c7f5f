// Dtype promotion, broadcasting and loop planning shared by the interpreter's ops.
#include "../core/host_data.h"
#include "dispatch.h"
#include "ejit/runtime.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

namespace ejit::detail {
namespace {

int category(DType t) { return t == DType::Bool ? 0 : is_integer(t) ? 1 : 2; }

}  // namespace

void check_defined(const char* op, const Tensor& t) {
  if (!t.defined()) fail(op, "an operand is an undefined tensor");
}

namespace {

/// A rank-0 weak tensor of `dtype` holding `s` converted as a cast converts it, recorded as a
/// constant. Recent ones are reused from a small per-thread table: a number in a loop
/// (y * 0.999f) is then one reference, not three allocations, and a tape that keeps the
/// operands of its ops alive keeps one tensor per distinct number. No op returns its
/// number operand, so no caller can write into a shared one; a changed value is not reused.
Tensor weak_scalar(Scalar s, DType dtype) {
  const bool from_float = s.dtype() == DType::F64;
  uint64_t bits = 0;  // the value as it is stored (zero-extended)
  switch (dtype) {
    case DType::Bool: bits = s.to_int() != 0; break;
    case DType::I64: bits = std::bit_cast<uint64_t>(s.to_int()); break;
    case DType::I32: bits = static_cast<uint32_t>(static_cast<int32_t>(s.to_int())); break;
    case DType::F32:
      bits = std::bit_cast<uint32_t>(from_float ? static_cast<float>(s.to_double()) : static_cast<float>(s.to_int()));
      break;
    default: bits = std::bit_cast<uint64_t>(from_float ? s.to_double() : static_cast<double>(s.to_int())); break;
  }
  struct Entry {
    DType dtype;
    uint64_t bits;
    Tensor t;
  };
  thread_local std::array<Entry, 16> recent;
  Entry& e = recent[(bits ^ (bits >> 23) ^ (bits >> 41) ^ static_cast<uint64_t>(dtype)) % recent.size()];
  const size_t size = itemsize(dtype);
  if (!e.t.defined() || e.dtype != dtype || e.bits != bits || std::memcmp(e.t.raw_data(), &bits, size) != 0) {
    Tensor t = Tensor::empty(Shape{}, dtype);
    std::memcpy(t.raw_data(), &bits, size);  // little-endian: the low bytes are the value
    t.impl()->weak = true;
    e = Entry{dtype, bits, std::move(t)};
  }
  Tensor t = e.t;  // an observer's own ops could replace the entry meanwhile
  record_op(NodeKind::Constant, {}, t);
  return t;
}

}  // namespace

Tensor scalar_operand(Scalar s) { return weak_scalar(s, s.dtype()); }

Tensor scalar_operand(Scalar s, const Tensor& other) {
  // With a (non-weak) float tensor a number takes the tensor's dtype in the promotion: make
  // it in that dtype at once, converted as the cast would convert it, rather than an f64 or
  // i64 constant and a cast op (a third of a scalar op's instructions, and a node in traces).
  if (!other.defined() || !is_floating(other.dtype()) || other.impl()->weak || s.dtype() == DType::Bool)
    return scalar_operand(s);
  return weak_scalar(s, other.dtype());
}

DType mixed_result_type(const Tensor& a, const Tensor& b) {
  bool wa = a.impl()->weak, wb = b.impl()->weak;
  if (wa && wb) {  // two C++ scalars: the default dtype of the higher category
    int c = std::max(category(a.dtype()), category(b.dtype()));
    return c == 2 ? kDefaultFloat : c == 1 ? DType::I64 : DType::Bool;
  }
  if (wa == wb) return promote_types(a.dtype(), b.dtype());
  DType strong = wa ? b.dtype() : a.dtype(), weak = wa ? a.dtype() : b.dtype();
  if (category(weak) <= category(strong)) return strong;
  return category(weak) == 2 ? kDefaultFloat : DType::I64;
}

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  if (a == b || b.rank() == 0) return a;
  if (a.rank() == 0) return b;
  int r = std::max(a.rank(), b.rank());
  Shape out;
  for (int i = 0; i < r; ++i) {
    int ia = i - (r - a.rank()), ib = i - (r - b.rank());
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1) fail(op, "shapes {} and {} cannot broadcast (dim {}: {} vs {})", a, b, i, da, db);
    out.push_back(da == 1 ? db : da);
  }
  return out;
}

Tensor to_dtype(const Tensor& x, DType dtype) { return x.dtype() == dtype ? x : cast(x, dtype); }

LoopPlan make_plan(const Shape& out, std::initializer_list<Shape> inputs) {
  const int r = out.rank();
  int64_t st[kMaxOperands][kMaxRank];
  auto contiguous = strides_of(out);
  std::copy(contiguous.begin(), contiguous.end(), st[0]);
  int k = 1;
  for (const Shape& in : inputs) {
    auto cs = strides_of(in);
    for (int d = 0; d < r; ++d) {
      int id = d - (r - in.rank());
      st[k][d] = (id < 0 || in[id] == 1) ? 0 : cs[id];
    }
    ++k;
  }
  const int64_t* ptrs[kMaxOperands] = {st[0], st[1], st[2], st[3]};
  return plan_from_strides(out, ptrs, k);
}

LoopPlan plan_from_strides(const Shape& shape, const int64_t* const* strides, int nops) {
  LoopPlan p;
  p.nops = nops;
  // Drop size-1 dims, then merge a dim into the previous one where every operand allows it.
  for (int d = 0; d < shape.rank(); ++d) {
    if (shape[d] == 1) continue;
    int q = p.rank;
    bool merge = q > 0;
    for (int j = 0; merge && j < nops; ++j) merge = p.strides[j][q - 1] == strides[j][d] * shape[d];
    if (merge) {
      p.shape[q - 1] *= shape[d];
      for (int j = 0; j < nops; ++j) p.strides[j][q - 1] = strides[j][d];
    } else {
      p.shape[q] = shape[d];
      for (int j = 0; j < nops; ++j) p.strides[j][q] = strides[j][d];
      ++p.rank;
    }
  }
  return p;
}

namespace {

/// A copy whose source is contiguous along dim j and whose destination is contiguous along
/// its innermost dim (a transpose): square tiles of kTile x kTile elements, so that the
/// strided side's cache lines are used whole while the tile is in L1. Element by element
/// along the innermost dim, a 4096x4096 f32 transpose took 62 ms (21x an elementwise pass),
/// 512x512 0.24 ms; in tiles 21-22 and 0.10 ms. Tiles of 32 were slower (31 ms, 0.22 ms):
/// at power-of-two strides their strided lines meet in the same cache sets.
template <class U>
bool copy_tiles(const LoopPlan& p, int j, char* dst, const char* src) {
  constexpr int64_t kTile = 16;
  const int i = p.rank - 1;
  const int64_t ni = p.shape[i], nj = p.shape[j], dj = p.strides[0][j], si = p.strides[1][i];
  int64_t outer = 1;
  for (int d = 0; d < p.rank; ++d)
    if (d != i && d != j) outer *= p.shape[d];
  const int64_t blocks = (nj + kTile - 1) / kTile;  // tasks: kTile rows of j (all of i) of one outer index
  // Too few tasks for the threads (a [1e6, 16] transposed): run_plan splits the long rows.
  if (outer * blocks < ejit::num_threads() && outer * nj * ni > kElementwiseGrain) return false;
  parallel_for(outer * blocks, std::max<int64_t>(1, kElementwiseGrain / (kTile * ni)), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      int64_t rest = t / blocks, doff = 0, soff = 0;
      for (int d = p.rank - 1; d >= 0; --d) {
        if (d == i || d == j) continue;
        const int64_t at = rest % p.shape[d];
        rest /= p.shape[d];
        doff += at * p.strides[0][d], soff += at * p.strides[1][d];
      }
      U* out = reinterpret_cast<U*>(dst) + doff;
      const U* in = reinterpret_cast<const U*>(src) + soff;
      const int64_t j0 = t % blocks * kTile, j1 = std::min(nj, j0 + kTile);
      for (int64_t i0 = 0; i0 < ni; i0 += kTile) {
        const int64_t i1 = std::min(ni, i0 + kTile);
        for (int64_t b = j0; b < j1; ++b)
          for (int64_t a = i0; a < i1; ++a) out[b * dj + a] = in[b + a * si];
      }
    }
  });
  return true;
}

/// copy_tiles when the plan is a transpose (see there) with work for every thread; false
/// otherwise.
bool copied_as_tiles(const LoopPlan& p, size_t isz, char* dst, const char* src) {
  const int i = p.rank - 1;
  if (p.rank < 2 || p.strides[0][i] != 1 || p.strides[1][i] == 1 || p.strides[1][i] == 0) return false;
  int j = -1;
  for (int d = 0; d < i; ++d)
    if (p.strides[1][d] == 1) j = d;
  if (j < 0) return false;
  if (isz == 1) return copy_tiles<uint8_t>(p, j, dst, src);
  if (isz == 4) return copy_tiles<uint32_t>(p, j, dst, src);
  if (isz == 8) return copy_tiles<uint64_t>(p, j, dst, src);
  return false;
}

}  // namespace

void strided_copy(DType dtype, const Shape& shape, char* dst, const int64_t* dst_strides, const char* src,
                  const int64_t* src_strides) {
  if (shape.numel() == 0) return;
  const int64_t* strides[2] = {dst_strides, src_strides};
  LoopPlan plan = plan_from_strides(shape, strides, 2);
  if (copied_as_tiles(plan, itemsize(dtype), dst, const_cast<char*>(src))) return;
  char* base[2] = {dst, const_cast<char*>(src)};
  const size_t isz = itemsize(dtype);
  size_t sizes[2] = {isz, isz};
  run_plan(plan, base, sizes, kElementwiseGrain, [&](char** p, const int64_t* s, int64_t n) {
    if (s[0] == 1 && s[1] == 1) return void(std::memcpy(p[0], p[1], n * isz));
    auto loop = [&](auto tag) {
      using U = decltype(tag);
      U* d = reinterpret_cast<U*>(p[0]);
      const U* x = reinterpret_cast<const U*>(p[1]);
      if (s[0] == 1 && s[1] == 0) return std::fill(d, d + n, *x);  // a broadcast element: a fill (vectorized)
      for (int64_t i = 0; i < n; ++i) d[i * s[0]] = x[i * s[1]];
    };
    by_element_size("strided_copy", dtype, loop);
  });
}

}  // namespace ejit::detail
