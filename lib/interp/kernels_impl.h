// Kernel bodies, included once per ISA by kernels_{generic,avx2,avx512}.cpp with
// EJIT_KERNEL_NS and EJIT_KERNEL_TABLE defined. Everything is generated from ops.def.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "../core/convert.h"
#include "kernels.h"
#include "scalar_math.h"

namespace ejit::detail::EJIT_KERNEL_NS {
namespace {

template <class T> constexpr bool is_float_v = std::is_floating_point_v<T>;
template <class T> constexpr bool is_int_v = std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>;

// ---- unary ----
template <UnaryOp Op, class T> struct UnaryFn;
#define EJIT_UNARY_OP(Name, name, Kind, expr, ...) \
  template <class T> struct UnaryFn<UnaryOp::Name, T> { static auto apply(T x) { return expr; } };
#include "ejit/ops.def"

template <UnaryOp Op, class T> void unary_loop(const void* in, void* out, int64_t n) {
  using Out = std::conditional_t<returns_bool(kind(Op)), bool, T>;
  const T* __restrict x = static_cast<const T*>(in);
  Out* __restrict y = static_cast<Out*>(out);
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<Out>(UnaryFn<Op, T>::apply(x[i]));
  if constexpr (std::is_same_v<T, float> && (Op == UnaryOp::Sin || Op == UnaryOp::Cos)) {
    for (int64_t i = 0; i < n; ++i)  // huge arguments: libm's exact range reduction
      if (std::fabs(x[i]) > vm::kTrigMaxArg) y[i] = Op == UnaryOp::Sin ? std::sin(x[i]) : std::cos(x[i]);
  }
}

template <UnaryOp Op, class T> constexpr bool unary_defined() { return takes(kind(Op), dtype_of<T>); }

// ---- binary ----
template <BinaryOp Op, class T> struct BinaryFn;
#define EJIT_BINARY_OP(Name, name, Kind, expr, ...) \
  template <class T> struct BinaryFn<BinaryOp::Name, T> { static auto apply(T a, T b) { return expr; } };
#include "ejit/ops.def"

template <BinaryOp Op, class T> void binary_loop(const void* a_, int64_t sa, const void* b_, int64_t sb, void* out,
                                                 int64_t n) {
  constexpr bool pred = returns_bool(kind(Op));
  using Out = std::conditional_t<pred, bool, T>;
  using F = BinaryFn<Op, T>;
  const T* __restrict a = static_cast<const T*>(a_);
  const T* __restrict b = static_cast<const T*>(b_);
  Out* __restrict y = static_cast<Out*>(out);
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<Out>(F::apply(a[i], b[i]));
  } else if (sa == 0 && sb == 1) {
    const T av = a[0];
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<Out>(F::apply(av, b[i]));
  } else if (sa == 1 && sb == 0) {
    const T bv = b[0];
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<Out>(F::apply(a[i], bv));
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<Out>(F::apply(a[i * sa], b[i * sb]));
  }
}

template <BinaryOp Op, class T> constexpr bool binary_defined() { return takes(kind(Op), dtype_of<T>); }

// ---- cast and where ----
template <class From, class To> void cast_loop(const void* in, void* out, int64_t n) {
  const From* __restrict x = static_cast<const From*>(in);
  To* __restrict y = static_cast<To*>(out);
  for (int64_t i = 0; i < n; ++i) y[i] = convert<To>(x[i]);
}

template <class T> void where_loop(const bool* c_, int64_t sc, const void* a_, int64_t sa, const void* b_, int64_t sb,
                                   void* out, int64_t n) {
  // As bytes, not bool, and restrict: GCC then vectorizes the select instead of branching
  // on every element (4-5 ns per element on random masks).
  const uint8_t* __restrict c = reinterpret_cast<const uint8_t*>(c_);
  const T* __restrict a = static_cast<const T*>(a_);
  const T* __restrict b = static_cast<const T*>(b_);
  T* __restrict y = static_cast<T*>(out);
  // Both values are loaded before the select, so the loops vectorize (a conditional load
  // does not); a scalar branch (where(m, x, 0.0), relu's gradient) gets its own loop.
  if (sc == 1 && sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) {
      const T av = a[i], bv = b[i];
      y[i] = c[i] ? av : bv;
    }
  } else if (sc == 1 && sa == 1 && sb == 0) {
    const T bv = b[0];
    for (int64_t i = 0; i < n; ++i) {
      const T av = a[i];
      y[i] = c[i] ? av : bv;
    }
  } else if (sc == 1 && sa == 0 && sb == 1) {
    const T av = a[0];
    for (int64_t i = 0; i < n; ++i) {
      const T bv = b[i];
      y[i] = c[i] ? av : bv;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = c[i * sc] ? a[i * sa] : b[i * sb];
  }
}

// ---- reductions ----
template <class T> using SumAcc = std::conditional_t<is_float_v<T>, T, int64_t>;

struct SumOp {
  template <class A> static A init() { return A(0); }
  template <class A> static A combine(A a, A b) { return a + b; }
};
struct ProdOp {
  template <class A> static A init() { return A(1); }
  template <class A> static A combine(A a, A b) { return a * b; }
};
struct MaxOp {
  template <class A> static A combine(A a, A b) { return k::maximum(a, b); }
};
struct MinOp {
  template <class A> static A combine(A a, A b) { return k::minimum(a, b); }
};

constexpr int kLanes = 16;     // independent accumulators: vectorizes without reassociation
constexpr int64_t kLeaf = 1024;  // pairwise summation leaf

/// Combines x[0..n) (n >= 1) into one value with kLanes accumulators, then a tree.
template <class Op, class A, class T> A lanes_reduce(const T* __restrict x, int64_t n) {
  A acc[kLanes];
  int64_t i = 0;
  if (n >= kLanes) {
    for (int j = 0; j < kLanes; ++j) acc[j] = static_cast<A>(x[j]);
    for (i = kLanes; i + kLanes <= n; i += kLanes)
      for (int j = 0; j < kLanes; ++j) acc[j] = Op::combine(acc[j], static_cast<A>(x[i + j]));
    for (int w = kLanes / 2; w > 0; w /= 2)
      for (int j = 0; j < w; ++j) acc[j] = Op::combine(acc[j], acc[j + w]);
  } else {
    acc[0] = static_cast<A>(x[0]);
    i = 1;
  }
  A r = acc[0];
  for (; i < n; ++i) r = Op::combine(r, static_cast<A>(x[i]));
  return r;
}

/// Pairwise reduction for floats (error grows with log n), lanes alone for exact types.
template <class Op, class A, class T> A row_reduce(const T* x, int64_t n) {
  if (!is_float_v<A> || n <= kLeaf) return lanes_reduce<Op, A>(x, n);
  int64_t half = (n / 2) / kLanes * kLanes;
  return Op::combine(row_reduce<Op, A>(x, half), row_reduce<Op, A>(x + half, n - half));
}

template <bool IsMax, class T> int64_t arg_row(const T* x, int64_t n, int64_t stride) {
  T best = x[0];
  int64_t idx = 0;
  if constexpr (is_float_v<T>)
    if (best != best) return 0;
  for (int64_t i = 1; i < n; ++i) {
    T v = x[i * stride];
    if constexpr (is_float_v<T>)
      if (v != v) return i;
    if (IsMax ? v > best : v < best) best = v, idx = i;
  }
  return idx;
}

template <class Op, class A, class T>
void reduce_generic(const void* in, int64_t outer, int64_t len, int64_t inner, void* out) {
  const T* x = static_cast<const T*>(in);
  A* y = static_cast<A*>(out);
  if (inner == 1) {
    for (int64_t o = 0; o < outer; ++o) y[o] = row_reduce<Op, A>(x + o * len, len);
    return;
  }
  // Column reduction: vectorize across `inner`; floats sum in blocks of rows (two-level).
  constexpr int64_t kTile = 256, kBlock = 128;
  for (int64_t o = 0; o < outer; ++o) {
    const T* xo = x + o * len * inner;
    for (int64_t j0 = 0; j0 < inner; j0 += kTile) {
      int64_t w = std::min(kTile, inner - j0);
      A total[kTile], part[kTile];
      for (int64_t j = 0; j < w; ++j) total[j] = static_cast<A>(xo[j0 + j]);
      for (int64_t r0 = 1; r0 < len; r0 += kBlock) {
        int64_t r1 = std::min(len, r0 + kBlock);
        for (int64_t j = 0; j < w; ++j) part[j] = static_cast<A>(xo[r0 * inner + j0 + j]);
        for (int64_t r = r0 + 1; r < r1; ++r) {
          const T* __restrict row = xo + r * inner + j0;
          for (int64_t j = 0; j < w; ++j) part[j] = Op::combine(part[j], static_cast<A>(row[j]));
        }
        for (int64_t j = 0; j < w; ++j) total[j] = Op::combine(total[j], part[j]);
      }
      std::copy(total, total + w, y + o * inner + j0);
    }
  }
}

template <bool IsMax, class T> void arg_reduce(const void* in, int64_t outer, int64_t len, int64_t inner, void* out) {
  const T* x = static_cast<const T*>(in);
  int64_t* y = static_cast<int64_t*>(out);
  if (inner == 1) {
    for (int64_t o = 0; o < outer; ++o) y[o] = arg_row<IsMax>(x + o * len, len, 1);
    return;
  }
  // Columns: a tile of them at a time, row by row (contiguous, vectorized), as
  // reduce_generic; walking each column down its stride took 20x longer. A column's NaN,
  // once its best, stays: the first NaN wins, as in arg_row.
  constexpr int64_t kTile = 256;
  for (int64_t o = 0; o < outer; ++o) {
    const T* xo = x + o * len * inner;
    for (int64_t j0 = 0; j0 < inner; j0 += kTile) {
      const int64_t w = std::min(kTile, inner - j0);
      T best[kTile];
      int64_t idx[kTile];
      for (int64_t j = 0; j < w; ++j) best[j] = xo[j0 + j], idx[j] = 0;
      for (int64_t r = 1; r < len; ++r) {
        const T* __restrict row = xo + r * inner + j0;
        for (int64_t j = 0; j < w; ++j) {
          const T v = row[j], b = best[j];
          bool take = IsMax ? v > b : v < b;
          if constexpr (is_float_v<T>) take = b == b && (take || v != v);
          best[j] = take ? v : b;
          idx[j] = take ? r : idx[j];
        }
      }
      std::copy(idx, idx + w, y + o * inner + j0);
    }
  }
}

template <class T> constexpr ReduceKernel reduce_kernel(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return reduce_generic<SumOp, SumAcc<T>, T>;
    case ReduceOp::Prod: return reduce_generic<ProdOp, SumAcc<T>, T>;
    case ReduceOp::Max: return reduce_generic<MaxOp, T, T>;
    case ReduceOp::Min: return reduce_generic<MinOp, T, T>;
    case ReduceOp::ArgMax: return arg_reduce<true, T>;
    case ReduceOp::ArgMin: return arg_reduce<false, T>;
  }
  return nullptr;
}

