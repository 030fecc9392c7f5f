// jit(): the signature cache, recording on a miss, compiling, and replay on a hit.
#include <algorithm>
#include <deque>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <fmt/ranges.h>

#include "../support/check.h"
#include "../support/options.h"
#include "../support/profiler.h"
#include "../core/observer.h"
#include "compile.h"
#include "compile_queue.h"
#include "guard_tree.h"
#include "../trace/dynamic_dims.h"
#include "signature.h"
#include "ejit/jit.h"
#include "ejit/trace.h"

namespace ejit::detail {
namespace {

using Key = Signature;
using KeyHash = SignatureHash;

bool log_cache() { return options::log("cache"); }

/// Host reads a recorded trace may guard on, and the most elements one read may have;
/// past either the signature stays eager.
constexpr size_t kMaxGuards = 32;
constexpr int64_t kMaxGuardElements = 4096;

}  // namespace

struct JitCore::Impl : std::enable_shared_from_this<JitCore::Impl> {
  struct Entry {
    std::unique_ptr<Executable> executable;  // the compiled trace, or
    std::shared_ptr<GuardNode> tree;         // the trace tree of a function with host reads;
    std::string eager_reason;                // neither: why this signature runs eagerly
    std::vector<InputBinding> bindings;      // per trace input
    std::vector<Variable> assigned;   // written back from the last outputs after each call
    std::vector<SizeRead> size_reads;  // sizes the recording's C++ code read (see generalize_refusal)
    size_t user_outputs = 0;
    bool gpu = false;                            // a GPU program (its inputs are on a CUDA device)
    Trace trace;                                 // kept to make the IR on demand
    std::optional<std::array<std::string, kNumStages>> ir;
    uint64_t last_use = 0;  // Impl::clock at the last call that used it
    bool dynamic = false;   // its trace has dynamic dims; cached under a key with negative dims
    size_t code_bytes() const { return executable ? executable->code_bytes() : tree ? tree->code_bytes() : 0; }
    Target target() const { return gpu ? Target::CUDA : Target::CPU; }
  };

  Fn fn;
  std::string name;
  JitOptions jit_options;
  mutable std::mutex mu;
  std::unordered_map<Key, std::shared_ptr<Entry>, KeyHash> cache;
  std::unordered_map<Key, bool, KeyHash> compiling;
  std::shared_ptr<Entry> last_compiled;
  CacheStats stats;
  uint64_t clock = 0;                // counts calls: the cache's recency
  std::deque<CacheMiss> recent_misses;
  static constexpr size_t kMissesKept = 64;
  /// Generalizations being compiled: the static entry's key and the dims that vary; calls
  /// that would start the same one run eagerly meanwhile.
  std::vector<std::pair<Key, std::vector<std::pair<int, int>>>> generalizing;

  /// This function's dynamic dims: JitOptions::dynamic, else On when it names dynamic_dims,
  /// else EJIT_DYNAMIC. On makes dims dynamic even when the function's C++ code read their
  /// sizes; Auto (the default) keeps such dims static per size.
  options::Dynamic dynamic_mode() const {
    using options::Dynamic;
    if (jit_options.dynamic) return *jit_options.dynamic ? Dynamic::On : Dynamic::Off;
    return jit_options.dynamic_dims.empty() ? options::dynamic_dims() : Dynamic::On;
  }
  bool dynamic_enabled() const { return dynamic_mode() != options::Dynamic::Off; }
  /// Whether all of `dims` may become dynamic (JitOptions::dynamic_dims, when set).
  bool may_vary(const std::vector<std::pair<int, int>>& dims) const {
    const auto& allowed = jit_options.dynamic_dims;
    return allowed.empty() ||
           std::all_of(dims.begin(), dims.end(), [&](const auto& d) { return std::find(allowed.begin(), allowed.end(), d) != allowed.end(); });
  }
  /// How an entry's traces compile: its target, this function's strict option.
  CompileOptions compile_options(const Entry& e) const { return {.target = e.target(), .strict = jit_options.strict}; }
  /// A signature's first compile: background CPU compiles come in two tiers (see upgrade).
  CompileOptions first_tier_options(const Entry& e) const {
    CompileOptions o = compile_options(e);
    o.fast_codegen = mode() == CompileMode::Background && o.target == Target::CPU;
    return o;
  }

  /// The generalization from `base` is over (compiled or given up); holds `mu`.
  void end_generalizing(const Key& base) {
    std::erase_if(generalizing, [&](auto& p) { return p.first == base; });
  }

  /// The cached dynamic entry that serves `key` (args `args`), or null; holds `mu`.
  std::shared_ptr<Entry> dynamic_match(const Key& key, const std::vector<Tensor>& args) const {
    for (const auto& [pattern, e] : cache) {
      if (!e->dynamic || pattern.types.size() != key.types.size() || pattern.devices != key.devices ||
          pattern.alias != key.alias)
        continue;
      bool fits = true;
      for (size_t i = 0; i < key.types.size() && fits; ++i) {
        const ValueType &p = pattern.types[i], &k = key.types[i];
        fits = p.dtype == k.dtype && p.shape.rank() == k.shape.rank();
        for (int d = 0; d < k.shape.rank() && fits; ++d) fits = p.shape[d] < 0 || p.shape[d] == k.shape[d];
      }
      if (fits && dynamic_mismatch(e->trace, inputs_for(*e, args)).empty()) return e;
    }
    return nullptr;
  }

