// The binary trace format (see trace_binary.h), all fields little-endian:
//   "EJTRACE\0"  u32 version (1)
//   u32 value count,  per value: u8 dtype, u8 rank, rank x i64 dim (dynamic dims < 0)
//   u32 input count,  per input: u32 value id
//   u32 node count,   per node:  u8 kind, u8 sub, u32 input count, u32 value ids, u32 output id,
//                                u32 int count, i64 ints, f64 value, and for a Constant u8 0
//                                and its tensor (u8 dtype, u8 rank, i64 dims, u64 byte count,
//                                the bytes), or u8 1 and a u32 index into the caller's pool
//   u32 output count, per output: u32 value id
//   u64 length, bytes: not_compilable
// and nothing after it.
#include "trace_binary.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <iterator>

#include "../support/check.h"
#include "dynamic_dims.h"
#include "ejit/host_callback.h"

namespace ejit::detail {
namespace {

static_assert(std::endian::native == std::endian::little, "constants are saved as little-endian host bytes");

constexpr char kMagic[8] = {'E', 'J', 'T', 'R', 'A', 'C', 'E', '\0'};
/// A value of more bytes than this (128 TiB, the x86-64 user address space) cannot exist.
constexpr int64_t kMaxValueBytes = int64_t{1} << 47;
/// Bytes a value, node and tensor take at least (for count checks).
constexpr size_t kMinValueBytes = 2, kMinNodeBytes = 1 + 1 + 4 + 4 + 4 + 8;

std::string dims_str(const std::vector<int64_t>& dims) {
  std::string s = "(";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + (dims.size() == 1 ? ",)" : ")");
}

/// The number of inputs a node of kind k has; -1: one or more (concat).
int arity(NodeKind k) {
  switch (k) {
    case NodeKind::Constant: return 0;
    case NodeKind::Unary: case NodeKind::Cast: case NodeKind::Reduce: case NodeKind::Reshape:
    case NodeKind::Permute: case NodeKind::BroadcastTo: case NodeKind::Slice: case NodeKind::Pad: return 1;
    case NodeKind::Binary: case NodeKind::MatMul: case NodeKind::Take: case NodeKind::Gather: return 2;
    case NodeKind::Where: case NodeKind::IndexAdd: case NodeKind::ScatterAdd: return 3;
    case NodeKind::Concat: case NodeKind::HostCall: return -1;
  }
  return -1;
}

/// How many subs kind k has (1: sub is always 0).
int num_subs(NodeKind k) {
  switch (k) {
    case NodeKind::Unary: return kNumUnaryOps;
    case NodeKind::Binary: return kNumBinaryOps;
    case NodeKind::Reduce: return kNumReduceOps;
    default: return 1;
  }
}

const char* kind_name(NodeKind k) {
  constexpr const char* names[] = {"constant", "unary", "binary", "cast", "where", "reduce", "matmul", "reshape",
                                   "permute", "broadcast_to", "slice", "concat", "pad", "take", "gather", "host_call",
                                   "index_add", "scatter_add"};
  static_assert(std::size(names) == kNumNodeKinds);
  return names[static_cast<int>(k)];
}

void write_shape(ByteWriter& w, const Shape& s) {
  w.u8(static_cast<uint8_t>(s.rank()));
  for (int64_t d : s) w.i64(d);
}

/// A dtype, a rank and dims: dynamic dims (symbols) allowed only where `dynamic`; the
/// product of the non-zero static dims bounded as Tensor::empty bounds it, and their bytes
/// as a process can address.
ValueType read_type(ByteReader& r, std::string_view what, bool dynamic) {
  const size_t at = r.offset();
  const uint8_t dt = r.u8(fmt::format("{} dtype", what));
  if (dt >= kNumDTypes) r.fail_at(at, fmt::format("{} dtype", what), fmt::format("unknown dtype {}", dt));
  const DType dtype = static_cast<DType>(dt);
  const size_t rank_at = r.offset();
  const uint8_t rank = r.u8(fmt::format("{} rank", what));
  if (rank > kMaxRank)
    r.fail_at(rank_at, fmt::format("{} rank", what), fmt::format("rank {} exceeds the maximum rank {}", rank, kMaxRank));
  std::vector<int64_t> dims(rank);
  const size_t dims_at = r.offset();
  for (int64_t& d : dims) {
    const size_t d_at = r.offset();
    d = r.i64(fmt::format("{} dim", what));
    if (d < 0 && !dynamic) r.fail_at(d_at, fmt::format("{} dim", what), fmt::format("negative dim {}", d));
    if (d < 0 && !decode_dim(d))
      r.fail_at(d_at, fmt::format("{} dim", what), fmt::format("dim {} is no dynamic dim ejit encodes", d));
  }
  int64_t span = 1;
  for (int64_t d : dims)
    if (d > 0) {
      if (span > kMaxElements / d)
        r.fail_at(dims_at, fmt::format("{} shape", what),
                  fmt::format("shape {} has too many elements (at most 2^50)", dims_str(dims)));
      span *= d;
    }
  if (span > kMaxValueBytes / static_cast<int64_t>(itemsize(dtype)))
    r.fail_at(dims_at, fmt::format("{} shape", what),
              fmt::format("shape {} of {} takes more than 2^47 bytes", dims_str(dims), name(dtype)));
  return {Shape(dims), dtype};
}

/// A value id below n (ids are ints; n <= INT32_MAX).
int read_id(ByteReader& r, std::string_view what, size_t n) {
  const size_t at = r.offset();
  const uint32_t id = r.u32(what);
  if (id >= n) r.fail_at(at, what, fmt::format("value id {} is out of range (the trace has {} values)", id, n));
  return static_cast<int>(id);
}

/// A constant's contents after its type: byte count and bytes.
Tensor read_contents(ByteReader& r, const ValueType& t) {
  const size_t size_at = r.offset();
  const uint64_t nbytes = r.u64("constant byte count");
  const uint64_t expected = static_cast<uint64_t>(t.shape.numel()) * itemsize(t.dtype);  // bounded by read_type
  if (nbytes != expected)
    r.fail_at(size_at, "constant byte count",
              fmt::format("{} bytes for {} {} (which takes {})", nbytes, t.shape, name(t.dtype), expected));
  const std::string_view data = r.bytes(static_cast<size_t>(nbytes), "constant data");
  Tensor c = Tensor::empty(t.shape, t.dtype);
  if (nbytes) std::memcpy(c.raw_data(), data.data(), data.size());
  if (t.dtype == DType::Bool) {  // any non-zero byte is true, as .npy loading reads bools
    auto* p = static_cast<unsigned char*>(c.raw_data());
    for (size_t i = 0; i < c.nbytes(); ++i) p[i] = p[i] != 0;
  }
  return c;
}

/// A constant node's value: inline (its type, then contents) or an entry of `pool`.
Tensor read_constant(ByteReader& r, const ValueType& want, const std::vector<Tensor>* pool) {
  const size_t at = r.offset();
  const uint8_t where = r.u8("constant storage");
  if (where > 1) r.fail_at(at, "constant storage", fmt::format("storage {} is neither inline (0) nor pooled (1)", where));
  if (where == 1) {
    const size_t index_at = r.offset();
    const uint32_t index = r.u32("constant pool index");
    if (!pool || index >= pool->size())
      r.fail_at(index_at, "constant pool index",
                fmt::format("entry {} of a pool of {}", index, pool ? pool->size() : size_t{0}));
    const Tensor& c = (*pool)[index];
    if (c.shape() != want.shape || c.dtype() != want.dtype)
      r.fail_at(index_at, "constant pool index",
                fmt::format("a constant of {} {} for a value of {} {}", c.shape(), name(c.dtype()), want.shape, name(want.dtype)));
    return c;
  }
  const size_t type_at = r.offset();
  const ValueType t = read_type(r, "constant", false);
  if (t != want)
    r.fail_at(type_at, "constant type",
              fmt::format("a constant of {} {} for a value of {} {}", t.shape, name(t.dtype), want.shape, name(want.dtype)));
  return read_contents(r, t);
}

void write_contents(ByteWriter& w, const Tensor& host) {
  w.u64(host.nbytes());
  w.bytes(host.raw_data(), host.nbytes());
}

}  // namespace

// ---- ByteWriter / ByteReader ----

void ByteWriter::f64(double v) { u64(std::bit_cast<uint64_t>(v)); }

void ByteReader::fail_at(size_t offset, std::string_view field, std::string_view what) const {
  fail("load_compiled", "{}{} at byte {}: {}", context_, field, offset, what);
}

void ByteReader::need(size_t n, std::string_view field) const {
  if (n > remaining())
    fail_at(pos_, field,
            fmt::format("truncated: {} bytes needed, {} remain of {}", n, remaining(), bytes_.size()));
}

uint64_t ByteReader::le(int n, std::string_view field) {
  need(static_cast<size_t>(n), field);
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
  pos_ += static_cast<size_t>(n);
  return v;
}

double ByteReader::f64(std::string_view field) { return std::bit_cast<double>(le(8, field)); }

std::string_view ByteReader::bytes(size_t n, std::string_view field) {
  need(n, field);
  std::string_view out = bytes_.substr(pos_, n);
  pos_ += n;
  return out;
}

std::string ByteReader::string(std::string_view field) {
  const size_t at = pos_;
  const uint64_t n = u64(field);
  if (n > remaining())
    fail_at(at, field, fmt::format("truncated: a length of {} bytes, {} remain of {}", n, remaining(), bytes_.size()));
  return std::string(bytes(static_cast<size_t>(n), field));
}

uint32_t ByteReader::count(std::string_view field, size_t min_item_bytes) {
  const size_t at = pos_;
  const uint32_t n = u32(field);
  if (min_item_bytes == 0) min_item_bytes = 1;
  if (n > remaining() / min_item_bytes)
    fail_at(at, field,
            fmt::format("a count of {} items of at least {} bytes each, but only {} bytes remain", n, min_item_bytes,
                        remaining()));
  return n;
}

void ByteReader::expect_end() {
  if (!at_end()) fail_at(pos_, "end", fmt::format("{} trailing bytes after the last field", remaining()));
}

// ---- traces ----

void write_tensor(ByteWriter& w, const Tensor& t) {
  const Tensor host = t.to(Device::cpu());
  w.u8(static_cast<uint8_t>(host.dtype()));
  write_shape(w, host.shape());
  write_contents(w, host);
}

Tensor read_tensor(ByteReader& r, std::string_view what) {
  const ValueType t = read_type(r, what, false);
  return read_contents(r, t);
}

uint32_t ConstantPool::add(const Tensor& t) {
  const void* key = t.raw_data();
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].raw_data() == key && tensors[i].shape() == t.shape() && tensors[i].dtype() == t.dtype())
      return static_cast<uint32_t>(i);
  tensors.push_back(t);
  return static_cast<uint32_t>(tensors.size() - 1);
}

