// The binary trace format: recorded traces round-trip exactly (structure, hash, results);
// truncated, corrupt and forged bytes are "[load_compiled]" errors, never crashes.
#include <cstring>
#include <functional>
#include <limits>

#include "../../lib/trace/dynamic_dims.h"
#include "../../lib/trace/trace_binary.h"
#include "ejit/host_callback.h"
#include "test_util.h"

using namespace ejit;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using detail::deserialize_trace;
using detail::serialize_trace;

namespace {

using Fn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

Trace record(const Fn& fn, const std::vector<Tensor>& args) { return test::record_trace(fn, args); }

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

/// Serializes t, parses it back and checks the copy is the same trace, byte for byte when
/// serialized again; returns the copy.
Trace round_trip(const Trace& t) {
  const std::string bytes = serialize_trace(t);
  Trace back = deserialize_trace(bytes);
  REQUIRE(back.same_structure(t));
  REQUIRE(t.same_structure(back));
  REQUIRE(back.hash() == t.hash());
  REQUIRE(back.not_compilable == t.not_compilable);
  REQUIRE(serialize_trace(back) == bytes);
  return back;
}

/// Records fn on args, round-trips the trace and checks eval_trace gives identical outputs.
Trace check_fn(const Fn& fn, const std::vector<Tensor>& args) {
  Trace t = record(fn, args);
  Trace back = round_trip(t);
  std::vector<Tensor> want = eval_trace(t, args), got = eval_trace(back, args);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("output " << i);
    REQUIRE(same_bytes(got[i], want[i]));
  }
  return t;
}

/// x -> exp(x): values {f32 (2,), f32 (2,)}, one input, one Unary node, one output.
Trace tiny_trace() {
  Trace t;
  t.values = {{Shape{2}, DType::F32}, {Shape{2}, DType::F32}};
  t.inputs = {0};
  TraceNode n;
  n.kind = NodeKind::Unary;
  n.sub = static_cast<uint8_t>(UnaryOp::Exp);
  n.inputs = {0};
  n.output = 1;
  t.nodes.push_back(n);
  t.outputs = {1};
  return t;
}
// Byte offsets in serialize_trace(tiny_trace()): magic 8, version 4, value count 4, two
// values of 1 + 1 + 8 bytes, input count 4 and id 4, node count 4, then the node.
constexpr size_t kValueCountAt = 12, kInputIdAt = 40, kNodeCountAt = 44, kKindAt = 48, kSubAt = 49,
                 kNodeInputIdAt = 54, kOutputAt = 58, kIntCountAt = 62;

void set_u32(std::string& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

/// Requires f to throw an ejit::Error (not another exception) whose message starts with `prefix`
/// and contains `what`.
void require_error(const std::function<void()>& f, const std::string& prefix, const std::string& what) {
  try {
    f();
  } catch (const Error& e) {
    REQUIRE_THAT(e.what(), StartsWith(prefix) && Contains(what));
    return;
  }
  FAIL("no ejit::Error thrown (expected " << prefix << "..." << what << ")");
}

void require_load_error(const std::string& bytes, const std::string& what) {
  require_error([&] { deserialize_trace(bytes); }, "[load_compiled] ", what);
}

}  // namespace