  /// The dims (arg, dim) where `key` differs from `base`, when it differs in sizes only and
  /// no dim changes from or to 0 or 1 (broadcasting and emptiness stay static); else empty.
  static std::vector<std::pair<int, int>> varying_dims(const Key& base, const Key& key) {
    std::vector<std::pair<int, int>> dims;
    if (base.types.size() != key.types.size() || base.devices != key.devices || base.alias != key.alias) return {};
    for (size_t i = 0; i < key.types.size(); ++i) {
      const ValueType &a = base.types[i], &b = key.types[i];
      if (a.dtype != b.dtype || a.shape.rank() != b.shape.rank()) return {};
      for (int d = 0; d < a.shape.rank(); ++d)
        if (a.shape[d] != b.shape[d]) {
          if (std::min(a.shape[d], b.shape[d]) < 2) return {};
          dims.emplace_back(static_cast<int>(i), d);
        }
    }
    return dims;
  }

  /// The static compiled entry nearest to `key` that differs from it in sizes only; holds `mu`.
  std::pair<Key, std::shared_ptr<Entry>> generalization_base(const Key& key) const {
    std::pair<Key, std::shared_ptr<Entry>> best;
    size_t best_distance = 0;
    if (!dynamic_enabled()) return best;
    for (const auto& [k, e] : cache) {
      if (!e->executable || e->dynamic) continue;
      if (const auto dims = varying_dims(k, key); dims.empty() || !may_vary(dims)) continue;
      const size_t d = distance(k, key);
      if (!best.second || d < best_distance) best = {k, e}, best_distance = d;
    }
    return best;
  }

  /// Notes a miss and why (the nearest signature cached or compiling); holds `mu`.
  void note_miss(const Key& key) {
    const Key* nearest = nullptr;
    size_t best = 0;
    auto consider = [&](const Key& k) {
      const size_t d = distance(k, key);
      if (!nearest || d < best) nearest = &k, best = d;
    };
    for (const auto& [k, e] : cache) consider(k);
    for (const auto& [k, c] : compiling) consider(k);
    note(CacheMiss{str(key), nearest ? str(*nearest) : "", nearest ? differences(*nearest, key) : std::vector<std::string>{}});
  }

  /// Adds what became of the latest miss of `signature` to its differences; holds `mu`.
  void add_to_miss(const std::string& signature, const std::vector<std::string>& what) {
    for (auto it = recent_misses.rbegin(); it != recent_misses.rend(); ++it)
      if (it->signature == signature) {
        it->differences.insert(it->differences.end(), what.begin(), what.end());
        return;
      }
  }

  /// Logs a miss and keeps it for misses(); holds `mu`.
  void note(CacheMiss m) {
    if (log_cache())
      fmt::print(stderr, "[ejit cache] {} {}: miss, {}\n", name, m.signature,
                 m.nearest.empty() ? std::string("first call")
                 : m.nearest == m.signature ? fmt::format("cached, but {}", fmt::join(m.differences, ", "))
                                            : fmt::format("nearest {} differs: {}", m.nearest, fmt::join(m.differences, ", ")));
    recent_misses.push_back(std::move(m));
    if (recent_misses.size() > kMissesKept) recent_misses.pop_front();
  }

  /// Drops least recently used signatures until the cache is within the function's bounds,
  /// never `keep` (the one just published); holds `mu`.
  void evict(const std::shared_ptr<Entry>& keep) {
    size_t bytes = 0;
    for (const auto& [k, e] : cache) bytes += e->code_bytes();
    while (cache.size() > 1 && (cache.size() > jit_options.max_signatures || bytes > jit_options.max_code_bytes)) {
      auto oldest = cache.end();
      for (auto it = cache.begin(); it != cache.end(); ++it)
        if (it->second != keep && (oldest == cache.end() || it->second->last_use < oldest->second->last_use)) oldest = it;
      if (oldest == cache.end()) return;
      bytes -= oldest->second->code_bytes();
      if (log_cache())
        fmt::print(stderr, "[ejit cache] {} {}: evicted (least recently used; {} signatures, {} bytes of code kept)\n",
                   name, str(oldest->first), cache.size() - 1, bytes);
      cache.erase(oldest);
      ++stats.evictions;
    }
  }

  std::vector<Tensor> inputs_for(const Entry& e, const std::vector<Tensor>& args) const {
    std::vector<Tensor> in;
    for (const InputBinding& b : e.bindings) in.push_back(b.value(args));
    return in;
  }

  /// Runs the compiled code; assigns the variables the function assigns; the user's outputs.
  std::vector<Tensor> run(const Entry& e, const std::vector<Tensor>& args) const {
    std::vector<Tensor> out = e.executable->run(inputs_for(e, args));
    for (size_t i = 0; i < e.assigned.size(); ++i) Variable(e.assigned[i]).assign(out[e.user_outputs + i]);
    out.resize(e.user_outputs);
    return out;
  }

  /// Runs the function eagerly with a recorder; host reads of traced values become guards.
  GuardedRecording record(const std::vector<Tensor>& args, std::vector<Tensor>& outs) const {
    Recorder rec;
    rec.add_inputs(args);
    rec.enable_guards(kMaxGuards, kMaxGuardElements);
    outs = fn(args);
    GuardedRecording g;
    g.trace = rec.finish(outs);
    g.guards = rec.guards();
    g.size_reads = rec.size_reads();
    for (size_t i = 0; i < rec.input_tensors().size(); ++i) {
      const Tensor& t = rec.input_tensors()[i];
      InputBinding b;
      b.variable = rec.input_variables()[i];
      for (size_t j = 0; j < args.size() && b.arg < 0 && !b.variable.defined(); ++j)
        if (args[j].impl() == t.impl()) b.arg = static_cast<int>(j);
      if (b.arg < 0 && !b.variable.defined()) b.captured = t;
      g.bindings.push_back(std::move(b));
    }
    g.assigned = rec.assigned_variables();
    g.user_outputs = outs.size();
    return g;
  }

