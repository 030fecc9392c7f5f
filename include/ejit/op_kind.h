// Enums generated from the op table (ops.def): one enumerator per elementwise op and per
// reduction.
#pragma once

#include <cstdint>
#include <string_view>

#include "ejit/dtype.h"

namespace ejit {

/// The kind of a primitive op, as ops report themselves to recorders and tapes and as trace
/// nodes record them (composites such as softmax arrive as their parts). `sub` beside it
/// picks the UnaryOp, BinaryOp or ReduceOp.
enum class NodeKind : uint8_t {
  Constant, Unary, Binary, Cast, Where, Reduce, MatMul, Reshape, Permute, BroadcastTo, Slice, Concat, Pad, Take, Gather,
  HostCall,  // one result of a host_callback call (ints: {result index}); runs on the host
  IndexAdd,  // x with the slices of updates added at indices along an axis (ints: {axis}); a scatter on the host
  ScatterAdd // x with each element of updates added where gather would read it (ints: {axis}); on the host
};
inline constexpr int kNumNodeKinds = static_cast<int>(NodeKind::ScatterAdd) + 1;

/// How a unary op treats dtypes (see ops.def).
/// How a recorded slice's bounds were given (its fourth int): what tells x[1:] (its length
/// follows the size) from x[1:100] (a fixed stop, clamped at small sizes) when jit()
/// generalizes over sizes.
enum SliceBounds : int64_t {
  kSliceStopFromEnd = 1,  // the stop was missing or negative: counted from the dim's end
  kSliceClamped = 2,      // a given start or stop lay outside the dim and was clamped
};

enum class UnaryKind : uint8_t { Float, Numeric, Predicate };
/// How a binary op treats dtypes (see ops.def).
enum class BinaryKind : uint8_t { Arith, ArithNoBool, Div, Compare, Logical };
/// What a reduction gives (see ops.def).
enum class ReduceKind : uint8_t { Accumulate, Keep, Index };

/// The dtype rules of the kinds, in one place (the interpreter's kernels, the dialect's
/// verifiers and folders, and the compiled code all read these; the ODS classes in
/// EjitOps.td spell the same sets for the verifier's messages): whether an op of the kind
/// computes in dtype t, and whether its result is bool.
constexpr bool takes(UnaryKind k, DType t) {
  switch (k) {
    case UnaryKind::Float: return is_floating(t);
    case UnaryKind::Numeric: return t != DType::Bool;
    case UnaryKind::Predicate: return true;
  }
  return false;
}
constexpr bool returns_bool(UnaryKind k) { return k == UnaryKind::Predicate; }
constexpr bool takes(BinaryKind k, DType t) {
  switch (k) {
    case BinaryKind::Arith: return true;
    case BinaryKind::ArithNoBool: return t != DType::Bool;
    case BinaryKind::Div: return is_floating(t);
    case BinaryKind::Compare: return true;
    case BinaryKind::Logical: return t == DType::Bool;
  }
  return false;
}
constexpr bool returns_bool(BinaryKind k) { return k == BinaryKind::Compare || k == BinaryKind::Logical; }

enum class UnaryOp : uint8_t {
#define EJIT_UNARY_OP(Name, name, Kind, expr, ...) Name,
#include "ejit/ops.def"
};
enum class BinaryOp : uint8_t {
#define EJIT_BINARY_OP(Name, name, Kind, expr, ...) Name,
#include "ejit/ops.def"
};

enum class ReduceOp : uint8_t {
#define EJIT_REDUCE_OP(Name, name, Kind) Name,
#include "ejit/ops.def"
};

inline constexpr int kNumUnaryOps = 0
#define EJIT_UNARY_OP(Name, name, Kind, expr, ...) +1
#include "ejit/ops.def"
    ;
inline constexpr int kNumBinaryOps = 0
#define EJIT_BINARY_OP(Name, name, Kind, expr, ...) +1
#include "ejit/ops.def"
    ;
inline constexpr int kNumReduceOps = 0
#define EJIT_REDUCE_OP(Name, name, Kind) +1
#include "ejit/ops.def"
    ;

/// The op's public name ("exp").
// The tables behind name() and kind(), at namespace scope: a constexpr array local to a
// function is built on the stack at each run-time call (about 60 instructions per eager op).
namespace op_tables {
inline constexpr std::string_view kUnaryNames[] = {
#define EJIT_UNARY_OP(Name, name, Kind, expr, ...) #name,
#include "ejit/ops.def"
};
inline constexpr std::string_view kBinaryNames[] = {
#define EJIT_BINARY_OP(Name, name, Kind, expr, ...) #name,
#include "ejit/ops.def"
};
inline constexpr std::string_view kReduceNames[] = {
#define EJIT_REDUCE_OP(Name, name, Kind) #name,
#include "ejit/ops.def"
};
inline constexpr UnaryKind kUnaryKinds[] = {
#define EJIT_UNARY_OP(Name, name, Kind, expr, ...) UnaryKind::Kind,
#include "ejit/ops.def"
};
inline constexpr BinaryKind kBinaryKinds[] = {
#define EJIT_BINARY_OP(Name, name, Kind, expr, ...) BinaryKind::Kind,
#include "ejit/ops.def"
};
inline constexpr ReduceKind kReduceKinds[] = {
#define EJIT_REDUCE_OP(Name, name, Kind) ReduceKind::Kind,
#include "ejit/ops.def"
};
}  // namespace op_tables

constexpr std::string_view name(UnaryOp op) { return op_tables::kUnaryNames[static_cast<int>(op)]; }
constexpr std::string_view name(BinaryOp op) { return op_tables::kBinaryNames[static_cast<int>(op)]; }
constexpr std::string_view name(ReduceOp op) { return op_tables::kReduceNames[static_cast<int>(op)]; }
constexpr UnaryKind kind(UnaryOp op) { return op_tables::kUnaryKinds[static_cast<int>(op)]; }
constexpr BinaryKind kind(BinaryOp op) { return op_tables::kBinaryKinds[static_cast<int>(op)]; }
constexpr ReduceKind kind(ReduceOp op) { return op_tables::kReduceKinds[static_cast<int>(op)]; }

}  // namespace ejit
