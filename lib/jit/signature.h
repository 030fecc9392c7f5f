// A jitted function's cache key (argument types, devices and aliasing), its text for logs,
// and what separates two keys: the reasons given for a recompile.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ejit/device.h"
#include "ejit/tensor.h"
#include "ejit/trace.h"

namespace ejit::detail {

/// Argument shapes, dtypes, devices and aliasing (f(a, a) records differently from f(a, b)).
struct Signature {
  std::vector<ValueType> types;
  std::vector<Device> devices;
  std::vector<int> alias;  // index of the first argument with the same tensor
  bool operator==(const Signature&) const = default;
};

struct SignatureHash {
  size_t operator()(const Signature& s) const;
};

Signature signature_of(const std::vector<Tensor>& args);
/// "(f32(100,), i64()@cuda:0)".
std::string str(const Signature& s);
/// What changed from `cached` to `now`, one entry per difference ("arg 0 dim 1: 100 -> 101",
/// "arg 1 dtype f32 -> f64", "arg 2 is arg 0 now"); empty when they are equal.
std::vector<std::string> differences(const Signature& cached, const Signature& now);
/// How far apart two signatures are (the number of differences, argument-count and rank
/// changes weighing more): the nearest cached signature explains a miss best.
size_t distance(const Signature& a, const Signature& b);

}  // namespace ejit::detail