  /// Runs `job` now (sync mode) or on the compile thread, which holds this Impl weakly: a
  /// function destroyed while its compile waited gets nothing compiled.
  static void schedule(const std::shared_ptr<Impl>& self, std::function<void(Impl&)> job) {
    if (self->mode() == CompileMode::Sync) {
      ProfileLabel label(self->name);  // its compile events carry the function's name
      return job(*self);
    }
    std::weak_ptr<Impl> weak = self;
    enqueue_compile([weak, job = std::move(job)] {
      if (std::shared_ptr<Impl> alive = weak.lock()) {
        ProfileLabel label(alive->name);
        job(*alive);
      }
    });
  }

  /// Records the call (returning its eager outputs) and compiles the trace, now or on the
  /// compile thread.
  static std::vector<Tensor> record_and_compile(const std::shared_ptr<Impl>& self, const Key& key,
                                                const std::vector<Tensor>& args,
                                                std::pair<Key, std::shared_ptr<Entry>> base = {}) {
    std::vector<Tensor> outs;
    auto g = std::make_shared<GuardedRecording>(self->record(args, outs));
    auto entry = std::make_shared<Entry>();
    entry->bindings = g->bindings;
    entry->assigned = g->assigned;
    entry->size_reads = g->size_reads;
    entry->user_outputs = outs.size();
    if (base.second && (!g->guards.empty() || !g->trace.not_compilable.empty())) {  // not generalized after all
      std::lock_guard lock(self->mu);
      self->end_generalizing(base.first);
      base = {};
    }
    if (!g->trace.not_compilable.empty()) {
      entry->eager_reason = g->trace.not_compilable;
      publish(*self, key, entry, g->trace.nodes.size(), false);
      return outs;
    }
    for (const InputBinding& b : g->bindings) entry->gpu |= b.value(args).device().is_cuda();
    for (const Tensor& t : outs) entry->gpu |= t.defined() && t.device().is_cuda();
    if (base.second && g->guards.empty()) {
      schedule(self, [key, entry, g, base](Impl& impl) { compile_dynamic_and_publish(impl, key, entry, *g, base); });
      return outs;
    }
    if (g->guards.empty() && self->mode() == CompileMode::Background && !entry->gpu) {
      // A signature an earlier run compiled: its code from the disk cache now (a millisecond
      // or two, and never behind a compile in progress), instead of after the queue.
      CompileResult r = load_from_disk_cache(g->trace, self->first_tier_options(*entry));
      if (r.executable) {
        adopt(*self, key, entry, std::move(g->trace), std::move(r));
        return outs;
      }
    }
    schedule(self, [key, entry, g](Impl& impl) {
      if (g->guards.empty()) compile_and_publish(impl, key, entry, std::move(g->trace));
      else compile_tree_and_publish(impl, key, entry, *g);
    });
    return outs;
  }

  /// One trace for the base's sizes and this call's, with the dims that differ dynamic,
  /// compiled once for every size of them; the call's own sizes, static, if that fails.
  static void compile_dynamic_and_publish(Impl& self, const Key& key, const std::shared_ptr<Entry>& entry,
                                          GuardedRecording& g, const std::pair<Key, std::shared_ptr<Entry>>& base) {
    std::string why;
    std::optional<Trace> general;
    if (!same_sources(*base.second, g)) why = "the two calls read other captured tensors or variables, or assign others";
    else if (self.dynamic_mode() != options::Dynamic::On) why = size_read_refusal(base.second->size_reads, g.size_reads);
    if (why.empty()) general = generalize(base.second->trace, g.trace, why);
    CompileResult r;
    if (general) {
      r = compile_trace(*general, self.compile_options(*entry));
      if (!r.executable) why = r.error;
    }
    if (!r.executable) {
      {
        std::lock_guard lock(self.mu);
        self.end_generalizing(base.first);
        self.stats.compile_ms += r.milliseconds;
        self.add_to_miss(str(key), {"no dynamic dims: " + why});
      }
      if (log_cache()) fmt::print(stderr, "[ejit cache] {} {}: no dynamic dims: {}\n", self.name, str(key), why);
      return compile_and_publish(self, key, entry, std::move(g.trace));
    }
    Key pattern = key;  // the argument dims that are dynamic, as the trace's inputs have them
    std::vector<std::string> dynamic;
    for (size_t j = 0; j < g.bindings.size(); ++j) {
      const int arg = g.bindings[j].arg;
      if (arg < 0) continue;
      const Shape& s = general->values[general->inputs[j]].shape;
      for (int d = 0; d < s.rank(); ++d)
        if (s[d] < 0 && pattern.types[arg].shape[d] >= 0) {
          pattern.types[arg].shape[d] = s[d];
          dynamic.push_back(fmt::format("arg {} dim {} now dynamic", arg, d));
        }
    }
    entry->executable = std::move(r.executable);
    entry->trace = std::move(*general);
    entry->dynamic = true;
    if (log_cache())
      fmt::print(stderr, "[ejit cache] {} {}: compiled {} ops for every size of its dynamic dims ({})\n", self.name,
                 str(pattern), entry->trace.nodes.size(), fmt::join(dynamic, ", "));
    const std::string signature = str(key);
    std::lock_guard lock(self.mu);  // one critical section: no call sees neither the pending state nor the entry
    self.add_to_miss(signature, dynamic);
    self.end_generalizing(base.first);
    self.stats.compile_ms += r.milliseconds;
    if (r.from_disk_cache) ++self.stats.disk_hits;
    self.compiling.erase(key);
    entry->last_use = ++self.clock;
    self.cache[pattern] = entry;
    self.last_compiled = entry;
    self.evict(entry);
  }