// ---- the table ----
template <class F> constexpr void for_each_dtype(F&& f) {
  f(bool{}), f(int32_t{}), f(int64_t{}), f(float{}), f(double{});
}

KernelTable make_table() {
  KernelTable t{};
  t.isa = EJIT_KERNEL_ISA_NAME;
  for_each_dtype([&](auto v) {
    using T = decltype(v);
    constexpr int d = static_cast<int>(dtype_of<T>);
#define EJIT_UNARY_OP(Name, name, Kind, expr, ...) \
    if constexpr (unary_defined<UnaryOp::Name, T>()) t.unary[int(UnaryOp::Name)][d] = unary_loop<UnaryOp::Name, T>;
#define EJIT_BINARY_OP(Name, name, Kind, expr, ...) \
    if constexpr (binary_defined<BinaryOp::Name, T>()) t.binary[int(BinaryOp::Name)][d] = binary_loop<BinaryOp::Name, T>;
#include "ejit/ops.def"
    for_each_dtype([&](auto to) { t.cast[d][int(dtype_of<decltype(to)>)] = cast_loop<T, decltype(to)>; });
    t.where[d] = where_loop<T>;
    for (int r = 0; r < kNumReduceOps; ++r) t.reduce[r][d] = reduce_kernel<T>(static_cast<ReduceOp>(r));
  });
  return t;
}

}  // namespace

const KernelTable& EJIT_KERNEL_TABLE() {
  static const KernelTable table = make_table();
  return table;
}

}  // namespace ejit::detail::EJIT_KERNEL_NS

namespace ejit::detail {
const KernelTable& EJIT_KERNEL_TABLE() { return EJIT_KERNEL_NS::EJIT_KERNEL_TABLE(); }
}  // namespace ejit::detail