TEST_CASE("trace_binary: elementwise, reductions, shape ops and several outputs round-trip", "[trace_binary]") {
  Fn fn = [](const std::vector<Tensor>& a) {
    Tensor x = a[0], y = a[1];
    Tensor e = exp(x) * y - sqrt(abs(y)) / (x + 2.f);  // unary, binary, constants, casts
    Tensor m = maximum(e, x) + tanh(-x);
    Tensor s = sum(m, {1});                               // reduction with axes
    Tensor am = argmax(m, 0);                             // index reduction
    Tensor mn = min(x, {0, 1});
    Tensor p = permute(m, {1, 0});                        // permute
    Tensor sl = slice(p, 0, 1, 4, 2);                     // slice with a step
    Tensor c = concat({x, y, m}, 0);                      // concat
    Tensor pd = pad(x, {{1, 0}, {2, 1}}, 1.5);            // pad with a value
    Tensor w = where(x > y, x, cast(y, DType::F64) * 3.0);  // compare, cast, where
    Tensor mm = matmul(x, permute(y, {1, 0}));
    Tensor r = reshape(mm, Shape{9});
    Tensor b = broadcast_to(reshape(s, Shape{3, 1}), Shape{3, 4});
    Tensor tk = take(x, tensor<int64_t>({2, 0}), 1);
    Tensor ia = index_add(y, tensor<int64_t>({1, -1, 1}), x * 2.f, 0);  // repeats add up
    Tensor sa = scatter_add(y, tensor<int64_t>({1, -1, 1}, {3, 1}), slice(x, 1, 0, 1), 1);
    return std::vector<Tensor>{s, am, mn, sl, c, pd, w, r, b, tk, e, ia, sa};
  };
  Trace t = check_fn(fn, {randn({3, 4}, 1), randn({3, 4}, 2)});
  REQUIRE(t.outputs.size() == 13);
  std::vector<bool> seen(kNumNodeKinds, false);
  for (const TraceNode& n : t.nodes) seen[static_cast<int>(n.kind)] = true;
  for (NodeKind k : {NodeKind::Constant, NodeKind::Unary, NodeKind::Binary, NodeKind::Cast, NodeKind::Where,
                     NodeKind::Reduce, NodeKind::MatMul, NodeKind::Reshape, NodeKind::Permute, NodeKind::BroadcastTo,
                     NodeKind::Slice, NodeKind::Concat, NodeKind::Pad, NodeKind::Take, NodeKind::IndexAdd,
                     NodeKind::ScatterAdd}) {
    INFO("node kind " << static_cast<int>(k));
    REQUIRE(seen[static_cast<int>(k)]);
  }
}

TEST_CASE("trace_binary: constants of every dtype and integer/bool computations round-trip", "[trace_binary]") {
  Fn fn = [](const std::vector<Tensor>& a) {
    Tensor i = a[0];  // i64
    Tensor bools = tensor<bool>({true, false, true, true});
    Tensor i32s = tensor<int32_t>({7, -3, 0, 2147483647});
    Tensor f64s = tensor<double>({1e300, -0.0, 3.25, std::numeric_limits<double>::denorm_min()});
    Tensor i64s = tensor<int64_t>({int64_t{1} << 62, -5, 0, 9});
    Tensor sel = where(bools, i, i64s);
    Tensor lg = logical_and(bools, i > 0);
    Tensor prodi = prod(cast(i32s, DType::I64) + i, {0});
    Tensor f = f64s * cast(i, DType::F64);
    Tensor g = gather(reshape(f, Shape{2, 2}), tensor<int64_t>({1, 0, 0, 1}, Shape{2, 2}), 1);
    Tensor empty = concat({slice(f, 0, 0, 0), f64s}, 0);  // a zero-size value
    return std::vector<Tensor>{sel, lg, prodi, f, g, empty, i32s};
  };
  Trace t = check_fn(fn, {tensor<int64_t>({3, -1, 0, 4})});
  std::vector<bool> dtypes(kNumDTypes, false);
  for (const TraceNode& n : t.nodes)
    if (n.kind == NodeKind::Constant) dtypes[static_cast<int>(n.constant.dtype())] = true;
  for (DType d : {DType::Bool, DType::I32, DType::I64, DType::F64}) {
    INFO(name(d));
    REQUIRE(dtypes[static_cast<int>(d)]);
  }
}

TEST_CASE("trace_binary: dynamic dims, size constants, not_compilable and empty traces round-trip", "[trace_binary]") {
  Fn fn = [](const std::vector<Tensor>& a) { return std::vector<Tensor>{exp(a[0]) * 2.f + mean(a[0], {0})}; };
  Trace small = record(fn, {randn({3, 4}, 1)}), big = record(fn, {randn({5, 4}, 1)});
  std::string why;
  std::optional<Trace> g = detail::generalize(small, big, why);
  INFO(why);
  REQUIRE(g);
  REQUIRE(detail::has_dynamic_dims(*g));
  bool size_constant = false;
  for (const TraceNode& n : g->nodes) size_constant |= n.kind == NodeKind::Constant && n.ints.size() == 2;
  REQUIRE(size_constant);
  Trace back = round_trip(*g);
  REQUIRE(detail::symbol_sources(back) == detail::symbol_sources(*g));

  Trace nc = tiny_trace();
  nc.not_compilable = "the values of a traced tensor were read on the host";
  round_trip(nc);
  round_trip(Trace{});
}