  /// Why two recordings whose C++ code read sizes may not become one dynamic trace: a size
  /// read differs between them (C++ code may decide by it where the recorder cannot see),
  /// or they read others; "" when every size read was the same in both.
  static std::string size_read_refusal(const std::vector<SizeRead>& base, const std::vector<SizeRead>& now) {
    const std::string advice = " (JitOptions::dynamic = true, or EJIT_DYNAMIC=1, makes such dims dynamic all the same)";
    for (size_t i = 0; i < std::min(base.size(), now.size()); ++i) {
      if (base[i].position != now[i].position || base[i].value != now[i].value || base[i].axis != now[i].axis)
        return fmt::format("the function's C++ code read other sizes in the two calls ({}, then {})", base[i].str(),
                           now[i].str()) + advice;
      if (base[i].sizes() != now[i].sizes())
        return fmt::format("the function's C++ code read a size that varies: {}, then {}{}", base[i].str(),
                           now[i].axis < 0 ? fmt::format("{}", now[i].shape) : std::to_string(now[i].sizes()[0]), advice);
    }
    if (base.size() != now.size())
      return fmt::format("the function's C++ code read sizes {} times in one call and {} in the other{}", base.size(),
                         now.size(), advice);
    return "";
  }

  /// Two recordings read the same captured tensors and variables at the same trace inputs,
  /// and assign the same variables (a function that picks a weight by size does not).
  static bool same_sources(const Entry& base, const GuardedRecording& g) {
    if (base.bindings.size() != g.bindings.size() || base.assigned.size() != g.assigned.size()) return false;
    for (size_t i = 0; i < g.bindings.size(); ++i) {
      const InputBinding &a = base.bindings[i], &b = g.bindings[i];
      if (a.arg != b.arg || a.variable.defined() != b.variable.defined() ||
          (a.variable.defined() && !a.variable.same(b.variable)) || a.captured.defined() != b.captured.defined() ||
          (a.captured.defined() && a.captured.impl() != b.captured.impl()))
        return false;
    }
    for (size_t i = 0; i < g.assigned.size(); ++i)
      if (!base.assigned[i].same(g.assigned[i])) return false;
    return true;
  }

  static void compile_tree_and_publish(Impl& self, const Key& key, const std::shared_ptr<Entry>& entry,
                                       const GuardedRecording& g) {
    std::string error;
    double ms = 0;
    try {
      entry->tree = build_path(g, 0, {}, self.compile_options(*entry), error, ms);
    } catch (const std::exception& e) {
      error = std::string("[jit] the compiler failed: ") + e.what();
    }
    {
      std::lock_guard lock(self.mu);
      self.stats.compile_ms += ms;
    }
    if (!entry->tree) entry->eager_reason = error;
    publish(self, key, entry, g.trace.nodes.size(), false, g.guards.size());
  }

  /// A signature whose trace tree gave up: it runs eagerly from now on; holds `mu`.
  void make_eager(const Key& key, const std::shared_ptr<Entry>& was, std::string reason) {
    auto it = cache.find(key);
    if (it == cache.end() || it->second != was) return;
    if (log_cache()) fmt::print(stderr, "[ejit cache] {} {}: stays eager: {}\n", name, str(key), reason);
    auto eager = std::make_shared<Entry>();
    eager->eager_reason = std::move(reason);
    eager->last_use = was->last_use;
    it->second = eager;
  }

