#include "gpu_reduction_plan.h"

#include <algorithm>

namespace ejit::detail {
namespace {

/// How many equal pieces a column reduction (`outputs` results, each over `len` elements)
/// is cut into so that about 64K threads work (a divisor of len; pieces of 16 or more), or 1.
int64_t column_splits(int64_t outputs, int64_t len) {
  if (outputs >= 65536 || len < 64) return 1;
  const int64_t want = std::min(len / 16, (65536 + outputs - 1) / outputs);
  for (int64_t d = want; d >= 2; --d)
    if (len % d == 0) return d;
  return 1;
}

}  // namespace

/// Merged (size, reduced) runs of a reduction's input shape, size-1 dims dropped.
std::vector<std::pair<int64_t, bool>> reduce_runs(const Shape& shape, const std::vector<int64_t>& axes) {
  std::vector<bool> mask(shape.rank(), false);
  for (int64_t a : axes) mask[a] = true;
  std::vector<std::pair<int64_t, bool>> runs;
  for (int d = 0; d < shape.rank(); ++d) {
    if (shape[d] == 1) continue;
    if (!runs.empty() && runs.back().second == mask[d]) runs.back().first *= shape[d];
    else runs.emplace_back(shape[d], mask[d]);
  }
  return runs;
}

GpuArg flat_buffer(int slot, int64_t n) {
  GpuArg a;
  a.slot = slot;
  a.sizes = {n};
  a.strides = {1};
  return a;
}

GpuArg index_arg(int64_t v) {
  GpuArg a;
  a.kind = GpuArg::Kind::I64;
  a.bits = v;
  return a;
}

bool plan_reduction_launches(const Shape& shape, const std::vector<int64_t>& axes, bool index_reduction, size_t acc_bytes,
                             const std::function<int(bool rows, bool first)>& module, GpuKernels& k, std::string& error) {
  auto runs = reduce_runs(shape, axes);
  k.num_inputs = 1, k.num_outputs = 1;
  // Every reduced dim 1 at this call (a per-call plan: x[1:] of 2 rows has 1): one rows
  // launch over runs of length 1 still writes every output.
  if (!index_reduction && std::none_of(runs.begin(), runs.end(), [](const auto& r) { return r.second; }))
    runs.emplace_back(1, true);
  if (index_reduction) {  // one run of reduced dims
    int64_t outer = 1, len = 1, inner = 1;
    bool after = false;
    for (auto [size, reduced] : runs) {
      if (reduced) len = size, after = true;
      else (after ? inner : outer) *= size;
    }
    GpuLaunch l;
    l.module = module(true, true);
    if (l.module < 0) return false;
    l.function = "reduce_arg";
    const int64_t numel = outer * inner;
    l.grid[0] = (numel + 255) / 256;
    l.block[0] = 256;
    l.args = {flat_buffer(0, shape.numel()), flat_buffer(1, numel), index_arg(len), index_arg(inner), index_arg(numel)};
    k.launches.push_back(std::move(l));
    return true;
  }
  const int64_t isz = static_cast<int64_t>(acc_bytes);
  int src = 0;
  int64_t src_numel = shape.numel();
  auto next_buffer = [&](int64_t numel, bool last) {
    if (last) return 1;
    k.temp_bytes.push_back(std::max<int64_t>(1, numel * isz));
    return 2 + static_cast<int>(k.temp_bytes.size()) - 1;
  };
  while (true) {
    int last = -1;
    for (int i = 0; i < static_cast<int>(runs.size()); ++i)
      if (runs[i].second) last = i;
    if (last < 0) break;
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < last; ++i) outer *= runs[i].first;
    for (int i = last + 1; i < static_cast<int>(runs.size()); ++i) inner *= runs[i].first;
    const int64_t len = runs[last].first;
    runs.erase(runs.begin() + last);
    bool more = false;
    for (auto& r : runs) more |= r.second;
    const int64_t numel = outer * inner;
    if (inner == 1) {
      int64_t splits = 1;
      if (outer < 1024 && len > 16384) splits = std::min<int64_t>((len + 8191) / 8192, std::max<int64_t>(1, 2048 / outer));
      const int64_t chunk = (len + splits - 1) / splits;
      auto threads = [](int64_t n) {
        int64_t t = 32;
        while (t < n && t < 256) t *= 2;
        return t;
      };
      const int m = module(true, src == 0);
      if (m < 0) return false;
      int partial_slot = splits > 1 ? next_buffer(outer * splits, false) : next_buffer(numel, !more);
      GpuLaunch l;
      l.module = m, l.function = "reduce_rows";
      l.grid[0] = outer, l.grid[1] = splits;
      l.block[0] = threads(chunk);
      l.args = {flat_buffer(src, src_numel), flat_buffer(partial_slot, splits > 1 ? outer * splits : numel),
                index_arg(len), index_arg(chunk), index_arg(splits)};
      if (splits > 65535) return error = "[gpu] a reduction split into too many blocks", false;
      k.launches.push_back(std::move(l));
      if (splits > 1) {  // the partials of each row, reduced by one block per row
        const int dst = next_buffer(numel, !more);
        GpuLaunch l2;
        const int m2 = module(true, false);
        if (m2 < 0) return false;
        l2.module = m2, l2.function = "reduce_rows";
        l2.grid[0] = outer;
        l2.block[0] = threads(splits);
        l2.args = {flat_buffer(partial_slot, outer * splits), flat_buffer(dst, numel), index_arg(splits),
                   index_arg(splits), index_arg(1)};
        k.launches.push_back(std::move(l2));
        partial_slot = dst;
      }
      src = partial_slot;
    } else {
      // A thread per output walks the reduced run. With few outputs and long runs (a bias
      // gradient: the batch summed for each of 10 features) that leaves the GPU idle: the run
      // is cut into `splits` equal pieces reduced in parallel (outer * splits * inner partials),
      // then the pieces of each output.
      const int64_t splits = column_splits(numel, len);
      auto cols = [&](int from, int64_t from_numel, int to, int64_t run, int64_t outputs, bool first) {
        const int m = module(false, first);
        if (m < 0) return false;
        GpuLaunch l;
        l.module = m, l.function = "reduce_cols";
        l.grid[0] = (outputs + 255) / 256;
        l.block[0] = 256;
        l.args = {flat_buffer(from, from_numel), flat_buffer(to, outputs), index_arg(run), index_arg(inner), index_arg(outputs)};
        k.launches.push_back(std::move(l));
        return true;
      };
      if (splits > 1) {
        const int64_t partials = numel * splits;
        const int partial_slot = next_buffer(partials, false);
        if (!cols(src, src_numel, partial_slot, len / splits, partials, src == 0)) return false;
        src = partial_slot, src_numel = partials;
      }
      const int dst = next_buffer(numel, !more);
      if (!cols(src, src_numel, dst, splits > 1 ? splits : len, numel, src == 0)) return false;
      src = dst;
    }
    src_numel = numel;
    // merge neighbouring kept runs (they are now adjacent)
    for (size_t i = 0; i + 1 < runs.size();) {
      if (!runs[i].second && !runs[i + 1].second) {
        runs[i].first *= runs[i + 1].first;
        runs.erase(runs.begin() + i + 1);
      } else {
        ++i;
      }
    }
  }
  return true;
}


void plan_take_launch(const Shape& shape, int axis, int64_t k, GpuKernels& out) {
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= shape[d];
  for (int d = axis + 1; d < shape.rank(); ++d) inner *= shape[d];
  const int64_t total = outer * k * inner;
  out.num_inputs = 2, out.num_outputs = 1;
  GpuLaunch l;
  l.function = "take";
  l.grid[0] = (total + 255) / 256;
  l.block[0] = 256;
  l.args = {flat_buffer(0, shape.numel()), flat_buffer(1, k), flat_buffer(2, total), index_arg(shape[axis]),
            index_arg(k), index_arg(inner), index_arg(total)};
  out.launches.push_back(std::move(l));
}

}  // namespace ejit::detail