std::string serialize_trace(const Trace& trace, ConstantPool* pool) {
  ByteWriter w;
  w.bytes(kMagic, sizeof kMagic);
  w.u32(kTraceBinaryVersion);
  w.u32(static_cast<uint32_t>(trace.values.size()));
  for (const ValueType& v : trace.values) {
    w.u8(static_cast<uint8_t>(v.dtype));
    write_shape(w, v.shape);
  }
  w.u32(static_cast<uint32_t>(trace.inputs.size()));
  for (int id : trace.inputs) w.u32(static_cast<uint32_t>(id));
  w.u32(static_cast<uint32_t>(trace.nodes.size()));
  for (size_t k = 0; k < trace.nodes.size(); ++k) {
    const TraceNode& n = trace.nodes[k];
    if (n.kind == NodeKind::HostCall)
      fail("export", "node {} calls the host function '{}' (host_callback): a C++ callback cannot be saved; keep "
                     "host callbacks out of functions that are exported",
           k, n.host_call ? n.host_call->name : std::string("?"));
    w.u8(static_cast<uint8_t>(n.kind));
    w.u8(n.sub);
    w.u32(static_cast<uint32_t>(n.inputs.size()));
    for (int id : n.inputs) w.u32(static_cast<uint32_t>(id));
    w.u32(static_cast<uint32_t>(n.output));
    w.u32(static_cast<uint32_t>(n.ints.size()));
    for (int64_t i : n.ints) w.i64(i);
    w.f64(n.value);
    if (n.kind == NodeKind::Constant) {
      if (!n.constant.defined()) fail("export", "node {} is a constant without a value", k);
      const Tensor host = n.constant.to(Device::cpu());
      if (pool && host.nbytes() >= ConstantPool::kMinBytes) {
        w.u8(1);
        w.u32(pool->add(host));
      } else {
        w.u8(0);
        w.u8(static_cast<uint8_t>(host.dtype()));
        write_shape(w, host.shape());
        write_contents(w, host);
      }
    }
  }
  w.u32(static_cast<uint32_t>(trace.outputs.size()));
  for (int id : trace.outputs) w.u32(static_cast<uint32_t>(id));
  w.string(trace.not_compilable);
  return w.take();
}