  /// A call of a signature with a trace tree: the compiled path for the values it reads, or
  /// (a miss) an eager run that records the branch for the value read.
  static std::vector<Tensor> call_tree(const std::shared_ptr<Impl>& self, const Key& key,
                                       const std::shared_ptr<Entry>& entry, const std::vector<Tensor>& args) {
    TreeWalk w = run_tree(*entry->tree, args, self->mu);
    std::unique_lock lock(self->mu);
    if (w.outputs) {
      ++self->stats.hits;
      lock.unlock();
      if (log_cache()) fmt::print(stderr, "[ejit cache] {} {}: hit\n", self->name, str(key));
      return std::move(*w.outputs);
    }
    GuardNode* node = w.missed;
    const bool known = std::any_of(node->branches.begin(), node->branches.end(), [&](auto& b) { return b.first == w.read; });
    auto current = self->cache.find(key);
    if (known || current == self->cache.end() || current->second != entry) {  // compiling (or just compiled, or given up): eager this time
      ++self->stats.eager_calls;
      self->stats.eager_while_compiling += w.compiling;
      lock.unlock();
      return self->fn(args);
    }
    const std::string value = guard_value_text(w.read, node->guard_dtype);
    if (node->branches.size() >= self->jit_options.max_guard_variants) {
      ++self->stats.eager_calls;
      self->make_eager(key, entry, fmt::format("host read {} ({}) read more than {} distinct values (now {}); "
                                               "JitOptions::max_guard_variants", node->depth, node->guard_text,
                                               self->jit_options.max_guard_variants, value));
      lock.unlock();
      return self->fn(args);
    }
    ++self->stats.misses;
    std::vector<std::string> cached;
    for (const auto& [bytes, next] : node->branches) cached.push_back(guard_value_text(bytes, node->guard_dtype));
    self->note(CacheMiss{str(key), str(key), {fmt::format("guard {} ({}) read {}, cached: {}", node->depth,
                                                          node->guard_text, value, fmt::join(cached, ", "))}});
    node->branches.emplace_back(w.read, nullptr);  // being compiled
    lock.unlock();
    std::vector<Tensor> outs;
    std::shared_ptr<GuardedRecording> g;
    try {
      g = std::make_shared<GuardedRecording>(self->record(args, outs));
    } catch (...) {
      std::lock_guard relock(self->mu);
      std::erase_if(node->branches, [&](auto& b) { return b.first == w.read && !b.second; });
      throw;
    }
    auto path = std::make_shared<std::vector<const GuardNode*>>(path_to(*entry->tree, node, self->mu));
    std::string read = std::move(w.read);
    if (g->trace.not_compilable.empty()) {
      // The recorded branch holds for the values the eager run read: it goes under those (the
      // compiled code may have read others, rounding differently), and only when the eager
      // run read the path's values before it.
      std::lock_guard relock(self->mu);
      std::erase_if(node->branches, [&](auto& b) { return b.first == read && !b.second; });
      bool same = g->guards.size() > node->depth;
      for (size_t j = 0; same && j + 1 < path->size(); ++j) {
        const auto& branches = (*path)[j]->branches;
        auto it = std::find_if(branches.begin(), branches.end(), [&](auto& b) { return b.second.get() == (*path)[j + 1]; });
        same = it != branches.end() && it->first == g->guards[j].bytes;
      }
      const std::string eager = same ? g->guards[node->depth].bytes : std::string();
      if (!same || std::any_of(node->branches.begin(), node->branches.end(), [&](auto& b) { return b.first == eager; })) {
        if (log_cache())
          fmt::print(stderr, "[ejit cache] {} {}: compiled code read other host values than eager code (host read {}: "
                     "{}); this call ran eagerly, and calls like it will\n", self->name, str(key), node->depth,
                     guard_value_text(read, node->guard_dtype));
        return outs;
      }
      read = eager;
      node->branches.emplace_back(read, nullptr);  // being compiled
    }
    schedule(self, [key, entry, node, read, path, g](Impl& impl) {
      std::string error = g->trace.not_compilable;
      double ms = 0;
      std::shared_ptr<GuardNode> branch;
      if (error.empty()) try {
          branch = build_path(*g, path->size(), *path, impl.compile_options(*entry), error, ms);
        } catch (const std::exception& e) {
          error = std::string("[jit] the compiler failed: ") + e.what();
        }
      std::lock_guard relock(impl.mu);
      impl.stats.compile_ms += ms;
      for (auto& [bytes, next] : node->branches)
        if (bytes == read && !next) next = branch;
      if (!branch) {
        std::erase_if(node->branches, [&](auto& b) { return b.first == read && !b.second; });
        impl.make_eager(key, entry, fmt::format("the branch after host read {} ({}) cannot be compiled: {}", node->depth,
                                                node->guard_text, error));
        return;
      }
      if (log_cache())
        fmt::print(stderr, "[ejit cache] {} {}: compiled the branch after host read {} ({}) for {}\n", impl.name,
                   str(key), node->depth, node->guard_text, guard_value_text(read, node->guard_dtype));
      impl.evict(entry);
    });
    return outs;
  }

  CompileMode mode() const { return jit_options.compile.value_or(compile_mode()); }

  /// Compiles a signature's trace and publishes it. In background mode a CPU trace compiles
  /// in two tiers: first with fast code generation (about half the compile time, code up to
  /// 2x slower), published at once; then in full, on the compile thread after the jobs
  /// already queued, replacing the first version (see upgrade).
  static void compile_and_publish(Impl& self, const Key& key, const std::shared_ptr<Entry>& entry, Trace trace) {
    CompileResult r = compile_trace(trace, self.first_tier_options(*entry));
    adopt(self, key, entry, std::move(trace), std::move(r));
  }

  /// Publishes `r`, the code of `trace` (or why it has none), as the entry for `key`; a first
  /// tier's code is then compiled in full on the compile thread (see upgrade).
  static void adopt(Impl& self, const Key& key, const std::shared_ptr<Entry>& entry, Trace trace, CompileResult r) {
    const size_t ops = trace.nodes.size();
    {
      std::lock_guard lock(self.mu);
      self.stats.compile_ms += r.milliseconds;
      if (r.from_disk_cache) ++self.stats.disk_hits;
    }
    if (r.executable) entry->executable = std::move(r.executable), entry->trace = std::move(trace);
    else entry->eager_reason = r.error;
    publish(self, key, entry, ops, r.from_disk_cache);
    if (entry->executable && r.fast_code)  // not when the disk cache had full code
      schedule(self.shared_from_this(), [key, weak = std::weak_ptr<Entry>(entry)](Impl& impl) {
        if (std::shared_ptr<Entry> fast = weak.lock()) upgrade(impl, key, fast);  // else evicted: nothing to upgrade
      });
  }