TEST_CASE("trace_binary: ByteWriter and ByteReader", "[trace_binary]") {
  detail::ByteWriter w;
  w.u8(0xAB);
  w.u32(0xDEADBEEF);
  w.i64(-42);
  w.f64(-2.5);
  w.string("hello");
  w.bytes("xyz", 3);
  const std::string b = w.take();
  REQUIRE(b.size() == 1 + 4 + 8 + 8 + 8 + 5 + 3);
  REQUIRE(static_cast<unsigned char>(b[1]) == 0xEF);  // little-endian
  detail::ByteReader r(b);
  REQUIRE(r.u8("a") == 0xAB);
  REQUIRE(r.u32("b") == 0xDEADBEEF);
  REQUIRE(r.i64("c") == -42);
  REQUIRE(r.f64("d") == -2.5);
  REQUIRE(r.string("e") == "hello");
  REQUIRE(r.remaining() == 3);
  REQUIRE(r.bytes(3, "f") == "xyz");
  REQUIRE(r.at_end());
  REQUIRE_NOTHROW(r.expect_end());
  require_error([&] { r.u8("extra"); }, "[load_compiled] extra at byte 37: truncated", "");

  detail::ByteReader counts(std::string_view("\xff\xff\xff\xff\0\0\0\0", 8));
  require_error([&] { counts.count("item count", 1); }, "[load_compiled] item count at byte 0: a count of 4294967295", "");
  detail::ByteReader str(std::string_view("\xff\xff\xff\xff\xff\xff\xff\x7f", 8));
  require_error([&] { str.string("name"); }, "[load_compiled] name at byte 0: truncated", "");
}

TEST_CASE("trace_binary: every truncation of a trace is an error", "[trace_binary]") {
  Fn fn = [](const std::vector<Tensor>& a) {
    return std::vector<Tensor>{sum(pad(a[0], {{1, 1}}, 2.0) * tensor<float>({1, 2, 3, 4}), {0}), a[0] > 0.5f};
  };
  const std::string bytes = serialize_trace(record(fn, {tensor<float>({1, 2})}));
  REQUIRE_NOTHROW(deserialize_trace(bytes));
  for (size_t n = 0; n < bytes.size(); ++n) {
    INFO("prefix of " << n << " of " << bytes.size() << " bytes");
    require_load_error(bytes.substr(0, n), "");
  }
}

TEST_CASE("trace_binary: corrupt bytes anywhere are errors or valid traces, never crashes", "[trace_binary]") {
  Fn fn = [](const std::vector<Tensor>& a) {
    return std::vector<Tensor>{concat({slice(a[0], 0, 1, std::nullopt), exp(a[0])}, 0) + tensor<float>({1, 2, 3})};
  };
  const Tensor x = tensor<float>({1, 2});
  const std::string bytes = serialize_trace(record(fn, {x}));
  for (size_t i = 0; i < bytes.size(); ++i)
    for (unsigned char m : {0x01, 0x80, 0xFF}) {
      std::string b = bytes;
      b[i] = static_cast<char>(b[i] ^ m);
      INFO("byte " << i << " xor " << static_cast<int>(m));
      try {
        Trace t = deserialize_trace(b);
        try {
          eval_trace(t, {x});  // a trace that loads is well formed enough to run or to refuse
        } catch (const Error&) {
        }
      } catch (const Error& e) {
        REQUIRE_THAT(e.what(), StartsWith("[load_compiled] "));
      }
    }
}

