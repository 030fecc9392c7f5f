// NumPy .npy read/write: the magic, a version, a Python-literal header dict, raw C-order data.
#include "ejit/npy.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "../support/check.h"
#include "../core/file.h"

namespace ejit {
namespace {

static_assert(std::endian::native == std::endian::little, ".npy support assumes a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// Headers are a small dict (NumPy itself refuses more than 10000 bytes by default).
constexpr uint64_t kMaxHeader = 1 << 20;

const char* descr_of(DType t) {
  constexpr const char* names[] = {"|b1", "<i4", "<i8", "<f4", "<f8"};
  return names[static_cast<int>(t)];
}

/// The dtype of a descr string ('<f4'); '=' (native) and '|' count as little-endian here.
DType dtype_of_descr(const std::string& d, const std::string& what) {
  if (d.size() >= 2 && d[0] == '>' && d != ">b1" && d != ">u1" && d != ">i1")
    fail("npy", "{}: big-endian data ('{}') is not supported; save it little-endian", what, d);
  std::string body = (d.size() >= 1 && (d[0] == '<' || d[0] == '|' || d[0] == '=' || d[0] == '>')) ? d.substr(1) : d;
  if (body == "b1" || body == "?") return DType::Bool;
  if (body == "i4") return DType::I32;
  if (body == "i8") return DType::I64;
  if (body == "f4") return DType::F32;
  if (body == "f8") return DType::F64;
  fail("npy", "{}: unsupported dtype '{}' (ejit reads bool, int32, int64, float32, float64)", what, d);
}

/// A reader for the header dict, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
class HeaderParser {
 public:
  HeaderParser(std::string_view s, const std::string& what) : s_(s), what_(what) {}

  struct Header {
    std::string descr;
    bool fortran_order = false;
    std::vector<int64_t> shape;
  };

  Header parse() {
    Header h;
    bool has_descr = false, has_order = false, has_shape = false;
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') break;
      std::string key = string();
      expect(':');
      if (key == "descr") h.descr = string(), has_descr = true;
      else if (key == "fortran_order") h.fortran_order = boolean(), has_order = true;
      else if (key == "shape") h.shape = tuple(), has_shape = true;
      else bad(fmt::format("unexpected key '{}'", key));
      skip_ws();
      if (peek() == ',') ++i_;
      else if (peek() != '}') bad("expected ',' or '}'");
    }
    if (!has_descr || !has_order || !has_shape) bad("the header needs 'descr', 'fortran_order' and 'shape'");
    return h;
  }

 private:
  [[noreturn]] void bad(const std::string& why) {
    constexpr size_t kShown = 200;  // enough for any valid header; a hostile one may be huge
    fail("npy", "{}: malformed header ({} at offset {}): {}{}", what_, why, i_, std::string(s_.substr(0, kShown)),
         s_.size() > kShown ? "..." : "");
  }
  void skip_ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  char peek() { return i_ < s_.size() ? s_[i_] : '\0'; }
  void expect(char c) {
    skip_ws();
    if (peek() != c) bad(fmt::format("expected '{}'", c));
    ++i_;
  }
  std::string string() {
    skip_ws();
    char q = peek();
    if (q != '\'' && q != '"') bad("expected a string");
    size_t end = s_.find(q, i_ + 1);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string out(s_.substr(i_ + 1, end - i_ - 1));
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_ws();
    if (s_.substr(i_, 4) == "True") return i_ += 4, true;
    if (s_.substr(i_, 5) == "False") return i_ += 5, false;
    bad("expected True or False");
  }
  std::vector<int64_t> tuple() {
    std::vector<int64_t> dims;
    expect('(');
    while (true) {
      skip_ws();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) bad("expected a dimension");
      int64_t d = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (d > (int64_t{1} << 50)) bad("dimension too large");
        d = d * 10 + (s_[i_++] - '0');
      }
      if (peek() == 'L') ++i_;  // Python 2 longs
      dims.push_back(d);
      skip_ws();
      if (peek() == ',') ++i_;
      else if (peek() != ')') bad("expected ',' or ')'");
    }
    ++i_;
    return dims;
  }

  std::string_view s_;
  size_t i_ = 0;
  const std::string& what_;
};

