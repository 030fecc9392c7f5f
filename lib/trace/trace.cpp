// Trace: structural hash and equality, dead-node pruning, saving.
#include <cstring>
#include <fstream>

#include "../support/check.h"
#include "../support/hash.h"
#include "ejit/host_callback.h"
#include "ejit/trace.h"
#include "subtrace.h"

namespace ejit {
namespace {

struct Hasher {
  uint64_t h = detail::kFnvOffset;
  void bytes(const void* p, size_t n) { h = detail::fnv1a(p, n, h); }
  template <class T> void pod(const T& v) { bytes(&v, sizeof v); }
  void type(const ValueType& t) {
    pod(t.dtype);
    pod(t.shape.rank());
    bytes(t.shape.data(), t.shape.rank() * sizeof(int64_t));
  }
};

/// Host calls are the same call site when their names and declared results are (two
/// recordings of one function hold different copies of its callback).
bool same_host_call(const detail::HostCall* a, const detail::HostCall* b) {
  if (!a || !b) return a == b;
  if (a->name != b->name || a->results.size() != b->results.size()) return false;
  for (size_t i = 0; i < a->results.size(); ++i)
    if (a->results[i].shape != b->results[i].shape || a->results[i].dtype != b->results[i].dtype) return false;
  return true;
}

bool same_constant(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

}  // namespace

uint64_t Trace::hash() const {
  Hasher h;
  h.pod(values.size());
  for (const ValueType& v : values) h.type(v);
  for (const TraceNode& n : nodes) {
    h.pod(n.kind), h.pod(n.sub), h.pod(n.output), h.pod(n.value);
    h.pod(n.inputs.size());
    h.bytes(n.inputs.data(), n.inputs.size() * sizeof(int));
    h.pod(n.ints.size());
    h.bytes(n.ints.data(), n.ints.size() * sizeof(int64_t));
    if (n.kind == NodeKind::Constant) h.bytes(n.constant.raw_data(), n.constant.nbytes());
    if (n.host_call) h.bytes(n.host_call->name.data(), n.host_call->name.size());
  }
  h.bytes(inputs.data(), inputs.size() * sizeof(int));
  h.pod(-1);
  h.bytes(outputs.data(), outputs.size() * sizeof(int));
  return h.h;
}

bool detail::same_node(const TraceNode& a, const TraceNode& b) {
  if (a.kind != b.kind || a.sub != b.sub || a.inputs != b.inputs || a.output != b.output || a.ints != b.ints ||
      a.value != b.value)
    return false;
  if (!same_host_call(a.host_call.get(), b.host_call.get())) return false;
  return a.kind != NodeKind::Constant || same_constant(a.constant, b.constant);
}

bool Trace::same_structure(const Trace& o) const {
  if (values != o.values || inputs != o.inputs || outputs != o.outputs || nodes.size() != o.nodes.size()) return false;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!detail::same_node(nodes[i], o.nodes[i])) return false;
  return true;
}

void Trace::prune() {
  std::vector<bool> live(values.size(), false);
  for (int o : outputs) live[o] = true;
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    if (it->kind == NodeKind::HostCall) live[it->output] = true;  // host calls run for their effects too
    if (live[it->output])
      for (int in : it->inputs) live[in] = true;
  }
  std::erase_if(nodes, [&](const TraceNode& n) { return !live[n.output]; });
}

void Trace::save(const std::string& path, std::string_view function_name) const {
  std::ofstream f(path);
  if (!f) fail("save_trace", "cannot open '{}' for writing", path);
  f << to_mlir(function_name);
  if (!f.flush()) fail("save_trace", "cannot write '{}'", path);
}

}  // namespace ejit
