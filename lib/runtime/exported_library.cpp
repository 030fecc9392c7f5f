#include "exported_library.h"

#include <cstring>

#include <fmt/format.h>

#include "../support/check.h"
#include "../support/hash.h"
#include "../trace/dynamic_dims.h"
#include "../trace/trace_binary.h"
#include "row_extent.h"
#include "gpu_executor.h"
#include "gpu_reduction_plan.h"
#include "packed_kernel.h"

#ifndef EJIT_VERSION
#define EJIT_VERSION "unknown"
#endif
#ifndef EJIT_OPS_ABI
#define EJIT_OPS_ABI "unknown"
#endif

namespace ejit::detail {
namespace {

constexpr std::string_view kManifestMagic = "ejit-export";
constexpr uint32_t kManifestFormat = 1;
constexpr char kTrailerMagic[8] = {'E', 'J', 'I', 'T', 'L', 'I', 'B', '1'};
constexpr size_t kTrailerBytes = 32;  // manifest size, object size, checksum, magic

void write_ints(ByteWriter& w, const std::vector<int>& v) {
  w.u32(static_cast<uint32_t>(v.size()));
  for (int x : v) w.i64(x);
}

/// Ids in [lo, hi).
std::vector<int> read_ints(ByteReader& r, std::string_view field, int64_t lo, int64_t hi) {
  const uint32_t n = r.count(field, 8);
  std::vector<int> v;
  v.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    const size_t at = r.offset();
    const int64_t x = r.i64(field);
    if (x < lo || x >= hi) r.fail_at(at, field, fmt::format("{} is outside [{}, {})", x, lo, hi));
    v.push_back(static_cast<int>(x));
  }
  return v;
}

bool valid_symbol(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

/// Per value of `t`: whether it exists before any step runs (inputs and constants).
std::vector<char> defined_before_steps(const Trace& t) {
  std::vector<char> defined(t.values.size(), 0);
  for (int v : t.inputs) defined[v] = 1;
  for (const TraceNode& n : t.nodes)
    if (n.kind == NodeKind::Constant) defined[n.output] = 1;
  return defined;
}

/// Every dynamic dim of `t` has an input to read its size from, and every size constant
/// names one of its symbols.
void check_symbols(const Trace& t, const std::string& what) {
  const std::vector<SymbolSource> sources = symbol_sources(t);
  for (const SymbolSource& s : sources)
    if (s.input < 0) fail("load_compiled", "{}: a dynamic dim none of its inputs has", what);
  const size_t symbols = sources.size();
  for (const TraceNode& n : t.nodes) {
    if (!is_size_constant(n)) continue;
    if (n.ints[0] < 0 || static_cast<size_t>(n.ints[0]) >= symbols)
      fail("load_compiled", "{}: a size constant of symbol {} (it has {})", what, n.ints[0], symbols);
    if (n.ints[1] < 1 || n.ints[1] > kMaxSizeConstantTerm ||
        (n.ints.size() > 2 && (n.ints[2] < -kMaxSizeConstantTerm || n.ints[2] > kMaxSizeConstantTerm)))
      fail("load_compiled", "{}: a size constant of factor {} and offset {}", what, n.ints[1],
           n.ints.size() > 2 ? n.ints[2] : 0);
  }
}

/// The checks of one entry that span its steps: each step reads only values defined before
/// it, the kernels' traces have the types of the values they stand for, the outputs exist.
void check_entry(const ExportedEntry& e, size_t index, size_t kernels) {
  const Trace& t = e.trace;
  auto bad = [&](const std::string& what) { fail("load_compiled", "signature {}: {}", index, what); };
  std::vector<char> defined = defined_before_steps(t);
  auto source = [&](int v) { return e.folded_from[v] >= 0 ? e.folded_from[v] : v; };
  for (size_t v = 0; v < e.folded_from.size(); ++v) {  // a transpose the BLAS reads in place: (n, m) of an (m, n)
    if (e.folded_from[v] < 0) continue;
    const ValueType &x = t.values[v], &from = t.values[e.folded_from[v]];
    if (defined[v] || x.shape.rank() != 2 || from.shape.rank() != 2 || x.dtype != from.dtype ||
        x.shape[0] != from.shape[1] || x.shape[1] != from.shape[0])
      bad(fmt::format("value {} is read as a transposed matrix it cannot be", v));
  }
  check_symbols(t, fmt::format("signature {}", index));
  for (size_t s = 0; s < e.steps.size(); ++s) {
    const ExportedStep& st = e.steps[s];
    if (!st.compiled) {
      if (st.nodes.size() != 1) bad(fmt::format("interpreter step {} has {} nodes, not 1", s, st.nodes.size()));
      const TraceNode& n = t.nodes[st.nodes[0]];
      if (n.kind == NodeKind::Constant) bad(fmt::format("step {} runs a constant", s));
      for (int v : n.inputs) {
        if (!defined[source(v)]) bad(fmt::format("step {} reads value {} before it is made", s, v));
        if (e.folded_from[v] >= 0 && (n.kind != NodeKind::MatMul || t.values[n.output].shape.rank() != 2))
          bad(fmt::format("step {} ({}) reads the transposed matrix {} in place, which only a matrix product can", s,
                          node_name(n), v));
      }
      defined[n.output] = 1;
      continue;
    }
    if (st.kernel < 0 || static_cast<size_t>(st.kernel) >= kernels) bad(fmt::format("step {} names kernel {}", s, st.kernel));
    if (st.sub.inputs.size() != st.inputs.size() || st.sub.outputs.size() != st.outputs.size())
      bad(fmt::format("step {}'s kernel has {} inputs and {} outputs, the step {} and {}", s, st.sub.inputs.size(),
                      st.sub.outputs.size(), st.inputs.size(), st.outputs.size()));
    check_symbols(st.sub, fmt::format("signature {} step {}'s kernel", index, s));
    for (size_t i = 0; i < st.inputs.size(); ++i) {
      if (!defined[st.inputs[i]]) bad(fmt::format("step {} reads value {} before it is made", s, st.inputs[i]));
      if (!(st.sub.values[st.sub.inputs[i]] == t.values[st.inputs[i]]))
        bad(fmt::format("step {}'s kernel input {} has another type than value {}", s, i, st.inputs[i]));
    }
    for (size_t i = 0; i < st.outputs.size(); ++i) {
      if (!(st.sub.values[st.sub.outputs[i]] == t.values[st.outputs[i]]))
        bad(fmt::format("step {}'s kernel output {} has another type than value {}", s, i, st.outputs[i]));
      defined[st.outputs[i]] = 1;
    }
    if (std::string why = check_row_extent(st.sub, st.extent); !why.empty()) bad(fmt::format("step {}: {}", s, why));
  }
  for (int v : t.outputs)
    if (!defined[v]) bad(fmt::format("output value {} is never made", v));
}

bool kind_of_reduce_is_index(const TraceNode& n) {
  return n.sub < kNumReduceOps && kind(static_cast<ReduceOp>(n.sub)) == ReduceKind::Index;
}

/// The same for a GPU program's steps (gpu_executor.h): kinds, nodes, kernels and the
/// slots their launches bind.
void check_gpu_entry(const ExportedEntry& e, size_t index) {
  const Trace& t = e.trace;
  auto bad = [&](const std::string& what) { fail("load_compiled", "signature {}: {}", index, what); };
  std::vector<char> defined = defined_before_steps(t);
  const bool dynamic = has_dynamic_dims(t);  // its reductions and takes are planned per call
  if (dynamic) check_symbols(t, fmt::format("signature {}", index));
  for (size_t s = 0; s < e.gpu_steps.size(); ++s) {
    const ExportedGpuStep& st = e.gpu_steps[s];
    const auto kind = static_cast<GpuStep::Kind>(st.kind);
    const bool kernels = runs_kernels(kind);
    if (st.kind > static_cast<uint8_t>(GpuStep::Kind::View)) bad(fmt::format("GPU step {} has kind {}", s, st.kind));
    if (!kernels || kind == GpuStep::Kind::Take) {
      if (st.nodes.size() != 1) bad(fmt::format("GPU step {} has {} nodes, not 1", s, st.nodes.size()));
      const TraceNode& n = t.nodes[st.nodes[0]];
      const bool fits = kind == GpuStep::Kind::Take   ? n.kind == NodeKind::Take && n.inputs.size() == 2
                        : kind == GpuStep::Kind::Gemm ? n.kind == NodeKind::MatMul
                        : kind == GpuStep::Kind::View ? n.kind == NodeKind::Reshape
                                                      : n.kind != NodeKind::Constant;
      if (!fits) bad(fmt::format("GPU step {} cannot run a {}", s, node_name(n)));
      if (kind == GpuStep::Kind::Take &&
          (n.ints.size() != 1 || n.ints[0] < 0 || n.ints[0] >= t.values[n.inputs[0]].shape.rank()))
        bad(fmt::format("GPU step {} takes along an axis its input does not have", s));
      if (kind == GpuStep::Kind::Gemm &&
          (t.values[n.output].shape.rank() < 2 || t.values[n.inputs[0]].shape.rank() < 1))
        bad(fmt::format("GPU step {} multiplies shapes cuBLAS does not take", s));
      for (int v : n.inputs)
        if (!defined[v]) bad(fmt::format("GPU step {} reads value {} before it is made", s, v));
      if (!kernels) {
        defined[n.output] = 1;
        continue;
      }
    }
    GpuKernels k;
    if (!deserialize(st.kernels, k)) bad(fmt::format("GPU step {}'s kernels do not parse", s));
    if (k.num_inputs != static_cast<int>(st.inputs.size()) || k.num_outputs != static_cast<int>(st.outputs.size()))
      bad(fmt::format("GPU step {}'s kernels take {} inputs and {} outputs, the step {} and {}", s, k.num_inputs,
                      k.num_outputs, st.inputs.size(), st.outputs.size()));
    if (kind == GpuStep::Kind::Take) {  // its launch binds slots 0, 1 and 2: the node's
      const TraceNode& n = t.nodes[st.nodes[0]];
      if (dynamic != k.launches.empty() || k.ptx.size() != 1 || st.inputs != std::vector<int>{n.inputs[0], n.inputs[1]} ||
          st.outputs != std::vector<int>{n.output})
        bad(fmt::format("GPU step {} is a take whose launch does not fit its program", s));
    }
    if (kind == GpuStep::Kind::Reduce && (dynamic || k.launches.empty())) {  // planned per call: its node says how
      const TraceNode* n = st.nodes.size() == 1 ? &t.nodes[st.nodes[0]] : nullptr;
      const bool index = n && n->kind == NodeKind::Reduce && kind_of_reduce_is_index(*n);
      if (!dynamic || !k.launches.empty() || !n || n->kind != NodeKind::Reduce || n->inputs.size() != 1 ||
          st.inputs != std::vector<int>{n->inputs[0]} || st.outputs != std::vector<int>{n->output} ||
          k.ptx.size() != any_size_reduction_modules(index) ||
          std::any_of(n->ints.begin(), n->ints.end(),
                      [&](int64_t a) { return a < 0 || a >= t.values[n->inputs[0]].shape.rank(); }))
        bad(fmt::format("GPU step {} is a reduction planned per call that does not fit its node", s));
    }
    const int64_t slots = k.num_inputs + k.num_outputs + static_cast<int64_t>(k.temp_bytes.size());
    for (const GpuLaunch& l : k.launches)
      for (const GpuArg& a : l.args)
        if (a.kind == GpuArg::Kind::Buffer && (a.slot < 0 || a.slot >= slots || a.sizes.size() != a.strides.size()))
          bad(fmt::format("GPU step {}: kernel {} binds buffer slot {} of {}", s, l.function, a.slot, slots));
    for (int v : st.inputs)
      if (!defined[v]) bad(fmt::format("GPU step {} reads value {} before it is made", s, v));
    for (int v : st.outputs) defined[v] = 1;
  }
  for (int v : t.outputs)
    if (!defined[v]) bad(fmt::format("output value {} is never made", v));
}

}  // namespace

const char* ejit_version() { return EJIT_VERSION "+ops." EJIT_OPS_ABI; }

std::string write_manifest(const ExportManifest& m) {
  ByteWriter w;
  w.string(kManifestMagic);
  w.u32(kManifestFormat);
  w.string(m.ejit_version);
  w.string(m.target);
  w.string(m.cpu);
  w.u32(static_cast<uint32_t>(m.features.size()));
  for (const std::string& f : m.features) w.string(f);
  w.u32(static_cast<uint32_t>(m.kernel_symbols.size()));
  for (const std::string& s : m.kernel_symbols) w.string(s);
  w.string(m.name);
  // The traces first, so that the constants they share (a model's weights in every
  // signature) are written once, in the pool before them.
  ConstantPool pool;
  std::vector<std::string> traces, subs;
  for (const ExportedEntry& e : m.entries) {
    traces.push_back(serialize_trace(e.trace, &pool));
    for (const ExportedStep& s : e.steps)
      if (s.compiled) subs.push_back(serialize_trace(s.sub, &pool));
  }
  w.u32(static_cast<uint32_t>(pool.tensors.size()));
  for (const Tensor& t : pool.tensors) write_tensor(w, t);
  size_t next_trace = 0, next_sub = 0;
  w.u32(static_cast<uint32_t>(m.entries.size()));
  for (const ExportedEntry& e : m.entries) {
    w.string(traces[next_trace++]);
    if (m.target == "cuda") {
      w.u32(static_cast<uint32_t>(e.gpu_steps.size()));
      for (const ExportedGpuStep& s : e.gpu_steps) {
        w.u8(s.kind);
        write_ints(w, s.nodes);
        write_ints(w, s.inputs);
        write_ints(w, s.outputs);
        w.string(s.kernels);
        w.string(s.what);
      }
      continue;
    }
    write_ints(w, e.folded_from);
    w.u32(static_cast<uint32_t>(e.steps.size()));
    for (const ExportedStep& s : e.steps) {
      w.u8(s.compiled ? 1 : 0);
      write_ints(w, s.nodes);
      if (!s.compiled) continue;
      write_ints(w, s.inputs);
      write_ints(w, s.outputs);
      w.i64(s.kernel);
      w.i64(s.extent);
      w.string(subs[next_sub++]);
    }
  }
  return w.take();
}

ExportManifest read_manifest(std::string_view bytes) {
  ByteReader r(bytes);
  r.set_context("manifest ");
  if (r.string("magic") != kManifestMagic) r.fail_at(0, "magic", "not an ejit export manifest");
  const size_t at = r.offset();
  if (uint32_t f = r.u32("format"); f != kManifestFormat)
    r.fail_at(at, "format", fmt::format("format {} (this build reads format {})", f, kManifestFormat));
  ExportManifest m;
  m.ejit_version = r.string("ejit version");
  const size_t target_at = r.offset();
  m.target = r.string("target");
  if (m.target != "cpu" && m.target != "cuda") r.fail_at(target_at, "target", "neither cpu nor cuda");
  m.cpu = r.string("cpu");
  const uint32_t features = r.count("feature count", 8);
  for (uint32_t i = 0; i < features; ++i) m.features.push_back(r.string("feature"));
  const uint32_t kernels = r.count("kernel count", 8);
  for (uint32_t i = 0; i < kernels; ++i) {
    const size_t sym_at = r.offset();
    m.kernel_symbols.push_back(r.string("kernel symbol"));
    if (!valid_symbol(m.kernel_symbols.back())) r.fail_at(sym_at, "kernel symbol", "not a symbol name");
  }
  m.name = r.string("name");
  std::vector<Tensor> pool(r.count("constant pool size", 10));
  for (Tensor& t : pool) t = read_tensor(r, "pooled constant");
  const uint32_t entries = r.count("signature count", 8);
  if (entries == 0) r.fail_at(r.offset(), "signature count", "no signatures");
  for (uint32_t e = 0; e < entries; ++e) {
    ExportedEntry entry;
    r.set_context(fmt::format("manifest signature {} ", e));
    entry.trace = deserialize_trace(r.string("trace"), &pool);
    const int64_t values = static_cast<int64_t>(entry.trace.values.size());
    const int64_t nodes = static_cast<int64_t>(entry.trace.nodes.size());
    if (m.target == "cuda") {
      const uint32_t steps = r.count("GPU step count", 1 + 4 * 3 + 16);
      for (uint32_t s = 0; s < steps; ++s) {
        ExportedGpuStep st;
        st.kind = r.u8("GPU step kind");
        st.nodes = read_ints(r, "GPU step nodes", 0, nodes);
        st.inputs = read_ints(r, "GPU step inputs", 0, values);
        st.outputs = read_ints(r, "GPU step outputs", 0, values);
        st.kernels = r.string("GPU kernels");
        st.what = r.string("GPU step name");
        entry.gpu_steps.push_back(std::move(st));
      }
      check_gpu_entry(entry, e);
      m.entries.push_back(std::move(entry));
      continue;
    }
    entry.folded_from = read_ints(r, "folded transposes", -1, values);
    if (entry.folded_from.size() != entry.trace.values.size())
      r.fail_at(r.offset(), "folded transposes", "one per value expected");
    const uint32_t steps = r.count("step count", 9);
    for (uint32_t s = 0; s < steps; ++s) {
      ExportedStep st;
      const size_t kind_at = r.offset();
      const uint8_t compiled = r.u8("step kind");
      if (compiled > 1) r.fail_at(kind_at, "step kind", "neither 0 nor 1");
      st.compiled = compiled == 1;
      st.nodes = read_ints(r, "step nodes", 0, nodes);
      if (st.compiled) {
        st.inputs = read_ints(r, "step inputs", 0, values);
        st.outputs = read_ints(r, "step outputs", 0, values);
        const size_t k_at = r.offset();
        const int64_t k = r.i64("kernel");
        if (k < 0 || k >= static_cast<int64_t>(kernels)) r.fail_at(k_at, "kernel", fmt::format("no kernel {}", k));
        st.kernel = static_cast<int>(k);
        st.extent = r.i64("row extent");
        st.sub = deserialize_trace(r.string("kernel trace"), &pool);
      }
      entry.steps.push_back(std::move(st));
    }
    check_entry(entry, e, kernels);
    m.entries.push_back(std::move(entry));
  }
  r.set_context("manifest ");
  r.expect_end();
  return m;
}

std::string library_file(std::string_view shared_object, std::string_view manifest) {
  std::string file;
  file.reserve(shared_object.size() + manifest.size() + kTrailerBytes);
  file.append(shared_object).append(manifest);
  ByteWriter w;
  w.u64(manifest.size());
  w.u64(shared_object.size());
  file += w.data();
  ByteWriter sum;
  sum.u64(fnv1a_words(file.data(), file.size()));
  file += sum.data();
  file.append(kTrailerMagic, sizeof kTrailerMagic);
  return file;
}

std::pair<std::string_view, std::string_view> split_library_file(std::string_view file, const std::string& path) {
  auto bad = [&](const std::string& what) { fail("load_compiled", "{}: {}", path, what); };
  if (file.size() < kTrailerBytes || std::memcmp(file.data() + file.size() - 8, kTrailerMagic, 8) != 0)
    bad("not a library exported by ejit (no ejit trailer at its end; truncated, or another file)");
  ByteReader r(file.substr(file.size() - kTrailerBytes, 24));
  const uint64_t manifest = r.u64("manifest size"), object = r.u64("object size"), checksum = r.u64("checksum");
  const uint64_t body = file.size() - kTrailerBytes;
  if (manifest > body || object > body - manifest || object + manifest != body)
    bad(fmt::format("its trailer's sizes (object {} + manifest {} bytes) do not fit the file's {} bytes", object, manifest,
                    file.size()));
  if (fnv1a_words(file.data(), body + 16) != checksum) bad("its checksum does not match its contents (damaged or modified)");
  return {file.substr(0, object), file.substr(object, manifest)};
}

}  // namespace ejit::detail