std::string shape_tuple(const Shape& s) {
  std::string out = "(";
  for (int i = 0; i < s.rank(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.rank() == 1 ? ",)" : ")");
}

/// Where a .npy file's data lies and what it holds, from its preamble and header.
struct Layout {
  DType dtype;
  Shape shape;
  uint64_t data_start;
  size_t nbytes;
};

/// Parses the preamble and header of a .npy file of `size` bytes and checks that the data they
/// announce is there; read(offset, n) gives n bytes of the file (n already checked against
/// size), so nothing is read or allocated beyond what the file holds.
template <class Read>
Layout parse_layout(uint64_t size, Read read, const std::string& what) {
  const std::string pre = read(0, static_cast<size_t>(std::min<uint64_t>(size, 12)));
  if (pre.size() < kMagicLen + 4 || std::memcmp(pre.data(), kMagic, kMagicLen) != 0)
    fail("npy", "{}: not a .npy file (no \\x93NUMPY magic)", what);
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(pre[i]); };
  const int major = byte(6), minor = byte(7);
  uint64_t header_len, header_start;
  if (major == 1) {
    header_len = byte(8) | byte(9) << 8;
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (pre.size() < 12) fail("npy", "{}: truncated header", what);
    header_len = byte(8) | byte(9) << 8 | byte(10) << 16 | static_cast<uint64_t>(byte(11)) << 24;
    header_start = 12;
  } else {
    fail("npy", "{}: unsupported format version {}.{} (ejit reads 1.0, 2.0 and 3.0)", what, major, minor);
  }
  if (header_len > kMaxHeader)
    fail("npy", "{}: corrupt header: its length {} is implausible (ejit reads up to {} bytes)", what, header_len,
         kMaxHeader);
  if (size - header_start < header_len)
    fail("npy", "{}: truncated header: it needs {} bytes, {} remain", what, header_len, size - header_start);
  const std::string text = read(header_start, static_cast<size_t>(header_len));
  auto h = HeaderParser(text, what).parse();
  DType dtype = dtype_of_descr(h.descr, what);
  if (h.fortran_order && h.shape.size() > 1)
    fail("npy", "{}: Fortran-order arrays are not supported; save with np.ascontiguousarray", what);
  if (h.shape.size() > static_cast<size_t>(kMaxRank))
    fail("npy", "{}: rank {} is more than ejit's limit of {}", what, h.shape.size(), kMaxRank);
  Shape shape(h.shape);
  int64_t span = 1;  // the product of the non-zero dims, bounded as Tensor::empty bounds it
  bool zero = false;
  for (int64_t d : h.shape) {
    if (d == 0) zero = true;
    else if (span > kMaxElements / d) fail("npy", "{}: shape {} is too large for a tensor", what, shape);
    else span *= d;
  }
  const uint64_t data_start = header_start + header_len;
  const size_t nbytes = zero ? 0 : static_cast<size_t>(span) * itemsize(dtype);
  if (size - data_start < nbytes)
    fail("npy", "{}: truncated data: shape {} of {} needs {} bytes, the file has {}", what, shape, name(dtype), nbytes,
         size - data_start);
  return {dtype, shape, data_start, nbytes};
}

/// Any non-zero byte of a bool tensor read from a file is true.
void normalize_bools(Tensor& t) {
  if (t.dtype() != DType::Bool) return;
  auto* p = static_cast<unsigned char*>(t.raw_data());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = p[i] != 0;
}

}  // namespace

std::string npy_bytes(const Tensor& t) {
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr_of(t.dtype()),
                                 shape_tuple(t.shape()));
  // Magic, version 1.0, 2-byte length, dict, spaces, '\n': a multiple of 64 bytes in all.
  size_t total = kMagicLen + 4 + dict.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict += '\n';
  if (dict.size() > 0xFFFF) fail("npy", "shape {} is too long for a version 1.0 header", t.shape());
  std::string out(kMagic, kMagicLen);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xFF);
  out += static_cast<char>(dict.size() >> 8);
  out += dict;
  Tensor host = t.to(Device::cpu());
  if (host.nbytes() != 0) out.append(static_cast<const char*>(host.raw_data()), host.nbytes());  // null when empty
  return out;
}

void save_npy(const std::string& path, const Tensor& t) {
  if (!t.defined()) fail("npy", "cannot save an undefined tensor to '{}'", path);
  std::string bytes = npy_bytes(t);
  std::ofstream f(path, std::ios::binary);
  if (!f) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) fail("npy", "cannot write '{}': it is a directory", path);
    fail("npy", "cannot open '{}' for writing", path);
  }
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) fail("npy", "error while writing '{}'", path);
}

Tensor parse_npy(const std::string& bytes, const std::string& what) {
  const Layout l = parse_layout(
      bytes.size(), [&](uint64_t offset, size_t n) { return bytes.substr(offset, n); }, what);
  Tensor t = Tensor::empty(l.shape, l.dtype);
  if (l.nbytes != 0) std::memcpy(t.raw_data(), bytes.data() + l.data_start, l.nbytes);
  normalize_bools(t);
  return t;
}

Tensor load_npy(const std::string& path) {
  detail::InputFile f("npy", path);
  const Layout l = parse_layout(
      f.size(), [&](uint64_t offset, size_t n) { return f.read(offset, n); }, "'" + path + "'");
  Tensor t = Tensor::empty(l.shape, l.dtype);
  f.read(l.data_start, t.raw_data(), l.nbytes);
  normalize_bools(t);
  return t;
}

}  // namespace ejit