Trace deserialize_trace(std::string_view bytes, const std::vector<Tensor>* pool) {
  ByteReader r(bytes);
  const std::string_view magic = r.bytes(sizeof kMagic, "magic");
  if (magic != std::string_view(kMagic, sizeof kMagic)) r.fail_at(0, "magic", "not an ejit binary trace");
  const uint32_t version = r.u32("version");
  if (version != kTraceBinaryVersion)
    r.fail_at(sizeof kMagic, "version",
              fmt::format("format version {}; this build reads version {}", version, kTraceBinaryVersion));

  Trace t;
  const uint32_t num_values = r.count("value count", kMinValueBytes);
  if (num_values > static_cast<uint32_t>(INT32_MAX)) r.fail_at(r.offset() - 4, "value count", "too many values");
  t.values.reserve(num_values);
  for (uint32_t v = 0; v < num_values; ++v) {
    r.set_context(fmt::format("value {} ", v));
    t.values.push_back(read_type(r, "type", true));
  }
  r.set_context("");

  // defined[v]: v is a trace input or a node's output seen so far.
  std::vector<char> defined(num_values, 0);
  const uint32_t num_inputs = r.count("input count", 4);
  t.inputs.reserve(num_inputs);
  for (uint32_t i = 0; i < num_inputs; ++i) {
    const size_t at = r.offset();
    const std::string field = fmt::format("input {}", i);
    const int id = read_id(r, field, num_values);
    if (defined[id]) r.fail_at(at, field, fmt::format("value {} is already an input", id));
    defined[id] = 1;
    t.inputs.push_back(id);
  }

  const uint32_t num_nodes = r.count("node count", kMinNodeBytes);
  t.nodes.reserve(num_nodes);
  for (uint32_t k = 0; k < num_nodes; ++k) {
    r.set_context(fmt::format("node {} ", k));
    TraceNode n;
    const size_t kind_at = r.offset();
    const uint8_t kind = r.u8("kind");
    if (kind >= kNumNodeKinds) r.fail_at(kind_at, "kind", fmt::format("unknown node kind {}", kind));
    n.kind = static_cast<NodeKind>(kind);
    if (n.kind == NodeKind::HostCall)
      r.fail_at(kind_at, "kind", "a host_call node: a C++ callback cannot be loaded from a file");
    const char* kname = kind_name(n.kind);
    const size_t sub_at = r.offset();
    n.sub = r.u8("sub");
    if (n.sub >= num_subs(n.kind)) r.fail_at(sub_at, "sub", fmt::format("unknown {} op {}", kname, n.sub));

    const size_t count_at = r.offset();
    const uint32_t num_in = r.count("input count", 4);
    const int want = arity(n.kind);
    if (want >= 0 ? num_in != static_cast<uint32_t>(want) : num_in == 0)
      r.fail_at(count_at, "input count",
                fmt::format("a {} node with {} inputs ({} expected)", kname, num_in,
                            want >= 0 ? std::to_string(want) : std::string("at least 1")));
    n.inputs.reserve(num_in);
    for (uint32_t i = 0; i < num_in; ++i) {
      const size_t at = r.offset();
      const std::string field = fmt::format("input {}", i);
      const int id = read_id(r, field, num_values);
      if (!defined[id])
        r.fail_at(at, field, fmt::format("value {} is used before a trace input or an earlier node defines it", id));
      n.inputs.push_back(id);
    }

    const size_t out_at = r.offset();
    n.output = read_id(r, "output", num_values);
    if (defined[n.output])
      r.fail_at(out_at, "output", fmt::format("value {} is already defined (by a trace input or an earlier node)", n.output));

    const size_t ints_at = r.offset();
    const uint32_t num_ints = r.count("int count", 8);
    n.ints.reserve(num_ints);
    for (uint32_t i = 0; i < num_ints; ++i) n.ints.push_back(r.i64("int"));
    auto bad_ints = [&](std::string_view expected) {
      r.fail_at(ints_at, "int count", fmt::format("a {} node with {} ints ({} expected)", kname, num_ints, expected));
    };
    switch (n.kind) {
      case NodeKind::Constant:  // a size constant of a generalized trace: {symbol, factor[, offset]}
        if (num_ints != 0 && num_ints != 2 && num_ints != 3) bad_ints("0, 2 or 3");
        break;
      case NodeKind::Slice:  // axis, start, step[, SliceBounds]
        if (num_ints != 3 && num_ints != 4) bad_ints("3 or 4");
        break;
      case NodeKind::Concat: case NodeKind::Take: case NodeKind::Gather: case NodeKind::IndexAdd: case NodeKind::ScatterAdd:
        if (num_ints != 1) bad_ints("1");
        break;
      case NodeKind::Pad: {
        const int rank = t.values[n.inputs[0]].shape.rank();
        if (num_ints != 2 * static_cast<uint32_t>(rank)) bad_ints(fmt::format("2 x rank {}", rank));
        break;
      }
      case NodeKind::Reduce: case NodeKind::Permute:
        if (num_ints > static_cast<uint32_t>(kMaxRank)) bad_ints(fmt::format("at most {}", kMaxRank));
        break;
      default:
        if (num_ints != 0) bad_ints("0");
    }
    n.value = r.f64("value");
    if (n.kind == NodeKind::Constant) n.constant = read_constant(r, t.values[n.output], pool);
    defined[n.output] = 1;
    t.nodes.push_back(std::move(n));
  }
  r.set_context("");

  const uint32_t num_outputs = r.count("output count", 4);
  t.outputs.reserve(num_outputs);
  for (uint32_t i = 0; i < num_outputs; ++i) {
    const size_t at = r.offset();
    const std::string field = fmt::format("output {}", i);
    const int id = read_id(r, field, num_values);
    if (!defined[id]) r.fail_at(at, field, fmt::format("value {} is defined by no trace input or node", id));
    t.outputs.push_back(id);
  }
  t.not_compilable = r.string("not_compilable");
  r.expect_end();
  return t;
}

}  // namespace ejit::detail
