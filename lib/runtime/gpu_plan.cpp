#include "gpu_plan.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "ejit/error.h"

namespace ejit::detail {

std::string serialize(const GpuKernels& k) {
  std::string s = fmt::format("ejit-gpu-kernels 2\nio {} {}\ntemps {}", k.num_inputs, k.num_outputs, k.temp_bytes.size());
  for (int64_t b : k.temp_bytes) s += fmt::format(" {}", b);
  s += fmt::format("\nindex {}", k.index_ops.size());
  for (const GpuIndexOp& op : k.index_ops) s += fmt::format(" {} {} {}", static_cast<int>(op.kind), op.a, op.b);
  s += fmt::format("\nptx {}\n", k.ptx.size());
  for (const std::string& p : k.ptx) s += fmt::format("{}\n{}\n", p.size(), p);
  s += fmt::format("launches {}\n", k.launches.size());
  for (const GpuLaunch& l : k.launches) {
    s += fmt::format("launch {} {} {} {} {} {} {} {} {}\n", l.module, l.function, l.grid[0], l.grid[1], l.grid[2],
                     l.block[0], l.block[1], l.block[2], l.args.size());
    for (const GpuArg& a : l.args) {
      s += fmt::format("arg {} {} {} {} {} {}", static_cast<int>(a.kind), a.slot, a.offset, a.bits, a.index, a.sizes.size());
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
  if (!(in >> word >> version) || word != "ejit-gpu-kernels" || version != 2) return false;
  if (!(in >> word >> k.num_inputs >> k.num_outputs) || word != "io") return false;
  if (!(in >> word >> n) || word != "temps") return false;
  if (n > text.size()) return false;  // every count below is bounded by the text's length
  k.temp_bytes.resize(n);
  for (int64_t& b : k.temp_bytes)
    if (!(in >> b)) return false;
  if (!(in >> word >> n) || word != "index" || n > text.size()) return false;
  k.index_ops.resize(n);
  for (GpuIndexOp& op : k.index_ops) {
    int kind = 0;
    if (!(in >> kind >> op.a >> op.b) || kind < 0 || kind > static_cast<int>(GpuIndexOp::Kind::Max)) return false;
    op.kind = static_cast<GpuIndexOp::Kind>(kind);
  }
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
      if (!(in >> word >> kind >> a.slot >> a.offset >> a.bits >> a.index >> rank) || word != "arg" || kind < 0 || kind > 4 ||
          rank > 64)
        return false;
      a.kind = static_cast<GpuArg::Kind>(kind);
      a.sizes.resize(rank), a.strides.resize(rank);
      for (int64_t& v : a.sizes) if (!(in >> v)) return false;
      for (int64_t& v : a.strides) if (!(in >> v)) return false;
    }
  }
  return check_index_ops(k).empty();
}

}  // namespace

std::string check_index_ops(const GpuKernels& k) {
  using K = GpuIndexOp::Kind;
  const int64_t ops = static_cast<int64_t>(k.index_ops.size()), fixed = k.num_inputs + k.num_outputs;
  for (int64_t i = 0; i < ops; ++i) {
    const GpuIndexOp& op = k.index_ops[static_cast<size_t>(i)];
    if (op.kind == K::Dim ? op.a < 0 || op.a >= fixed || op.b < 0 || op.b >= kMaxRank
                          : op.kind != K::Const && (op.a < 0 || op.a >= i || op.b < 0 || op.b >= i))
      return fmt::format("index op {} reads what it cannot", i);
  }
  auto bad = [&](int64_t n) { return n < 0 && -(n + 1) >= ops; };
  for (int64_t b : k.temp_bytes)
    if (bad(b)) return "a temporary's size is no index op";
  for (const GpuLaunch& l : k.launches) {
    for (int d = 0; d < 3; ++d)
      if (bad(l.grid[d]) || bad(l.block[d])) return "a launch's grid is no index op";
    for (const GpuArg& a : l.args) {
      if (a.index < -1 || a.index >= ops || (a.index >= 0 && a.kind != GpuArg::Kind::I64 && a.kind != GpuArg::Kind::I32))
        return "a kernel argument is no index op";
      if (bad(a.offset) || std::any_of(a.sizes.begin(), a.sizes.end(), bad) || std::any_of(a.strides.begin(), a.strides.end(), bad))
        return "a buffer's size is no index op";
    }
  }
  return "";
}

std::vector<int64_t> evaluate_index_ops(const GpuKernels& k, const std::vector<Shape>& shapes) {
  using K = GpuIndexOp::Kind;
  std::vector<int64_t> v(k.index_ops.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const GpuIndexOp& op = k.index_ops[i];
    auto fail_op = [&](const char* why) {
      throw Error(fmt::format("[jit] a GPU launch plan's size {} cannot be computed: {}", i, why));
    };
    if (op.kind == K::Const) {
      v[i] = op.a;
      continue;
    }
    if (op.kind == K::Dim) {
      if (static_cast<size_t>(op.a) >= shapes.size() || op.b >= shapes[static_cast<size_t>(op.a)].rank())
        fail_op("a dim the buffer does not have");
      v[i] = shapes[static_cast<size_t>(op.a)][static_cast<int>(op.b)];
      continue;
    }
    const int64_t x = v[static_cast<size_t>(op.a)], y = v[static_cast<size_t>(op.b)];
    if ((op.kind == K::FloorDiv || op.kind == K::CeilDiv || op.kind == K::Rem) && y == 0) fail_op("a division by zero");
    switch (op.kind) {
      case K::Add: v[i] = x + y; break;
      case K::Sub: v[i] = x - y; break;
      case K::Mul: v[i] = x * y; break;
      case K::FloorDiv: v[i] = x / y - ((x % y != 0) && ((x < 0) != (y < 0))); break;
      case K::CeilDiv: v[i] = x / y + ((x % y != 0) && ((x < 0) == (y < 0))); break;
      case K::Rem: v[i] = x % y; break;
      case K::Min: v[i] = std::min(x, y); break;
      case K::Max: v[i] = std::max(x, y); break;
      default: fail_op("an unknown op");
    }
  }
  return v;
}

bool deserialize(const std::string& text, GpuKernels& k) {
  try {
    return parse(text, k);
  } catch (const std::exception&) {  // out of memory for a forged count: a malformed text
    return false;
  }
}

}  // namespace ejit::detail