TEST_CASE("trace_binary: forged fields are located errors", "[trace_binary]") {
  const std::string good = serialize_trace(tiny_trace());
  REQUIRE(static_cast<NodeKind>(good[kKindAt]) == NodeKind::Unary);
  REQUIRE(static_cast<uint8_t>(good[kNodeInputIdAt]) == 0);
  REQUIRE(static_cast<uint8_t>(good[kOutputAt]) == 1);
  REQUIRE_NOTHROW(deserialize_trace(good));
  std::string b;

  b = good, b[0] = 'X';
  require_load_error(b, "magic at byte 0: not an ejit binary trace");
  b = good, b[8] = 2;
  require_load_error(b, "version at byte 8: format version 2");
  b = good, b[kKindAt] = 99;
  require_load_error(b, fmt::format("node 0 kind at byte {}: unknown node kind 99", kKindAt));
  b = good, b[kKindAt] = static_cast<char>(NodeKind::HostCall);
  require_load_error(b, "host_call");
  b = good, b[kSubAt] = static_cast<char>(kNumUnaryOps);
  require_load_error(b, fmt::format("node 0 sub at byte {}: unknown unary op", kSubAt));
  b = good, b[16] = 7;  // value 0's dtype
  require_load_error(b, "value 0 type dtype at byte 16: unknown dtype 7");
  b = good, b[17] = 17;  // value 0's rank
  require_load_error(b, "rank 17 exceeds the maximum rank 16");
  b = good, set_u32(b, kNodeInputIdAt, 1000);
  require_load_error(b, fmt::format("node 0 input 0 at byte {}: value id 1000 is out of range", kNodeInputIdAt));
  b = good, set_u32(b, kNodeInputIdAt, 1);
  require_load_error(b, "value 1 is used before");
  b = good, set_u32(b, kOutputAt, 0);
  require_load_error(b, "value 0 is already defined");
  b = good, set_u32(b, kInputIdAt, 2);
  require_load_error(b, "input 0 at byte 40: value id 2 is out of range");
  b = good, set_u32(b, kValueCountAt, 0xFFFFFFFF);
  require_load_error(b, "value count at byte 12: a count of 4294967295");
  b = good, set_u32(b, kNodeCountAt, 0x7FFFFFFF);
  require_load_error(b, "node count at byte 44: a count of 2147483647");
  b = good, set_u32(b, kIntCountAt, 0xFFFFFFF0);
  require_load_error(b, "node 0 int count at byte 62: a count of 4294967280");
  b = good, set_u32(b, b.size() - 8 - 4, 1000);  // the output id (before not_compilable's length)
  require_load_error(b, "output 0 at byte");
  b = good + '\0';
  require_load_error(b, fmt::format("end at byte {}: 1 trailing bytes", good.size()));

  // A negative dim that encodes no dynamic dim (bits above the encoding's).
  Trace t = tiny_trace();
  t.values[0].shape = t.values[1].shape = Shape{std::numeric_limits<int64_t>::min()};
  require_load_error(serialize_trace(t), "is no dynamic dim ejit encodes");

  // A unary node with two inputs; an output nothing defines.
  t = tiny_trace();
  t.nodes[0].inputs = {0, 0};
  require_load_error(serialize_trace(t), "a unary node with 2 inputs (1 expected)");
  t = tiny_trace();
  t.values.push_back({Shape{2}, DType::F32});
  t.outputs = {2};
  require_load_error(serialize_trace(t), "output 0 at byte");
  // A constant whose byte count disagrees with its shape, or whose type is not its value's.
  t = Trace{};
  t.values = {{Shape{3}, DType::I32}};
  TraceNode c;
  c.kind = NodeKind::Constant;
  c.output = 0;
  c.constant = tensor<int32_t>({1, 2, 3});
  t.nodes = {c};
  t.outputs = {0};
  const std::string cb = serialize_trace(t);
  REQUIRE(deserialize_trace(cb).nodes[0].constant.to_vector<int32_t>() == std::vector<int32_t>{1, 2, 3});
  // The constant's byte count is the u64 before its 12 data bytes, before outputs and not_compilable.
  const size_t count_at = cb.size() - 8 - 8 - 12 - 8;
  b = cb, b[count_at] = 13;
  require_load_error(b, fmt::format("constant byte count at byte {}: 13 bytes for (3,) i32 (which takes 12)", count_at));
  b = cb, b[count_at - 8] = static_cast<char>(0xFF);  // the constant's dim, now -1
  for (size_t i = 1; i < 8; ++i) b[count_at - 8 + i] = static_cast<char>(0xFF);
  require_load_error(b, fmt::format("node 0 constant dim at byte {}: negative dim -1", count_at - 8));
  t.values[0] = {Shape{4}, DType::I32};
  require_load_error(serialize_trace(t), "a constant of (3,) i32 for a value of (4,) i32");
  // A value whose shape has too many elements.
  t = tiny_trace();
  t.values[0].shape = Shape{int64_t{1} << 40, int64_t{1} << 40};
  require_load_error(serialize_trace(t), "too many elements");
  // An index_add node with two inputs, or without its axis; one that loads, but whose
  // operands do not fit, fails when it runs, naming the op.
  t = tiny_trace();
  t.nodes[0].kind = NodeKind::IndexAdd;
  t.nodes[0].sub = 0;
  t.nodes[0].ints = {0};
  t.nodes[0].inputs = {0, 0};
  require_load_error(serialize_trace(t), "a index_add node with 2 inputs (3 expected)");
  t.nodes[0].inputs = {0, 0, 0};
  t.nodes[0].ints = {};
  require_load_error(serialize_trace(t), "index_add");
  t.nodes[0].ints = {0};
  const Trace loaded = deserialize_trace(serialize_trace(t));
  REQUIRE_THROWS_WITH(eval_trace(loaded, {randn(t.values[0].shape, 1)}), Catch::Contains("[index_add] indices must be i32 or i64"));
  t.nodes[0].kind = NodeKind::ScatterAdd;
  t.nodes[0].inputs = {0, 0};
  require_load_error(serialize_trace(t), "a scatter_add node with 2 inputs (3 expected)");
  t.nodes[0].inputs = {0, 0, 0};
  const Trace scatter = deserialize_trace(serialize_trace(t));
  REQUIRE_THROWS_WITH(eval_trace(scatter, {randn(t.values[0].shape, 1)}), Catch::Contains("[scatter_add] "));
}

