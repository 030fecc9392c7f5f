// .npy files: byte-exact layout by NumPy's format rules, round trips, version 2.0, errors.
#include <cstdio>

#include "ejit/npy.h"
#include "test_util.h"

using namespace ejit;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

/// A .npy file as NumPy lays it out: magic, version, header length, dict padded with spaces
/// and a newline to a multiple of 64 bytes, then the raw data.
std::string npy_file(char major, const std::string& dict, const std::string& data) {
  const size_t prefix = major == 1 ? 10 : 12;
  size_t total = prefix + dict.size() + 1;
  std::string header = dict + std::string((total + 63) / 64 * 64 - total, ' ') + "\n";
  std::string out = std::string("\x93NUMPY", 6) + major + '\0';
  for (size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return out + header + data;
}

std::string temp_path(const std::string& name) { return (std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp")) + "/ejit_test_" + name; }

}  // namespace

TEST_CASE("npy: the bytes NumPy writes for a (2, 3) float32 array", "[npy]") {
  // np.save(f, np.arange(6, dtype='<f4').reshape(2, 3)): header length 118 (0x76), so the
  // data starts at byte 128; the dict is padded with 58 spaces before its newline.
  const std::string expected =
      std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + std::string(58, ' ') + "\n" +
      std::string("\x00\x00\x00\x00" "\x00\x00\x80\x3f" "\x00\x00\x00\x40"
                  "\x00\x00\x40\x40" "\x00\x00\x80\x40" "\x00\x00\xa0\x40", 24);
  REQUIRE(expected.size() == 128 + 24);
  Tensor t = reshape(arange(0, 6, 1, DType::F32), {2, 3});
  REQUIRE(npy_bytes(t) == expected);

  Tensor back = parse_npy(expected);
  REQUIRE(back.dtype() == DType::F32);
  REQUIRE(back.shape() == Shape{2, 3});
  REQUIRE(back.to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("npy: dtype codes and shapes of rank 0 and 1", "[npy]") {
  REQUIRE(npy_bytes(tensor({true, false, true})) ==
          npy_file(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", std::string("\x01\x00\x01", 3)));
  REQUIRE(npy_bytes(scalar<int64_t>(258)) ==
          npy_file(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (), }", std::string("\x02\x01\0\0\0\0\0\0", 8)));
  REQUIRE(npy_bytes(tensor({-1}, {1, 1})) ==
          npy_file(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1), }", std::string("\xff\xff\xff\xff", 4)));
  REQUIRE(npy_bytes(zeros({0, 2}, DType::F64)) ==
          npy_file(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 2), }", ""));
  for (const std::string& b : {npy_bytes(zeros({3}, DType::F64)), npy_bytes(zeros({}, DType::Bool))})
    REQUIRE((b.find('\n') + 1) % 64 == 0);  // the data starts 64-byte aligned
}

TEST_CASE("npy: every dtype round-trips through a file", "[npy]") {
  const std::string path = temp_path("roundtrip.npy");
  for (DType dt : {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64}) {
    INFO(name(dt));
    Tensor t = cast(randn({3, 4, 5}, 7, DType::F64) * 10, dt);
    save_npy(path, t);
    Tensor back = load_npy(path);
    REQUIRE(back.dtype() == dt);
    REQUIRE(back.shape() == t.shape());
    REQUIRE(back.to_vector<double>() == t.to_vector<double>());
  }
  std::remove(path.c_str());
}

TEST_CASE("npy: reads format 2.0, double quotes, spacing and 1-D Fortran order", "[npy]") {
  Tensor t = parse_npy(npy_file(2, "{\"descr\":\"<i4\",\"fortran_order\":True,\"shape\":(2 ,)}", std::string("\x05\0\0\0\x07\0\0\0", 8)));
  REQUIRE(t.dtype() == DType::I32);
  REQUIRE(t.to_vector<int32_t>() == std::vector<int32_t>{5, 7});
}

TEST_CASE("npy: clear errors", "[npy]") {
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string data(8, '\0');
  REQUIRE_THROWS_WITH(load_npy("/nonexistent/x.npy"), StartsWith("[npy] cannot open '/nonexistent/x.npy'"));
  REQUIRE_THROWS_WITH(parse_npy("PK\x03\x04 not npy"), StartsWith("[npy]") && Contains("not a .npy file"));
  REQUIRE_THROWS_WITH(parse_npy(npy_file(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", data + data)),
                      StartsWith("[npy]") && Contains("Fortran-order"));
  REQUIRE_THROWS_WITH(parse_npy(npy_file(1, "{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }", data)),
                      StartsWith("[npy]") && Contains("unsupported dtype '<u2'"));
  REQUIRE_THROWS_WITH(parse_npy(npy_file(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data)),
                      Contains("big-endian"));
  REQUIRE_THROWS_WITH(parse_npy(npy_file(1, "{'descr': '<f4', 'shape': (2,), }", data)),
                      Contains("malformed header"));
  REQUIRE_THROWS_WITH(parse_npy(npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", data)),
                      Contains("malformed header"));
  REQUIRE_THROWS_WITH(parse_npy(npy_file(1, ok, data.substr(0, 5))), Contains("truncated data"));
  REQUIRE_THROWS_WITH(parse_npy(npy_file(4, ok, data)), Contains("unsupported format version 4.0"));
  REQUIRE_NOTHROW(parse_npy(npy_file(1, ok, data)));
}