  /// The second tier: `fast`'s trace compiled with full code generation replaces it in the
  /// cache, unless it was evicted or replaced meanwhile. A failure keeps the first version.
  static void upgrade(Impl& self, const Key& key, const std::shared_ptr<Entry>& fast) {
    CompileResult r = compile_trace(fast->trace, self.compile_options(*fast));
    auto full = std::make_shared<Entry>();
    full->executable = std::move(r.executable);
    full->bindings = fast->bindings;
    full->assigned = fast->assigned;
    full->size_reads = fast->size_reads;
    full->user_outputs = fast->user_outputs;
    full->gpu = fast->gpu;
    full->trace = fast->trace;
    full->dynamic = fast->dynamic;
    std::lock_guard lock(self.mu);
    self.stats.compile_ms += r.milliseconds;
    if (r.from_disk_cache) ++self.stats.disk_hits;
    auto it = self.cache.find(key);
    if (!full->executable || it == self.cache.end() || it->second != fast) {
      if (log_cache())
        fmt::print(stderr, "[ejit cache] {} {}: keeps its first compile: {}\n", self.name, str(key),
                   full->executable ? "evicted or replaced meanwhile" : r.error);
      return;
    }
    if (log_cache()) fmt::print(stderr, "[ejit cache] {} {}: recompiled with full code generation\n", self.name, str(key));
    full->last_use = fast->last_use;
    it->second = full;
    if (self.last_compiled == fast) self.last_compiled = full;
    ++self.stats.upgrades;
    self.evict(full);
  }

