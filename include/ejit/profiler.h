// Profiling: where the time goes. A Profile records, while it lives, the eager ops (name,
// input shapes, dtype, device), compiles and their stages, jitted calls and each step
// inside them (compiled kernels, interpreter ops, BLAS calls, GPU launches), host reads
// and allocations, from every thread; it writes Chrome trace-event JSON (open it in
// https://ui.perfetto.dev or chrome://tracing) and prints a summary table.
// EJIT_PROFILE=FILE.json profiles a whole run the same way.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ejit {

/// One recorded event: a span of time on one thread, an instant, or a counter sample.
struct ProfileEvent {
  /// op, compile, stage, call, kernel, interp, blas, gpu, host_read or alloc.
  std::string category;
  /// "add", "matmul"; a jitted function's name and how it ran ("step (compiled)"); a
  /// kernel's ops and output ("kernel mul,add,exp (12 ops) -> f32(64,128)"); a stage.
  std::string name;
  int64_t start_ns = 0;     ///< from the start of the profile
  int64_t duration_ns = 0;  ///< 0 for an instant (a host read) or a counter sample
  uint64_t thread = 0;      ///< the OS thread id (gettid)
  /// alloc: bytes allocated; host_read: bytes of the tensor read; gpu copies: bytes
  /// copied; a counter sample: its value; 0 for the others.
  uint64_t bytes = 0;
  bool counter = false;     ///< a counter sample ("cpu bytes in use"), not a span
  /// key/value pairs: an op's "shapes", "dtype", "device"; a compile's "inputs", "ops"...
  std::vector<std::pair<std::string, std::string>> args;

  /// The value of args' `key`, "" when absent.
  std::string arg(std::string_view key) const;
};

/// Records everything ejit does in this process from construction until stop() or
/// destruction. Profiles may overlap (each sees the events that begin and end during its
/// own lifetime), EJIT_PROFILE's included.
///
///   { ejit::Profile p("step.json"); step(x, y); p.stop(); fmt::print("{}", p.summary()); }
class Profile {
 public:
  /// Starts recording. With a path, the destructor writes the JSON there; a path that
  /// cannot be written is an ejit::Error here, naming it.
  explicit Profile(std::filesystem::path json = {});
  /// Stops; writes the JSON when a path was given (a failure then goes to stderr).
  ~Profile();
  Profile(const Profile&) = delete;
  Profile& operator=(const Profile&) = delete;

  /// Stops recording (later calls do nothing); the events stay readable.
  void stop();
  /// Whether it still records.
  bool recording() const;
  /// The events (so far, while it records), ordered by start time.
  std::vector<ProfileEvent> events() const;
  /// A table: time per category, then each category's `top` entries by total time (count,
  /// total and self ms, mean us, % of the profiled time, bytes).
  std::string summary(size_t top = 15) const;
  /// Writes Chrome trace-event JSON; throws ejit::Error naming the path when it cannot.
  void write(const std::filesystem::path& json) const;
  /// Wall time covered (so far), in seconds.
  double seconds() const;

  /// Whether any profile (a Profile or EJIT_PROFILE) records now.
  static bool active();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ejit
