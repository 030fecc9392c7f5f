#include "gpu_plan.h"

#include <sstream>

#include <fmt/format.h>

namespace ejit::detail {

std::string serialize(const GpuKernels& k) {
  std::string s = fmt::format("ejit-gpu-kernels 1\nio {} {}\ntemps {}", k.num_inputs, k.num_outputs, k.temp_bytes.size());
  for (size_t b : k.temp_bytes) s += fmt::format(" {}", b);
  s += fmt::format("\nptx {}\n", k.ptx.size());
  for (const std::string& p : k.ptx) s += fmt::format("{}\n{}\n", p.size(), p);
  s += fmt::format("launches {}\n", k.launches.size());
  for (const GpuLaunch& l : k.launches) {
    s += fmt::format("launch {} {} {} {} {} {} {} {} {}\n", l.module, l.function, l.grid[0], l.grid[1], l.grid[2],
                     l.block[0], l.block[1], l.block[2], l.args.size());
    for (const GpuArg& a : l.args) {
      s += fmt::format("arg {} {} {} {} {}", static_cast<int>(a.kind), a.slot, a.offset, a.bits, a.sizes.size());
      for (int64_t v : a.sizes) s += fmt::format(" {}", v);
      for (int64_t v : a.strides) s += fmt::format(" {}", v);
      s += "\n";
    }
  }
  return s;
}

namespace {

bool parse(const std::string& text, GpuKernels& k) {
  std::istringstream in(text);
  std::string word;
  int version = 0;
  size_t n = 0;
  if (!(in >> word >> version) || word != "ejit-gpu-kernels" || version != 1) return false;
  if (!(in >> word >> k.num_inputs >> k.num_outputs) || word != "io") return false;
  if (!(in >> word >> n) || word != "temps") return false;
  if (n > text.size()) return false;  // every count below is bounded by the text's length
  k.temp_bytes.resize(n);
  for (size_t& b : k.temp_bytes)
    if (!(in >> b)) return false;
  if (!(in >> word >> n) || word != "ptx" || n > text.size()) return false;
  k.ptx.resize(n);
  for (std::string& p : k.ptx) {
    size_t len = 0;
    if (!(in >> len) || in.get() != '\n' || len > text.size()) return false;
    p.resize(len);
    if (!in.read(p.data(), static_cast<std::streamsize>(len))) return false;
  }
  if (!(in >> word >> n) || word != "launches" || n > text.size() / 16) return false;  // a launch line takes more
  k.launches.resize(n);
  for (GpuLaunch& l : k.launches) {
    size_t args = 0;
    if (!(in >> word >> l.module >> l.function >> l.grid[0] >> l.grid[1] >> l.grid[2] >> l.block[0] >> l.block[1] >>
          l.block[2] >> args) || word != "launch" || args > text.size() / 8 || l.module < 0 || static_cast<size_t>(l.module) >= k.ptx.size())
      return false;
    l.args.resize(args);
    for (GpuArg& a : l.args) {
      int kind = 0;
      size_t rank = 0;
      if (!(in >> word >> kind >> a.slot >> a.offset >> a.bits >> rank) || word != "arg" || kind < 0 || kind > 4 || rank > 64)
        return false;
      a.kind = static_cast<GpuArg::Kind>(kind);
      a.sizes.resize(rank), a.strides.resize(rank);
      for (int64_t& v : a.sizes) if (!(in >> v)) return false;
      for (int64_t& v : a.strides) if (!(in >> v)) return false;
    }
  }
  return true;
}

}  // namespace

bool deserialize(const std::string& text, GpuKernels& k) {
  try {
    return parse(text, k);
  } catch (const std::exception&) {  // out of memory for a forged count: a malformed text
    return false;
  }
}

}  // namespace ejit::detail