  /// The signature's entry goes into the cache: later calls use it.
  static void publish(Impl& self, const Key& key, const std::shared_ptr<Entry>& entry, size_t ops, bool from_disk,
                      size_t guards = 0) {
    if (log_cache())
      fmt::print(stderr, "[ejit cache] {} {}: {}\n", self.name, str(key),
                 entry->executable ? fmt::format("{} {} ops", from_disk ? "loaded from the disk cache:" : "compiled", ops)
                 : entry->tree     ? fmt::format("compiled {} ops in {} segments between host reads", ops, guards + 1)
                                   : "stays eager: " + entry->eager_reason);
    std::lock_guard lock(self.mu);
    entry->last_use = ++self.clock;
    self.cache[key] = entry;
    self.compiling.erase(key);
    if (entry->executable || entry->tree) self.last_compiled = entry;
    self.evict(entry);
  }
};

JitCore::JitCore(Fn fn, std::string name, JitOptions options) : impl_(std::make_shared<Impl>()) {
  if (!options.dynamic_dims.empty() && options.dynamic == false)
    fail("jit", "{}: JitOptions sets dynamic_dims and dynamic = false; drop one", name);
  for (const auto& [arg, dim] : options.dynamic_dims)
    if (arg < 0 || dim < 0) fail("jit", "{}: JitOptions::dynamic_dims has (arg {}, dim {}); both count from 0", name, arg, dim);
  impl_->fn = std::move(fn);
  impl_->name = std::move(name);
  impl_->jit_options = options;
}
JitCore::~JitCore() = default;

std::vector<Tensor> JitCore::call(const std::vector<Tensor>& args) {
  for (const Tensor& a : args)
    if (!a.defined()) fail("jit", "{}: an argument is an undefined tensor", impl_->name);
  for (const auto& [arg, dim] : impl_->jit_options.dynamic_dims)
    if (arg >= static_cast<int>(args.size()) || dim >= args[static_cast<size_t>(arg)].rank())
      fail("jit", "{}: JitOptions::dynamic_dims names arg {} dim {}, but the call has {} arguments{}", impl_->name, arg, dim,
           args.size(), arg < static_cast<int>(args.size())
                            ? fmt::format(" and arg {} has shape {}", arg, args[static_cast<size_t>(arg)].shape())
                            : "");
  ProfileScope prof("call", impl_->name);  // tagged below with how the call runs
  Key key = signature_of(args);
  if (observers()) {
    prof.tag(is_recording() ? "eager, inside a recording" : "eager, inside a gradient tape");
    // An enclosing recorder or gradient tape must see this function's ops: run it inline.
    {
      std::lock_guard lock(impl_->mu);
      ++impl_->stats.eager_calls;
    }
    if (log_cache())
      fmt::print(stderr, "[ejit cache] {} {}: runs eagerly inside {}\n", impl_->name, str(key),
                 is_recording() ? "an enclosing recording" : "a gradient tape");
    return impl_->fn(args);
  }
  std::shared_ptr<Impl::Entry> entry;
  std::pair<Key, std::shared_ptr<Impl::Entry>> base;  // a static entry to generalize over sizes
  {
    std::unique_lock lock(impl_->mu);
    auto it = impl_->cache.find(key);
    if (it != impl_->cache.end()) {
      entry = it->second;
      entry->last_use = ++impl_->clock;
      if (!entry->tree) ++(entry->executable ? impl_->stats.hits : impl_->stats.eager_calls);
    } else if (impl_->dynamic_enabled() && (entry = impl_->dynamic_match(key, args))) {
      entry->last_use = ++impl_->clock;
      ++impl_->stats.hits;
    } else {
      const bool own_pending = impl_->compiling.count(key) > 0;  // first: the scans below are not needed then
      if (!own_pending) base = impl_->generalization_base(key);
      const std::vector<std::pair<int, int>> varying = base.second ? Impl::varying_dims(base.first, key)
                                                                   : std::vector<std::pair<int, int>>{};
      const bool same_pending = std::any_of(impl_->generalizing.begin(), impl_->generalizing.end(),
                                            [&](auto& p) { return p.first == base.first && p.second == varying; });
      // A size of a signature still compiling waits for it (then generalizes from it).
      const bool similar_compiling =
          !own_pending && !base.second && impl_->dynamic_enabled() &&
          std::any_of(impl_->compiling.begin(), impl_->compiling.end(),
                      [&](auto& c) {
                        const auto dims = Impl::varying_dims(c.first, key);
                        return !dims.empty() && impl_->may_vary(dims);
                      });
      if (own_pending || (base.second && same_pending) || similar_compiling) {
        ++impl_->stats.eager_calls;  // this signature is being recorded or compiled: run eagerly meanwhile
        ++impl_->stats.eager_while_compiling;
        lock.unlock();
        prof.tag("eager while compiling");
        return impl_->fn(args);
      }
      ++impl_->stats.misses;
      impl_->note_miss(key);
      impl_->compiling[key] = true;
      if (base.second) impl_->generalizing.emplace_back(base.first, varying);
    }
  }
  if (!entry) {
    prof.tag(impl_->mode() == CompileMode::Sync ? "recorded and compiled" : "recorded");
    try {
      return Impl::record_and_compile(impl_, key, args, base);
    } catch (...) {
      std::lock_guard lock(impl_->mu);
      impl_->compiling.erase(key);
      if (base.second) impl_->end_generalizing(base.first);
      throw;
    }
  }
  prof.tag(entry->tree ? "trace tree" : entry->executable ? "compiled" : "eager");
  if (entry->tree) return Impl::call_tree(impl_, key, entry, args);
  if (!entry->executable) return impl_->fn(args);
  if (log_cache()) fmt::print(stderr, "[ejit cache] {} {}: hit\n", impl_->name, str(key));
  return impl_->run(*entry, args);
}

std::string JitCore::ir(Stage stage) const {
  wait_for_compile_queue();  // the last signature's compile, if it is still queued
  std::lock_guard lock(impl_->mu);
  if (!impl_->last_compiled) return "";
  Impl::Entry& e = *impl_->last_compiled;
  const bool extra = stage == Stage::Asm || stage == Stage::PTX;  // made only when asked for
  const CompileOptions options{.target = e.target(),
                               .keep_ir = true,
                               .keep_asm = stage == Stage::Asm,
                               .keep_ptx = stage == Stage::PTX,
                               .strict = impl_->jit_options.strict};
  if (e.ir && !(extra && (*e.ir)[static_cast<int>(stage)].empty())) return (*e.ir)[static_cast<int>(stage)];
  if (!e.tree) {  // compiled again, for its IR
    e.ir = compile_trace(e.trace, options).ir;
    return (*e.ir)[static_cast<int>(stage)];
  }
  // A trace tree: the segments of its first recorded path, each compiled again.
  std::array<std::string, kNumStages> all{};
  size_t k = 0;
  for (const GuardNode* n = e.tree.get(); n; ++k) {
    if (!n->segment.nodes.empty()) {
      const std::array<std::string, kNumStages> ir = compile_trace(n->segment, options).ir;
      const std::string head = n->guard >= 0 ? fmt::format("// ---- segment {}, then host read {} ({})\n", k, n->depth, n->guard_text)
                                             : fmt::format("// ---- segment {}, the last\n", k);
      for (int s = 0; s < kNumStages; ++s)
        if (!ir[s].empty()) all[s] += head + ir[s] + "\n";
    }
    const GuardNode* next = nullptr;
    for (const auto& [bytes, branch] : n->branches)
      if (branch && !next) next = branch.get();
    n = next;
  }
  for (std::string& text : all)
    if (!text.empty()) text = "// the first recorded path of a trace tree (host reads cut it into segments)\n" + text;
  e.ir = all;
  return (*e.ir)[static_cast<int>(stage)];
}

namespace {

/// An entry's trace as an exported function takes it: one input per argument, in order (an
/// argument the trace does not read gets an input of its own), and the captured tensors and
/// variables as constants holding their values of now.
Trace exportable_trace(const Trace& recorded, const std::vector<InputBinding>& bindings, const Signature& key,
                       size_t user_outputs) {
  Trace t = recorded;
  std::vector<int> arg_input(key.types.size(), -1);
  std::vector<TraceNode> constants;
  for (size_t i = 0; i < t.inputs.size(); ++i) {
    const InputBinding& b = bindings.at(i);
    if (b.arg >= 0) {
      arg_input.at(static_cast<size_t>(b.arg)) = t.inputs[i];
      continue;
    }
    TraceNode c{};
    c.kind = NodeKind::Constant;
    c.output = t.inputs[i];
    c.constant = (b.variable.defined() ? b.variable.value() : b.captured).to(Device::cpu());
    constants.push_back(std::move(c));
  }
  for (size_t a = 0; a < arg_input.size(); ++a)
    if (arg_input[a] < 0) {
      arg_input[a] = static_cast<int>(t.values.size());
      t.values.push_back(key.types[a]);
    }
  t.inputs = std::move(arg_input);
  t.nodes.insert(t.nodes.begin(), constants.begin(), constants.end());
  t.outputs.resize(std::min(t.outputs.size(), user_outputs));
  return t;
}

}  // namespace

void JitCore::export_library(const std::string& path, ExportOptions options) const {
  std::vector<Trace> traces;
  std::vector<std::string> skipped;
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& [key, e] : impl_->cache) {
      const std::string sig = str(key);
      if (e->gpu != (options.target == Target::CUDA)) {
        skipped.push_back(sig + (e->gpu ? ": a GPU program (export with .target = Target::CUDA)" : ": a CPU signature"));
        continue;
      }
      if (!e->executable) {
        skipped.push_back(sig + (e->tree ? ": it reads values on the host (a trace tree)"
                                 : e->eager_reason.empty() ? ": not compiled yet (wait_for_compiles() first)"
                                                           : ": it runs eagerly (" + e->eager_reason + ")"));
        continue;
      }
      if (!e->assigned.empty())
        fail("export", "{}{}: it assigns variables, and an exported function cannot", impl_->name, sig);
      for (size_t i = 0; i < key.alias.size(); ++i)
        if (key.alias[i] != static_cast<int>(i))
          fail("export", "{}{}: argument {} is argument {} (recorded for aliased arguments)", impl_->name, sig, i, key.alias[i]);
      traces.push_back(exportable_trace(e->trace, e->bindings, key, e->user_outputs));
    }
    for (const auto& [key, pending] : impl_->compiling)
      if (!impl_->cache.count(key)) skipped.push_back(str(key) + ": still compiling (wait_for_compiles() first)");
  }
  // Static signatures first in the listing (load_compiled tries static ones first anyway).
  std::stable_partition(traces.begin(), traces.end(), [](const Trace& t) { return !has_dynamic_dims(t); });
  if (traces.empty())
    fail("export", "{}: no compiled {} signature to export{}{}", impl_->name, options.target == Target::CUDA ? "GPU" : "CPU", skipped.empty() ? " (it was never called)" : ": ",
         fmt::join(skipped, "; "));
  if (!options.name) options.name = impl_->name;
  if (!options.strict) options.strict = impl_->jit_options.strict;  // as the function compiles
  ejit::export_library(traces, path, options);
}

