#include "guard_tree.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>

#include "../core/host_data.h"
#include "../trace/subtrace.h"
#include "compile.h"

namespace ejit::detail {

size_t GuardNode::code_bytes() const {
  size_t n = executable ? executable->code_bytes() : 0;
  for (const auto& [bytes, next] : branches) n += next ? next->code_bytes() : 0;
  return n;
}

TreeWalk run_tree(GuardNode& root, const std::vector<Tensor>& args, std::mutex& mu) {
  TreeWalk walk;
  std::vector<Tensor> v;
  GuardNode* node = &root;
  std::vector<Tensor> in;
  while (true) {
    if (v.size() < node->values) v.resize(node->values);
    for (const auto& [id, binding] : node->binds) v[id] = binding.value(args);
    if (!node->segment.nodes.empty()) {
      in.clear();
      for (int id : node->inputs) in.push_back(v[id]);
      std::vector<Tensor> out = node->executable ? node->executable->run(in) : eval_trace(node->segment, in);
      for (size_t i = 0; i < out.size(); ++i) v[node->outputs[i]] = std::move(out[i]);
    }
    if (node->guard < 0) break;
    std::string read = host_bytes(v[node->guard]);
    std::lock_guard lock(mu);
    GuardNode* next = nullptr;
    bool found = false;
    for (const auto& [bytes, branch] : node->branches)
      if (bytes == read) next = branch.get(), found = true;
    if (!next) {
      walk.missed = node;
      walk.read = std::move(read);
      walk.compiling = found;
      return walk;
    }
    node = next;
  }
  std::vector<Tensor> out;
  for (int id : node->final_outputs) out.push_back(v[id]);
  for (size_t i = 0; i < node->assigned.size(); ++i) Variable(node->assigned[i]).assign(out[node->user_outputs + i]);
  out.resize(node->user_outputs);
  walk.outputs = std::move(out);
  return walk;
}

std::shared_ptr<GuardNode> build_path(const GuardedRecording& rec, size_t from, const std::vector<const GuardNode*>& path,
                                      const CompileOptions& options, std::string& error, double& compile_ms) {
  const Trace& t = rec.trace;
  const std::vector<TraceGuard>& guards = rec.guards;
  if (guards.size() < from) {
    error = fmt::format("the function read {} values on the host where it read {} before", guards.size(), from);
    return nullptr;
  }
  Trace with_guards = t;  // guarded values are read after their segment: outputs of it
  for (const TraceGuard& g : guards) with_guards.outputs.push_back(g.value);
  const TraceUses uses(with_guards);
  std::vector<std::vector<int>> nodes(guards.size() + 1);
  for (size_t k = 0; k < t.nodes.size(); ++k) {
    size_t segment = 0;
    while (segment < guards.size() && guards[segment].position <= t.nodes[k].output) ++segment;
    nodes[segment].push_back(static_cast<int>(k));
  }
  std::vector<int> input_index(t.values.size(), -1);
  for (size_t i = 0; i < t.inputs.size(); ++i) input_index[t.inputs[i]] = static_cast<int>(i);
  std::shared_ptr<GuardNode> first, last;
  std::vector<GuardNode*> fresh;  // new segments with ops: compiled together below
  size_t ops_before = 0;
  for (size_t s = 0; s <= guards.size(); ++s) {
    ops_before += nodes[s].size();
    auto node = std::make_shared<GuardNode>();
    node->segment = extract_subtrace(with_guards, nodes[s], uses, [](const TraceNode&, const ValueType&) { return true; }, node->inputs,
                                     node->outputs);
    if (s < guards.size()) {
      node->guard = guards[s].value;
      node->depth = s;
      node->guard_dtype = t.values[guards[s].value].dtype;
      node->guard_text = fmt::format("{} after {} ops", guards[s].how, ops_before);
    } else {
      node->final_outputs = t.outputs;
      node->assigned = rec.assigned;
      node->user_outputs = rec.user_outputs;
    }
    if (s < from) {  // already in the tree: the recording must have made the same ops
      const GuardNode& old = *path[s];
      if (!node->segment.same_structure(old.segment) || node->inputs != old.inputs || node->outputs != old.outputs ||
          node->guard != old.guard) {
        error = fmt::format("the function made other ops before its host read {} ({}) than when it was recorded first",
                            s, old.guard_text);
        return nullptr;
      }
      continue;
    }
    std::vector<int> reads = node->inputs;
    if (node->guard >= 0) reads.push_back(node->guard);
    reads.insert(reads.end(), node->final_outputs.begin(), node->final_outputs.end());
    for (int v : reads)
      if (input_index[v] >= 0 && std::none_of(node->binds.begin(), node->binds.end(), [&](auto& b) { return b.first == v; }))
        node->binds.emplace_back(v, rec.bindings[input_index[v]]);
    node->values = t.values.size();
    if (!node->segment.nodes.empty()) fresh.push_back(node.get());
    if (last) last->branches.emplace_back(guards[s - 1].bytes, node);
    if (!first) first = node;
    last = node;
  }
  std::vector<const Trace*> segments;
  for (GuardNode* n : fresh) segments.push_back(&n->segment);
  std::vector<CompileResult> results;
  try {  // a segment that does not compile runs on the interpreter
    results = compile_traces(segments, options);
  } catch (const std::exception&) {  // each on its own then, so that one cannot sink the others
    results.clear();
    for (const Trace* t : segments) results.push_back(compile_trace(*t, options));  // never throws
  }
  for (size_t i = 0; i < results.size() && i < fresh.size(); ++i) {
    compile_ms += results[i].milliseconds;
    fresh[i]->executable = std::move(results[i].executable);
  }
  return first;
}

std::vector<const GuardNode*> path_to(const GuardNode& root, const GuardNode* node, std::mutex& mu) {
  std::lock_guard lock(mu);
  std::vector<const GuardNode*> path;
  auto find = [&](auto&& self, const GuardNode& n) -> bool {
    path.push_back(&n);
    if (&n == node) return true;
    for (const auto& [bytes, next] : n.branches)
      if (next && self(self, *next)) return true;
    path.pop_back();
    return false;
  };
  find(find, root);
  return path;
}

std::string guard_value_text(const std::string& bytes, DType dtype) {
  const int64_t n = static_cast<int64_t>(bytes.size() / itemsize(dtype));
  Tensor t = Tensor::empty({n}, dtype, Device::cpu());
  std::memcpy(t.raw_data(), bytes.data(), bytes.size());
  std::vector<std::string> v;  // floats print as their shortest round-trip text
  for (double x : t.to_vector<double>())
    v.push_back(dtype == DType::F32 ? fmt::format("{}", static_cast<float>(x))
                                                                                 : fmt::format("{}", x));
  if (n == 1) return v[0];
  if (n <= 4) return fmt::format("[{}]", fmt::join(v, ", "));
  v.resize(4);
  return fmt::format("[{}, ...] ({} values)", fmt::join(v, ", "), n);
}

}  // namespace ejit::detail
