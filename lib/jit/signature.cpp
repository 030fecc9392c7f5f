#include "signature.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ejit/format.h"

namespace ejit::detail {

size_t SignatureHash::operator()(const Signature& s) const {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](uint64_t v) { h = (h ^ v) * 1099511628211ull; };
  for (const auto& t : s.types) {
    mix(static_cast<uint64_t>(t.dtype));
    for (int64_t d : t.shape) mix(static_cast<uint64_t>(d));
    mix(0xff);
  }
  for (int a : s.alias) mix(static_cast<uint64_t>(a));
  for (const Device& d : s.devices) mix(d.is_cpu() ? 0xc0 : 0x100 + static_cast<uint64_t>(d.index));
  return h;
}

Signature signature_of(const std::vector<Tensor>& args) {
  Signature s;
  for (size_t i = 0; i < args.size(); ++i) {
    s.types.push_back({args[i].shape(), args[i].dtype()});
    s.devices.push_back(args[i].device());
    int first = static_cast<int>(i);
    for (size_t j = 0; j < i; ++j)
      if (args[j].impl() == args[i].impl()) first = static_cast<int>(j), j = i;
    s.alias.push_back(first);
  }
  return s;
}

std::string str(const Signature& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.types.size(); ++i) {
    const auto& t = s.types[i];
    std::string shape = fmt::format("{}", t.shape);
    if (std::any_of(t.shape.begin(), t.shape.end(), [](int64_t d) { return d < 0; })) {  // dynamic dims print as ?
      std::vector<std::string> dims;
      for (int64_t d : t.shape) dims.push_back(d < 0 ? "?" : std::to_string(d));
      shape = fmt::format("({}{})", fmt::join(dims, ","), dims.size() == 1 ? "," : "");
    }
    fmt::format_to(std::back_inserter(out), "{}{}{}", i ? ", " : "", name(t.dtype), shape);
    if (!s.devices[i].is_cpu()) fmt::format_to(std::back_inserter(out), "@{}", s.devices[i].str());
  }
  return out + ")";
}

std::vector<std::string> differences(const Signature& cached, const Signature& now) {
  std::vector<std::string> d;
  if (cached.types.size() != now.types.size()) {
    d.push_back(fmt::format("{} arguments, cached {}", now.types.size(), cached.types.size()));
    return d;
  }
  for (size_t i = 0; i < now.types.size(); ++i) {
    const ValueType &a = cached.types[i], &b = now.types[i];
    if (a.dtype != b.dtype) d.push_back(fmt::format("arg {} dtype {} -> {}", i, name(a.dtype), name(b.dtype)));
    if (a.shape.rank() != b.shape.rank())
      d.push_back(fmt::format("arg {} rank {} -> {}: {} -> {}", i, a.shape.rank(), b.shape.rank(), a.shape, b.shape));
    else
      for (int k = 0; k < a.shape.rank(); ++k)
        if (a.shape[k] != b.shape[k]) d.push_back(fmt::format("arg {} dim {}: {} -> {}", i, k, a.shape[k], b.shape[k]));
    if (cached.devices[i] != now.devices[i])
      d.push_back(fmt::format("arg {} device {} -> {}", i, cached.devices[i].str(), now.devices[i].str()));
    if (cached.alias[i] != now.alias[i])
      d.push_back(now.alias[i] != static_cast<int>(i) ? fmt::format("arg {} is arg {} now", i, now.alias[i])
                                                      : fmt::format("arg {} is no longer arg {}", i, cached.alias[i]));
  }
  return d;
}

size_t distance(const Signature& a, const Signature& b) {
  if (a.types.size() != b.types.size()) return 1000;
  size_t n = 0;
  for (size_t i = 0; i < a.types.size(); ++i)
    if (a.types[i].shape.rank() != b.types[i].shape.rank()) n += 10;
  return n + differences(a, b).size();
}

}  // namespace ejit::detail