CacheStats JitCore::stats() const {
  std::lock_guard lock(impl_->mu);
  CacheStats s = impl_->stats;
  s.signatures = impl_->cache.size();
  for (const auto& [k, e] : impl_->cache) s.code_bytes += e->code_bytes();
  return s;
}

std::vector<CacheMiss> JitCore::misses() const {
  std::lock_guard lock(impl_->mu);
  return {impl_->recent_misses.begin(), impl_->recent_misses.end()};
}

Comparison JitCore::compare(const std::vector<Tensor>& args, int repeat) {
  Comparison c;
  call(args);  // make sure this signature is recorded (and compiled if it can be)
  wait_for_compile_queue();
  std::shared_ptr<Impl::Entry> entry;
  {
    std::lock_guard lock(impl_->mu);
    const Key key = signature_of(args);
    auto it = impl_->cache.find(key);
    entry = it != impl_->cache.end() ? it->second : impl_->dynamic_match(key, args);
    if (!entry) fail("jit", "{}: compare() found no cache entry for {} (evicted?)", impl_->name, str(key));
  }
  c.compiled = entry->executable || entry->tree;
  c.reason = entry->eager_reason;
  auto time_ms = [&](auto&& f) {
    std::vector<double> t;
    for (int r = 0; r < std::max(repeat, 1); ++r) {
      auto t0 = std::chrono::steady_clock::now();
      f();
      for (const Tensor& a : args) synchronize(a.device());  // GPU work is queued: wait for it
      t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  };
  std::vector<Tensor> eager, compiled;
  if (!entry->assigned.empty()) {  // each run would assign the variables again
    c.reason = "compare() does not run functions that assign variables";
    return c;
  }
  // Each run drops the last run's results first, as a loop over calls would: holding them
  // while the next run writes its own doubled the memory a run touched (layer norm on 16 MB:
  // 48 MB, past this machine's 32 MB L3, against the 32 MB of a loop that reuses its output).
  c.interpreted_ms = time_ms([&] {
    eager.clear();
    eager = impl_->fn(args);
  });
  if (!c.compiled) return c;
  if (entry->tree) {  // the path for these inputs must have been compiled
    TreeWalk w = run_tree(*entry->tree, args, impl_->mu);
    for (int tries = 0; tries < 2 && !w.outputs; ++tries) {  // compiled code read other values than eager
      call(args);                                             // code did: record the branch for them
      wait_for_compile_queue();
      w = run_tree(*entry->tree, args, impl_->mu);
    }
    if (!w.outputs) {
      c.compiled = false;
      c.reason = "the branch for the values these inputs read on the host is not compiled yet";
      return c;
    }
  }
  c.compiled_ms = time_ms([&] {
    compiled.clear();
    compiled = entry->tree ? *run_tree(*entry->tree, args, impl_->mu).outputs : impl_->run(*entry, args);
  });
  for (size_t i = 0; i < eager.size(); ++i) {
    auto e = eager[i].to_vector<double>(), k = compiled[i].to_vector<double>();
    for (size_t j = 0; j < e.size(); ++j) {
      if (std::isnan(e[j]) && std::isnan(k[j])) continue;
      if (e[j] == k[j]) continue;
      double abs_err = std::fabs(e[j] - k[j]);
      c.max_abs_error = std::max(c.max_abs_error, abs_err);
      c.max_rel_error = std::max(c.max_rel_error, abs_err / std::max(std::fabs(e[j]), 1e-30));
    }
  }
  return c;
}

}  // namespace ejit::detail

namespace ejit {
namespace {
std::atomic<int>& mode_setting() {  // -1: not set, else a CompileMode
  static std::atomic<int> m{-1};
  return m;
}
}  // namespace

void set_compile_mode(CompileMode mode) { mode_setting() = static_cast<int>(mode); }
CompileMode compile_mode() {
  const int m = mode_setting();
  if (m >= 0) return static_cast<CompileMode>(m);
  return options::compile_sync() ? CompileMode::Sync : CompileMode::Background;
}
void wait_for_compiles() { detail::wait_for_compile_queue(); }

}  // namespace ejit
