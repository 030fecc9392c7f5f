// Element types, their sizes and names, and NumPy/PyTorch-style type promotion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ejit {

/// Element type of a tensor. The order is the promotion lattice: bool < i32 < i64 < f32 < f64.
enum class DType : uint8_t { Bool, I32, I64, F32, F64 };

inline constexpr int kNumDTypes = 5;

/// Bytes per element.
namespace dtype_tables {  // at namespace scope: not rebuilt at each run-time call
inline constexpr size_t kSizes[] = {1, 4, 8, 4, 8};
inline constexpr std::string_view kNames[] = {"bool", "i32", "i64", "f32", "f64"};
}  // namespace dtype_tables

constexpr size_t itemsize(DType t) { return dtype_tables::kSizes[static_cast<int>(t)]; }

/// Short name: "bool", "i32", "i64", "f32", "f64".
constexpr std::string_view name(DType t) { return dtype_tables::kNames[static_cast<int>(t)]; }

constexpr bool is_floating(DType t) { return t == DType::F32 || t == DType::F64; }
constexpr bool is_integer(DType t) { return t == DType::I32 || t == DType::I64; }

/// The dtype both operands convert to (i64 with f32 gives f32, as in PyTorch).
constexpr DType promote_types(DType a, DType b) { return a < b ? b : a; }

/// The dtype used for floating results of integer inputs (true division, exp, mean...).
inline constexpr DType kDefaultFloat = DType::F32;

template <class T> struct DTypeOf;
template <> struct DTypeOf<bool> { static constexpr DType value = DType::Bool; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::I32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::I64; };
template <> struct DTypeOf<float> { static constexpr DType value = DType::F32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::F64; };

/// The DType of a C++ element type: dtype_of<float> == DType::F32.
template <class T> inline constexpr DType dtype_of = DTypeOf<T>::value;

}  // namespace ejit
