// The profiler's recorder: every layer reports spans of time (eager ops, compiles and their
// stages, jitted calls and the steps inside them, GPU launches, allocations) and instants
// (host reads) here while a profile records (ejit::Profile, EJIT_PROFILE). When none does,
// a hook costs one relaxed atomic load and a branch: no clock read, no formatting.
//
// Events go to per-thread buffers (chunks published with release stores), so recording
// takes no lock; a profile reads them when it stops. In lib/support so that every layer,
// lib/cuda included, may report.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace ejit {
struct ProfileEvent;
}

namespace ejit::detail {

/// Set while at least one profile records.
extern std::atomic<bool> g_profiling;

/// Whether a profile records now: the only cost of every hook when none does.
inline bool profiling() noexcept { return g_profiling.load(std::memory_order_relaxed); }

/// The profiler's clock: the CPU's time-stamp counter where it is invariant (about 10 ns to
/// read here, against 28 for steady_clock), else steady_clock's nanoseconds. Events keep
/// ticks; a profile turns them into nanoseconds when it is read.
int64_t profile_ticks() noexcept;
/// A duration in nanoseconds as ticks of profile_ticks().
int64_t profile_ns_to_ticks(int64_t ns) noexcept;

/// A span of time on this thread, recorded as one event of `category` when profiling:
/// from construction to destruction (or to stop_clock()). Scopes of one thread nest.
/// Categories: op, compile, stage, call, kernel, interp, blas, gpu, host_read, alloc.
/// `category` must be a string literal (it is kept by pointer).
class ProfileScope {
 public:
  ProfileScope(const char* category, std::string_view name) noexcept {
    if (profiling()) [[unlikely]] begin(category, name);
  }
  /// A C string's length is taken only when profiling.
  ProfileScope(const char* category, const char* name) noexcept {
    if (profiling()) [[unlikely]] begin(category, name);
  }
  /// `name()` runs only when profiling: for names that cost something to make.
  template <class NameFn, std::enable_if_t<std::is_invocable_r_v<std::string, NameFn&>, int> = 0>
  ProfileScope(const char* category, NameFn&& name) noexcept {
    if (profiling()) [[unlikely]] begin_with(category, name);
  }
  ~ProfileScope() {
    if (slot_ >= 0) [[unlikely]] end();
  }
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

  /// Whether this scope records (a profile was recording when it began).
  explicit operator bool() const noexcept { return slot_ >= 0; }
  /// Adds key=value to the event's args.
  void arg(std::string_view key, std::string_view value) noexcept {
    if (slot_ >= 0) [[unlikely]] add_arg(key, value);
  }
  /// Adds key=value, formatted only when recording.
  template <class... A>
  void argf(std::string_view key, fmt::format_string<A...> format, A&&... args) noexcept {
    if (slot_ >= 0) [[unlikely]] {
      try {
        add_arg(key, fmt::format(format, std::forward<A>(args)...));
      } catch (...) {
      }
    }
  }
  /// Bytes the event moved or allocated (the summary's bytes column).
  void bytes(uint64_t n) noexcept {
    if (slot_ >= 0) [[unlikely]] set_bytes(n);
  }
  /// Appends " (tag)" to the event's name: how a jitted call ran.
  void tag(std::string_view tag) noexcept;
  /// Ends the measured time now; args added later do not count in it.
  void stop_clock() noexcept;
  /// The event's args ("key=value" lines, see profile_append_arg), or null when not recording.
  std::string* args_buffer() noexcept;

 private:
  template <class NameFn>
  void begin_with(const char* category, NameFn& name) noexcept {
    try {
      begin(category, name());
    } catch (...) {
    }
  }
  void begin(const char* category, std::string_view name) noexcept;
  void set_bytes(uint64_t n) noexcept;
  void add_arg(std::string_view key, std::string_view value) noexcept;
  void end() noexcept;

  int slot_ = -1;  // this scope's entry in the thread's open scopes, -1 when not recording
};

/// An instant (an event of no duration) on this thread: `args` as "key=value" lines
/// (profile_args makes them). Callers check profiling() first, to skip the formatting.
void profile_instant(const char* category, std::string_view name, std::string_view args, uint64_t bytes) noexcept;
/// A span whose times are known (compile stages, measured by the compiler): ticks.
void profile_span(const char* category, std::string_view name, int64_t start_ticks, int64_t duration_ticks,
                  std::string_view args = {}) noexcept;
/// A sample of a counter track (Perfetto draws it as a graph): `value` at this moment.
void profile_counter(const char* category, std::string_view name, uint64_t value) noexcept;
/// Appends key=value to an args string in the recorder's format.
void profile_append_arg(std::string& args, std::string_view key, std::string_view value);

/// Names this thread in profiles ("ejit pool", "ejit compile"); `name` must be a literal.
void profile_thread_name(const char* name) noexcept;

/// While alive (and profiling), labels this thread's work for events that ask for it: a
/// compile is named after the jitted function whose trace it compiles.
class ProfileLabel {
 public:
  explicit ProfileLabel(const std::string& label) noexcept {
    if (profiling()) [[unlikely]] push(&label);
  }
  ~ProfileLabel() {
    if (active_) [[unlikely]] pop();
  }
  ProfileLabel(const ProfileLabel&) = delete;
  ProfileLabel& operator=(const ProfileLabel&) = delete;
  /// The innermost label of this thread, or null.
  static const std::string* current() noexcept;

 private:
  void push(const std::string* label) noexcept;
  void pop() noexcept;
  const std::string* saved_ = nullptr;
  bool active_ = false;
};

// ---- sessions: what ejit::Profile and EJIT_PROFILE use ----

/// What a session recorded: events with times from its start (compact: names and args in
/// one text buffer; ProfileEvent is made only for ejit::Profile::events()), and its threads.
struct ProfileData {
  struct Event {
    const char* category;
    int64_t start_ns, duration_ns;
    uint64_t thread, bytes;
    size_t text;  // offset of the name, then the args ("key=value" lines), in `text`
    uint32_t name_size, args_size;
    bool counter;
  };
  int64_t duration_ns = 0;
  std::vector<Event> events;  // ordered by start, longer first
  std::string text;
  std::vector<std::pair<uint64_t, std::string>> threads;  // OS thread id, name
  uint64_t dropped = 0;  // events over the per-thread cap, not kept

  std::string_view name(const Event& e) const { return {text.data() + e.text, e.name_size}; }
  std::string_view args(const Event& e) const { return {text.data() + e.text + e.name_size, e.args_size}; }
  /// The public form of the events.
  std::vector<ProfileEvent> public_events() const;
};

class ProfileSession;
/// Starts recording for a new session (any number may record at once; each sees the
/// events that begin and end within its own lifetime).
ProfileSession* profile_session_begin();
/// What the session recorded so far; with `stop`, it also ends (and is freed).
ProfileData profile_session_read(ProfileSession* session, bool stop);

/// Writes the session as Chrome trace-event JSON (Perfetto and chrome://tracing open it),
/// streamed to `path`: "" on success, else why (the path and the system's reason).
std::string profile_write_json(const std::string& path, const ProfileData& data);
/// An aligned table: per category, then the top entries of each by total time.
std::string profile_summary(const ProfileData& data, size_t top);
/// Writes `text` to `path` (a regular file; a FIFO or a folder fails at once): "" on
/// success, else why.
std::string profile_write_file(const std::string& path, const std::string& text);

}  // namespace ejit::detail
