// Pieces of a trace as traces of their own (compiled steps, GPU groups).
#include "subtrace.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "dynamic_dims.h"

namespace ejit::detail {

std::vector<int> producers(const Trace& t) {
  std::vector<int> producer(t.values.size(), -1);
  for (size_t k = 0; k < t.nodes.size(); ++k) producer[t.nodes[k].output] = static_cast<int>(k);
  return producer;
}

TraceUses::TraceUses(const Trace& t) : producer(producers(t)), consumers(t.values.size()), is_output(t.values.size(), 0) {
  for (size_t k = 0; k < t.nodes.size(); ++k)
    for (int v : t.nodes[k].inputs) consumers[v].push_back(static_cast<int>(k));
  for (int v : t.outputs) is_output[v] = 1;
}

Trace extract_subtrace(const Trace& t, const std::vector<int>& nodes, const TraceUses& uses,
                       const std::function<bool(const TraceNode&, const ValueType&)>& inline_constant, std::vector<int>& inputs,
                       std::vector<int>& outputs, const std::vector<int>& also_outputs) {
  const auto& [producer, consumers, is_output] = uses;
  Trace sub;
  std::unordered_map<int, int> local;
  std::set<int> members(nodes.begin(), nodes.end());
  auto new_value = [&](int v) {
    int id = static_cast<int>(sub.values.size());
    sub.values.push_back(t.values[v]);
    local[v] = id;
    return id;
  };
  auto local_of = [&](int v) {
    if (auto it = local.find(v); it != local.end()) return it->second;
    const int p = producer[v];
    if (p >= 0 && t.nodes[p].kind == NodeKind::Constant && inline_constant(t.nodes[p], t.values[v])) {
      TraceNode c = t.nodes[p];
      c.output = new_value(v);
      sub.nodes.push_back(std::move(c));
      return local[v];
    }
    const int id = new_value(v);
    sub.inputs.push_back(id);
    inputs.push_back(v);
    return id;
  };
  for (int k : nodes) {
    TraceNode n = t.nodes[k];
    for (int& v : n.inputs) v = local_of(v);
    n.output = new_value(t.nodes[k].output);
    sub.nodes.push_back(std::move(n));
  }
  for (int k : nodes) {
    const int v = t.nodes[k].output;
    bool used_outside = is_output[v] != 0 || std::find(also_outputs.begin(), also_outputs.end(), v) != also_outputs.end();
    for (int c : consumers[v]) used_outside |= members.count(c) == 0;
    if (!used_outside) continue;
    sub.outputs.push_back(local[v]);
    outputs.push_back(v);
  }
  return sub;
}

IndexOrigin index_origin(const Trace& t, const std::vector<int>& producer, const TraceNode& n, int* source) {
  int v = n.inputs.at(1);
  while (producer[v] >= 0 && t.nodes[producer[v]].kind == NodeKind::Reshape) v = t.nodes[producer[v]].inputs[0];
  if (source) *source = v;
  if (std::find(t.inputs.begin(), t.inputs.end(), v) != t.inputs.end()) return IndexOrigin::Input;
  if (producer[v] < 0) return IndexOrigin::Unchecked;
  const TraceNode& c = t.nodes[producer[v]];
  const Shape& x = t.values[n.inputs[0]].shape;
  const int64_t axis = n.ints.empty() ? -1 : n.ints[0];
  if (c.kind != NodeKind::Constant || is_size_constant(c) || !c.constant.defined() || axis < 0 || axis >= x.rank() ||
      !is_integer(c.constant.dtype()))
    return IndexOrigin::Unchecked;
  if (x[axis] < 0) return IndexOrigin::ConstantPerCall;
  const int64_t size = x[axis];
  for (int64_t i : c.constant.to_vector<int64_t>())
    if (i < -size || i >= size) return IndexOrigin::Unchecked;
  return IndexOrigin::Constant;
}

}  // namespace ejit::detail
