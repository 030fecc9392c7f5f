// The recorder behind ejit::Profile and EJIT_PROFILE: per-thread event buffers, sessions,
// and the whole-run profile EJIT_PROFILE writes at exit.
//
// Each thread appends to its own buffer, a list of 64 KB chunks of packed records (a header
// and the name and args text, about 60-90 bytes an event: first touching fresh memory costs
// about 0.8 ns a byte here, so size is time). A record is written, then the chunk's size
// is published with a release store, so a reader on another thread (a profile that stops
// while others still record) sees whole records without a lock.
// Buffers are emptied only when no session records; the last session to stop waits for
// appends in flight (each thread's `busy` flag against g_profiling, both seq_cst) first.
#include "profiler.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "ejit/profiler.h"
#include "options.h"

namespace ejit::detail {

std::atomic<bool> g_profiling{false};

namespace {

/// A finished event's header; its name and args follow it in the chunk.
struct RecordHeader {
  const char* category;
  int64_t start, duration;  // ticks
  uint64_t bytes;
  uint16_t name_size, args_size;
  bool counter;
};
constexpr size_t kMaxName = 1024, kMaxArgs = 4096;  // longer ones are cut

constexpr size_t packed_size(size_t text) { return (sizeof(RecordHeader) + text + 7) / 8 * 8; }

struct Chunk {
  static constexpr uint32_t kBytes = 1 << 16;
  std::atomic<uint32_t> used{0};  // bytes of whole records, published with release
  std::atomic<Chunk*> next{nullptr};
  alignas(8) char data[kBytes];
};
static_assert(packed_size(kMaxName + kMaxArgs) <= Chunk::kBytes);

/// Past this many bytes of records a thread drops its events (counted) until the buffers
/// empty: about 3M events.
constexpr uint64_t kMaxBytesPerThread = uint64_t{256} << 20;
/// Chunks a live thread keeps between profiles (2 MB): profiles in a loop reuse them.
constexpr int kKeptChunks = 32;

struct Open {  // a scope that began and has not ended
  const char* category = "";
  std::string name, args;
  int64_t start = 0, end = -1;  // ticks
  uint64_t bytes = 0;
};

struct ThreadBuffer {
  uint64_t tid = 0;
  std::atomic<const char*> name{nullptr};
  Chunk* first = nullptr;  // set before the buffer is published; never changes
  Chunk* last = nullptr;   // the owner's, and the registry's while no session records
  uint64_t recorded = 0;   // bytes; likewise
  std::atomic<bool> busy{false};
  std::atomic<bool> alive{true};
  std::atomic<uint64_t> dropped{0};
  std::vector<Open> open;  // the owner's open scopes
  size_t depth = 0;
};

void free_chunks_after(Chunk* c) {
  Chunk* next = c->next.exchange(nullptr, std::memory_order_relaxed);
  while (next) {
    Chunk* after = next->next.load(std::memory_order_relaxed);
    delete next;
    next = after;
  }
}

struct Registry {
  std::mutex mu;
  std::vector<ThreadBuffer*> buffers;
  int sessions = 0;
};

thread_local ThreadBuffer* t_buffer = nullptr;
thread_local const char* t_name = nullptr;
thread_local const std::string* t_label = nullptr;
thread_local bool t_exited = false;

void after_fork_in_child();

Registry& registry() {
  static Registry* r = [] {
    // fork(): the lock is held across it, so the child never inherits a half-made list.
    pthread_atfork([] { registry().mu.lock(); }, [] { registry().mu.unlock(); }, [] { after_fork_in_child(); });
    return new Registry;  // never destroyed: threads may record while the process exits
  }();
  return *r;
}

/// Marks the thread's buffer dead when the thread ends (freed once no session records).
struct ExitMark {
  bool armed = false;
  ~ExitMark() {
    if (!armed) return;
    ThreadBuffer* b = t_buffer;
    t_buffer = nullptr;
    t_exited = true;
    if (b) b->alive.store(false, std::memory_order_release);
  }
};
thread_local ExitMark t_exit_mark;

ThreadBuffer& this_thread_buffer() {
  if (ThreadBuffer* b = t_buffer) [[likely]]
    return *b;
  auto* b = new ThreadBuffer;
  b->tid = static_cast<uint64_t>(syscall(SYS_gettid));
  b->name.store(t_name, std::memory_order_relaxed);
  b->first = b->last = new Chunk;
  {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    r.buffers.push_back(b);
  }
  if (!t_exited) t_exit_mark.armed = true;
  t_buffer = b;
  return *b;
}

/// Appends an event to this thread's buffer, unless recording stopped meanwhile.
void append(ThreadBuffer& b, const RecordHeader& h, std::string_view name, std::string_view args) noexcept {
  name = name.substr(0, kMaxName);
  args = args.substr(0, kMaxArgs);
  const size_t size = packed_size(name.size() + args.size());
  b.busy.store(true, std::memory_order_seq_cst);
  if (g_profiling.load(std::memory_order_seq_cst)) {
    if (b.recorded + size > kMaxBytesPerThread) {
      b.dropped.fetch_add(1, std::memory_order_relaxed);
    } else {
      try {
        Chunk* c = b.last;
        uint32_t used = c->used.load(std::memory_order_relaxed);
        if (used + size > Chunk::kBytes) {  // the next chunk: one kept from an earlier profile, or a new one
          Chunk* next = c->next.load(std::memory_order_relaxed);
          if (!next) {
            next = new Chunk;
            c->next.store(next, std::memory_order_release);
          }
          b.last = c = next;
          used = 0;
        }
        char* p = c->data + used;
        RecordHeader header = h;
        header.name_size = static_cast<uint16_t>(name.size());
        header.args_size = static_cast<uint16_t>(args.size());
        std::memcpy(p, &header, sizeof header);
        if (!name.empty()) std::memcpy(p + sizeof header, name.data(), name.size());
        if (!args.empty()) std::memcpy(p + sizeof header + name.size(), args.data(), args.size());  // data() may be null
        c->used.store(used + static_cast<uint32_t>(size), std::memory_order_release);
        b.recorded += size;
      } catch (...) {
        b.dropped.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  b.busy.store(false, std::memory_order_release);
}

/// A record of a span, an instant or a counter sample.
void record(const char* category, std::string_view name, std::string_view args, int64_t start, int64_t duration,
            uint64_t bytes, bool counter) noexcept {
  try {
    append(this_thread_buffer(), RecordHeader{category, start, duration, bytes, 0, 0, counter}, name, args);
  } catch (...) {
  }
}

// ---- the clock ----

bool invariant_tsc() {
#if defined(__x86_64__)
  static const bool yes = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    return __get_cpuid(0x80000007, &a, &b, &c, &d) && (d >> 8 & 1);
  }();
  return yes;
#else
  return false;
#endif
}

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Ticks and nanoseconds read together: the first reading of the process, and later ones to
/// measure the counter's rate against.
struct ClockPair {
  int64_t ticks, ns;
};
ClockPair clock_pair() {
  const int64_t t0 = profile_ticks(), ns = steady_ns(), t1 = profile_ticks();
  return {t0 + (t1 - t0) / 2, ns};
}
double rate(const ClockPair& from, const ClockPair& to) {
  return static_cast<double>(to.ns - from.ns) / static_cast<double>(to.ticks - from.ticks);
}

/// The first reading, and the rate measured over 1 ms after it: taken by the first session
/// before it starts recording (so that no event ever waits for it).
struct Calibration {
  ClockPair origin;
  double first_rate;
};
const Calibration& calibration() {
  static const Calibration c = [] {
    const ClockPair origin = clock_pair();
    if (!invariant_tsc()) return Calibration{origin, 1.0};
    ClockPair now = clock_pair();
    while (now.ns - origin.ns < 1'000'000) now = clock_pair();
    return Calibration{origin, rate(origin, now)};
  }();
  return c;
}

/// Nanoseconds per tick: measured from the origin to now once that is 10 ms or more (the
/// longer, the more precise), else the first 1 ms's rate.
double ns_per_tick() {
  if (!invariant_tsc()) return 1.0;
  const Calibration& c = calibration();
  const ClockPair now = clock_pair();
  return now.ns - c.origin.ns >= 10'000'000 ? rate(c.origin, now) : c.first_rate;
}

const char* thread_name(const ThreadBuffer& b) {
  if (const char* n = b.name.load(std::memory_order_relaxed)) return n;
  return b.tid == static_cast<uint64_t>(getpid()) ? "main" : "thread";
}

/// Ticks to nanoseconds from a session's start.
struct TickScale {
  int64_t origin = 0;  // ticks at the session's start
  double ns_per_tick = 1;
  int64_t ns(int64_t ticks) const { return std::llround(static_cast<double>(ticks) * ns_per_tick); }
};

/// Empties every buffer and frees those of ended threads; only while no session records
/// and no append is in flight.
void clear_buffers(Registry& r) {
  std::erase_if(r.buffers, [](ThreadBuffer* b) {
    if (!b->alive.load(std::memory_order_acquire)) {
      free_chunks_after(b->first);
      delete b->first;
      delete b;
      return true;
    }
    // A live thread keeps its first chunks, emptied, for the next profile (fresh chunks
    // cost page faults: profiles in a loop ran 1.5x slower with them).
    Chunk* c = b->first;
    for (int kept = 1; kept < kKeptChunks && c->next.load(std::memory_order_relaxed); ++kept) {
      c->used.store(0, std::memory_order_relaxed);
      c = c->next.load(std::memory_order_relaxed);
    }
    c->used.store(0, std::memory_order_relaxed);
    free_chunks_after(c);
    b->last = b->first;
    b->recorded = 0;
    b->dropped.store(0, std::memory_order_relaxed);
    return false;
  });
}

}  // namespace

/// Where a session began in each buffer that existed then.
class ProfileSession {
 public:
  int64_t start = 0;  // ticks
  std::unordered_map<const ThreadBuffer*, std::pair<const Chunk*, uint32_t>> marks;  // chunk, bytes used
};

int64_t profile_ticks() noexcept {
#if defined(__x86_64__)
  if (invariant_tsc()) return static_cast<int64_t>(__rdtsc());
#endif
  return steady_ns();
}

int64_t profile_ns_to_ticks(int64_t ns) noexcept {
  return std::llround(static_cast<double>(ns) / ns_per_tick());
}

void ProfileScope::begin(const char* category, std::string_view name) noexcept {
  try {
    ThreadBuffer& b = this_thread_buffer();
    if (b.depth == b.open.size()) b.open.emplace_back();
    Open& o = b.open[b.depth];
    o.category = category;
    o.name.assign(name);
    o.args.clear();
    o.bytes = 0;
    o.end = -1;
    slot_ = static_cast<int>(b.depth++);
    o.start = profile_ticks();
  } catch (...) {
    slot_ = -1;
  }
}

void ProfileScope::end() noexcept {
  const int64_t now = profile_ticks();
  ThreadBuffer* b = t_buffer;
  const size_t slot = static_cast<size_t>(slot_);
  slot_ = -1;
  if (!b || slot >= b->depth) return;
  const Open& o = b->open[slot];
  b->depth = slot;  // o stays valid: only a later begin() reuses it
  append(*b, RecordHeader{o.category, o.start, (o.end >= 0 ? o.end : now) - o.start, o.bytes, 0, 0, false}, o.name,
         o.args);
}

std::string* ProfileScope::args_buffer() noexcept { return slot_ >= 0 ? &t_buffer->open[slot_].args : nullptr; }

void ProfileScope::add_arg(std::string_view key, std::string_view value) noexcept {
  try {
    profile_append_arg(t_buffer->open[slot_].args, key, value);
  } catch (...) {
  }
}

void ProfileScope::set_bytes(uint64_t n) noexcept { t_buffer->open[slot_].bytes = n; }

void ProfileScope::tag(std::string_view tag) noexcept {
  if (slot_ < 0) [[likely]] return;
  try {
    std::string& name = t_buffer->open[slot_].name;
    name.append(" (").append(tag).append(")");
  } catch (...) {
  }
}

void ProfileScope::stop_clock() noexcept {
  if (slot_ >= 0) [[unlikely]] t_buffer->open[slot_].end = profile_ticks();
}

void profile_append_arg(std::string& args, std::string_view key, std::string_view value) {
  args.append(key).push_back('=');
  const size_t at = args.size();
  args.append(value);
  std::replace(args.begin() + static_cast<std::ptrdiff_t>(at), args.end(), '\n', ' ');
  args.push_back('\n');
}

void profile_span(const char* category, std::string_view name, int64_t start_ticks, int64_t duration_ticks,
                  std::string_view args) noexcept {
  if (profiling()) record(category, name, args, start_ticks, duration_ticks, 0, false);
}

void profile_instant(const char* category, std::string_view name, std::string_view args, uint64_t bytes) noexcept {
  if (profiling()) record(category, name, args, profile_ticks(), 0, bytes, false);
}

void profile_counter(const char* category, std::string_view name, uint64_t value) noexcept {
  if (profiling()) record(category, name, {}, profile_ticks(), 0, value, true);
}

void profile_thread_name(const char* name) noexcept {
  t_name = name;
  if (ThreadBuffer* b = t_buffer) b->name.store(name, std::memory_order_relaxed);
}

void ProfileLabel::push(const std::string* label) noexcept {
  saved_ = t_label;
  t_label = label;
  active_ = true;
}
void ProfileLabel::pop() noexcept { t_label = saved_; }
const std::string* ProfileLabel::current() noexcept { return t_label; }

ProfileSession* profile_session_begin() {
  Registry& r = registry();
  calibration();  // before recording: the clock's rate is measured here once
  auto* s = new ProfileSession;
  std::lock_guard lock(r.mu);
  for (const ThreadBuffer* b : r.buffers) {
    // The writer's chunk: the last one with records (emptied chunks kept from earlier
    // profiles may follow it). A chunk it moves on from meanwhile is read from the mark on.
    const Chunk* c = b->first;
    for (const Chunk* next; (next = c->next.load(std::memory_order_acquire)) && next->used.load(std::memory_order_acquire);)
      c = next;
    s->marks[b] = {c, c->used.load(std::memory_order_acquire)};
  }
  s->start = profile_ticks();
  if (r.sessions++ == 0) g_profiling.store(true, std::memory_order_seq_cst);
  return s;
}

ProfileData profile_session_read(ProfileSession* s, bool stop) {
  Registry& r = registry();
  ProfileData d;
  std::lock_guard lock(r.mu);
  const int64_t now = profile_ticks();
  const bool last = stop && --r.sessions == 0;
  if (last) {
    g_profiling.store(false, std::memory_order_seq_cst);
    for (const ThreadBuffer* b : r.buffers)
      while (b->busy.load(std::memory_order_seq_cst)) std::this_thread::yield();
  }
  const TickScale scale{s->start, ns_per_tick()};
  d.duration_ns = scale.ns(now - s->start);
  for (const ThreadBuffer* b : r.buffers) {
    auto mark = s->marks.find(b);
    const Chunk* c = mark != s->marks.end() ? mark->second.first : b->first;
    uint32_t from = mark != s->marks.end() ? mark->second.second : 0;
    bool any = false;
    for (; c; c = c->next.load(std::memory_order_acquire), from = 0) {
      const uint32_t used = c->used.load(std::memory_order_acquire);
      for (uint32_t at = from; at < used;) {
        RecordHeader h;
        std::memcpy(&h, c->data + at, sizeof h);
        const char* text = c->data + at + sizeof h;
        at += static_cast<uint32_t>(packed_size(h.name_size + h.args_size));
        if (h.start < s->start || h.start + h.duration > now) continue;
        const int64_t start = scale.ns(h.start - s->start);
        // Ends round as starts do, so that nested events stay nested.
        d.events.push_back({h.category, start, scale.ns(h.start + h.duration - s->start) - start, b->tid, h.bytes,
                            d.text.size(), h.name_size, h.args_size, h.counter});
        d.text.append(text, h.name_size + h.args_size);
        any = true;
      }
    }
    d.dropped += b->dropped.load(std::memory_order_relaxed);
    if (any) d.threads.emplace_back(b->tid, thread_name(*b));
  }
  if (stop) {
    if (last) clear_buffers(r);
    delete s;
  }
  std::stable_sort(d.events.begin(), d.events.end(), [](const ProfileData::Event& a, const ProfileData::Event& b) {
    return a.start_ns != b.start_ns ? a.start_ns < b.start_ns : a.duration_ns > b.duration_ns;
  });
  return d;
}

std::vector<ProfileEvent> ProfileData::public_events() const {
  std::vector<ProfileEvent> out;
  out.reserve(events.size());
  for (const Event& x : events) {
    ProfileEvent& e = out.emplace_back();
    e.category = x.category;
    e.name = name(x);
    e.start_ns = x.start_ns;
    e.duration_ns = x.duration_ns;
    e.thread = x.thread;
    e.bytes = x.bytes;
    e.counter = x.counter;
    std::string_view rest = args(x);
    while (!rest.empty()) {
      const size_t nl = rest.find('\n');
      const std::string_view line = rest.substr(0, nl);
      const size_t eq = line.find('=');
      e.args.emplace_back(line.substr(0, eq), eq == std::string_view::npos ? "" : line.substr(eq + 1));
      if (nl == std::string_view::npos) break;
      rest.remove_prefix(nl + 1);
    }
  }
  return out;
}

// ---- EJIT_PROFILE: the whole run, written at exit ----

namespace {

struct EnvProfile {
  std::string path;
  ProfileSession* session = nullptr;
};
EnvProfile& env_profile() {
  static EnvProfile* e = new EnvProfile;  // leaked: read at exit
  return *e;
}

void write_env_profile() {
  EnvProfile& e = env_profile();
  ProfileSession* s = std::exchange(e.session, nullptr);
  if (!s) return;
  try {
    const ProfileData d = profile_session_read(s, /*stop=*/true);
    const std::string error = profile_write_json(e.path, d);
    if (error.empty())
      fmt::print(stderr, "[ejit profile] wrote {}: {} events (open it in https://ui.perfetto.dev)\n", e.path,
                 d.events.size());
    else
      fmt::print(stderr, "[ejit profile] EJIT_PROFILE: {}\n", error);
    fmt::print(stderr, "{}", profile_summary(d, 15));
  } catch (const std::exception& ex) {
    fmt::print(stderr, "[ejit profile] EJIT_PROFILE={}: could not write the profile: {}\n", e.path, ex.what());
  }
}

/// path with `suffix` before its extension: run.json -> run.rank1.json.
std::string with_suffix(std::string path, const std::string& suffix) {
  const size_t slash = path.rfind('/'), dot = path.rfind('.');
  const size_t at = dot != std::string::npos && (slash == std::string::npos || dot > slash) ? dot : path.size();
  return path.insert(at, suffix);
}

/// Starts the whole-run profile when EJIT_PROFILE names a file that can be written.
bool start_env_profile() {
  try {
    const std::optional<std::string> path = options::profile_path();
    if (!path) return false;
    if (path->empty()) {
      fmt::print(stderr, "[ejit profile] EJIT_PROFILE is set but empty: not profiling (set it to FILE.json)\n");
      return false;
    }
    if (std::string error = profile_write_file(*path, ""); !error.empty()) {
      fmt::print(stderr, "[ejit profile] EJIT_PROFILE: {}; not profiling\n", error);
      return false;
    }
    EnvProfile& e = env_profile();
    e.path = *path;
    if (std::optional<std::string> rank = options::launcher_rank())  // under mpirun: a file per rank
      e.path = with_suffix(e.path, ".rank" + *rank);
    registry();  // its fork handlers first: the child below renames the file
    e.session = profile_session_begin();
    std::atexit(write_env_profile);
    return true;
  } catch (const std::exception& ex) {
    fmt::print(stderr, "[ejit profile] EJIT_PROFILE: {}; not profiling\n", ex.what());
    return false;
  }
}

/// In a fork()ed child only the forking thread exists: the others' buffers are forgotten
/// (never freed: one could have been caught mid-append). The whole-run profile goes on
/// and writes FILE.PID.json instead of the parent's FILE.json.
void after_fork_in_child() {
  Registry& r = registry();
  std::erase_if(r.buffers, [](ThreadBuffer* b) { return b != t_buffer; });
  EnvProfile& e = env_profile();
  if (e.session) e.path = with_suffix(e.path, fmt::format(".{}", static_cast<long>(getpid())));
  r.mu.unlock();
}

[[maybe_unused]] const bool g_env_profile_started = start_env_profile();

}  // namespace

}  // namespace ejit::detail
