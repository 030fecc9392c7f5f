// A compact binary form of a Trace, without MLIR: what exported libraries keep of their
// traces, loaded back from files that may be hostile. ByteWriter / ByteReader are the
// little-endian primitives it is written with, for other records of such files too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ejit/trace.h"

namespace ejit::detail {

/// Appends little-endian fields to a byte string.
class ByteWriter {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) { le(v, 4); }
  void u64(uint64_t v) { le(v, 8); }
  void i64(int64_t v) { le(static_cast<uint64_t>(v), 8); }
  /// The IEEE-754 bits, as u64.
  void f64(double v);
  /// A u64 byte count, then the bytes.
  void string(std::string_view s) {
    u64(s.size());
    out_.append(s);
  }
  /// n raw bytes (no count).
  void bytes(const void* p, size_t n) {
    if (n) out_.append(static_cast<const char*>(p), n);
  }

  size_t size() const { return out_.size(); }
  const std::string& data() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  std::string out_;
};

/// Reads what ByteWriter writes from untrusted bytes (it does not own them). Every read is
/// bounds-checked; every problem is an ejit::Error "[load_compiled] <context><field> at byte
/// <offset>: <what>" (field: what the caller calls the item; context: set_context()).
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}

  uint8_t u8(std::string_view field) { return static_cast<uint8_t>(le(1, field)); }
  uint32_t u32(std::string_view field) { return static_cast<uint32_t>(le(4, field)); }
  uint64_t u64(std::string_view field) { return le(8, field); }
  int64_t i64(std::string_view field) { return static_cast<int64_t>(le(8, field)); }
  double f64(std::string_view field);
  /// A u64 byte count (at most remaining()), then the bytes.
  std::string string(std::string_view field);
  /// The next n raw bytes (a view into the input).
  std::string_view bytes(size_t n, std::string_view field);
  /// A u32 count of items that each take at least min_item_bytes (>= 1) of what follows:
  /// a count the remaining bytes cannot hold is an error, so the caller may reserve it.
  uint32_t count(std::string_view field, size_t min_item_bytes);
  /// Throws unless every byte was read ("trailing bytes").
  void expect_end();

  size_t offset() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }
  bool at_end() const { return pos_ == bytes_.size(); }
  /// Prefixed to the field names of errors ("node 3 "); empty by default.
  void set_context(std::string context) { context_ = std::move(context); }

  /// Throws "[load_compiled] <context><field> at byte <offset>: <what>".
  [[noreturn]] void fail_at(size_t offset, std::string_view field, std::string_view what) const;

 private:
  uint64_t le(int n, std::string_view field);
  void need(size_t n, std::string_view field) const;

  std::string_view bytes_;
  size_t pos_ = 0;
  std::string context_;
};

/// Constants that several traces share (the same tensor: its data pointer, shape and dtype),
/// stored once by the caller; serialize_trace refers to them by index. Constants smaller than
/// kMinBytes stay inline.
struct ConstantPool {
  static constexpr size_t kMinBytes = 256;
  std::vector<Tensor> tensors;
  uint32_t add(const Tensor& t);
};

/// Format version serialize_trace writes and deserialize_trace reads.
inline constexpr uint32_t kTraceBinaryVersion = 1;

/// The trace as bytes (little-endian, versioned): its values' types (dynamic dims
/// included), inputs, nodes (kind, sub, inputs, output, ints, value, and constants' dtype,
/// shape and contents), outputs and not_compilable. Constants on a device are copied to
/// the host. Throws ejit::Error "[export] ..." for a trace it cannot represent: a HostCall
/// node (a C++ callback cannot be saved) or a Constant node without a value.
std::string serialize_trace(const Trace& trace, ConstantPool* pool = nullptr);

/// Parses bytes written by serialize_trace. The bytes are untrusted: counts, ids, kinds,
/// subs, dtypes, ranks, dims and sizes are checked, and the trace is well formed (each
/// value produced once, by one node or as a trace input; node inputs defined before the
/// node; outputs defined; each kind's input count; constants of their value's type); no
/// memory is reserved beyond what the remaining bytes can hold. Every problem throws
/// ejit::Error "[load_compiled] ..." naming the field and its byte offset. Constants are
/// on the CPU.
/// `pool`: the tensors a trace written with a ConstantPool refers to.
Trace deserialize_trace(std::string_view bytes, const std::vector<Tensor>* pool = nullptr);

/// A tensor as dtype, shape, byte count and bytes (host copy), and back from untrusted bytes
/// (limits as for trace values; "[load_compiled] ..." errors).
void write_tensor(ByteWriter& w, const Tensor& t);
Tensor read_tensor(ByteReader& r, std::string_view what);

}  // namespace ejit::detail