TEST_CASE("trace_binary: host callbacks cannot be exported", "[trace_binary]") {
  Fn fn = [](const std::vector<Tensor>& a) {
    return host_callback("double_it", [](const std::vector<Tensor>& in) { return std::vector<Tensor>{in[0] * 2.f}; },
                         {a[0]}, {TensorSpec{Shape{2}, DType::F32}});
  };
  Trace t = record(fn, {ones({2})});
  require_error([&] { serialize_trace(t); }, "[export] ", "'double_it'");
}

TEST_CASE("trace_binary: constants shared through a pool are written once and checked on read", "[trace_binary]") {
  const Tensor w = randn({16, 16}, 1), small = randn({3}, 2);
  Trace t;
  t.values = {{Shape{16, 16}, DType::F32}, {Shape{3}, DType::F32}, {Shape{16, 16}, DType::F32}};
  t.nodes = {TraceNode{NodeKind::Constant, 0, {}, 0, {}, 0, w}, TraceNode{NodeKind::Constant, 0, {}, 1, {}, 0, small}};
  t.nodes.push_back(TraceNode{NodeKind::Unary, static_cast<uint8_t>(UnaryOp::Exp), {0}, 2, {}, 0, {}});
  t.outputs = {2, 1};
  detail::ConstantPool pool;
  const std::string a = serialize_trace(t, &pool), b = serialize_trace(t, &pool);
  REQUIRE(pool.tensors.size() == 1);  // the 1 KB matrix; the 12-byte vector stays inline
  REQUIRE(a.size() < w.nbytes());
  const Trace back = deserialize_trace(b, &pool.tensors);
  REQUIRE(back.same_structure(t));
  REQUIRE(back.nodes[0].constant.raw_data() == w.raw_data());
  // A pooled constant without the pool, past its end, or of another type: located errors.
  REQUIRE_THAT(test::error_of([&] { deserialize_trace(a); }), StartsWith("[load_compiled]") && Contains("pool"));
  const std::vector<Tensor> empty;
  REQUIRE_THAT(test::error_of([&] { deserialize_trace(a, &empty); }), Contains("entry 0 of a pool of 0"));
  const std::vector<Tensor> wrong = {randn({4, 4}, 3)};
  REQUIRE_THAT(test::error_of([&] { deserialize_trace(a, &wrong); }), Contains("a constant of (4,4) f32 for a value of (16,16) f32"));
}
