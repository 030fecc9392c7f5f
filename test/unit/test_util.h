// Helpers shared by the unit tests: closeness checks against double references.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <functional>
#include <string>
#include <vector>

#include "ejit/ejit.h"

namespace ejit::test {

/// A folder unique to one test and this process (tests run in parallel), removed with its
/// contents at the end: <temp>/ejit-test-<name>-<pid>.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() / ("ejit-test-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// The path of `name` inside it.
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

/// True when got matches want within rel/abs tolerance; NaN matches NaN, inf matches inf.
inline bool close(double got, double want, double rel, double abs_tol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= abs_tol + rel * std::fabs(want);
}

/// Checks every element of t against `want` (row-major), reporting the first mismatch.
inline void check_values(const Tensor& t, const std::vector<double>& want, double rel = 1e-6, double abs_tol = 1e-6) {
  std::vector<double> got = t.to_vector<double>();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", want " << want[i]);
    REQUIRE(close(got[i], want[i], rel, abs_tol));
  }
}

/// Tensors of one shape, elementwise within tol relative to (1 + |b|) (b is the reference).
inline void require_close(const Tensor& a, const Tensor& b, double tol) {
  REQUIRE(a.shape() == b.shape());
  auto x = a.to_vector<double>(), y = b.to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i) {
    INFO("element " << i << ": " << x[i] << " vs " << y[i]);
    REQUIRE(std::fabs(x[i] - y[i]) <= tol * (1 + std::fabs(y[i])));
  }
}

/// The message of the ejit::Error that f throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

/// The trace of fn(args), args its inputs in order.
inline Trace record_trace(const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& args) {
  Recorder rec;
  rec.add_inputs(args);
  std::vector<Tensor> outs = fn(args);
  return rec.finish(outs);
}

/// A whole file's bytes ("" when it cannot be read), and a file written from bytes.
inline std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace ejit::test
