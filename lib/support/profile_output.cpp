// What a profile gives back: ejit::Profile, the Chrome trace-event JSON and the summary table.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <unordered_map>
#include <mutex>

#include "check.h"
#include "ejit/profiler.h"
#include "profiler.h"
#include "text_io.h"

extern "C" char* program_invocation_short_name;  // glibc

namespace ejit {
namespace detail {
namespace {

/// A JSON string: quotes, backslashes and control characters escaped; bytes that are not
/// UTF-8 become U+FFFD, so that a strict parser (Python's) reads every file.
void json_string(fmt::memory_buffer& out, std::string_view s) {
  out.push_back('"');
  size_t plain = 0;  // the common case: printable ASCII only, copied at once
  while (plain < s.size() && static_cast<unsigned char>(s[plain]) >= 0x20 && static_cast<unsigned char>(s[plain]) < 0x80 &&
         s[plain] != '"' && s[plain] != '\\')
    ++plain;
  out.append(s.data(), s.data() + plain);
  for (size_t i = plain; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else if (c < 0x20) {
        fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
      } else {
        out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    if (const size_t len = utf8_sequence_length(s, i)) {
      out.append(s.data() + i, s.data() + i + len);
      i += len;
    } else {
      const std::string_view replacement = "\\ufffd";
      out.append(replacement.data(), replacement.data() + replacement.size());
      ++i;
    }
  }
  out.push_back('"');
}

void append(fmt::memory_buffer& out, std::string_view s) { out.append(s.data(), s.data() + s.size()); }

void append_int(fmt::memory_buffer& out, uint64_t n) {
  const fmt::format_int f(n);
  out.append(f.data(), f.data() + f.size());
}

/// Nanoseconds as microseconds with three decimals (trace-event times are in us).
void json_us(fmt::memory_buffer& out, int64_t ns) {
  if (ns < 0) {
    out.push_back('-');
    ns = -ns;
  }
  append_int(out, static_cast<uint64_t>(ns / 1000));
  const int frac = static_cast<int>(ns % 1000);
  const char digits[4] = {'.', static_cast<char>('0' + frac / 100), static_cast<char>('0' + frac / 10 % 10),
                          static_cast<char>('0' + frac % 10)};
  out.append(digits, digits + 4);
}

/// A file written through a buffer flushed every megabyte; the first error is kept.
class JsonFile {
 public:
  explicit JsonFile(const std::string& path) : path_(path) {
    // O_NONBLOCK: a FIFO without a reader fails at once instead of blocking the program.
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      fail(errno);
      return;
    }
    struct stat st{};
    if (fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) error_ = fmt::format("cannot write the profile to {}: not a regular file", path);
  }
  ~JsonFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  fmt::memory_buffer& out() { return out_; }
  void flush_if_full() {
    if (out_.size() >= (1 << 20)) flush();
  }
  /// Writes what is left and closes: "" on success, else why.
  std::string finish() {
    flush();
    if (fd_ >= 0 && ::close(fd_) != 0 && error_.empty()) fail(errno);
    fd_ = -1;
    return error_;
  }

 private:
  void fail(int err) {
    if (error_.empty()) error_ = fmt::format("cannot write the profile to {}: {}", path_, std::strerror(err));
  }
  void flush() {
    if (error_.empty())
      if (const int err = write_all(fd_, out_.data(), out_.size())) fail(err);
    out_.clear();
  }

  std::string path_, error_;
  int fd_ = -1;
  fmt::memory_buffer out_;
};

std::string human_bytes(uint64_t b) {
  if (b == 0) return "";
  if (b < 1024) return fmt::format("{} B", b);
  if (b < (uint64_t{1} << 20)) return fmt::format("{:.1f} KB", b / 1024.0);
  if (b < (uint64_t{1} << 30)) return fmt::format("{:.1f} MB", b / 1048576.0);
  return fmt::format("{:.2f} GB", b / 1073741824.0);
}

/// Per event, its duration minus those of the events nested in it on the same thread
/// (events come ordered by start, longer first; one thread's spans nest).
std::vector<int64_t> self_times(const std::vector<ProfileData::Event>& events) {
  std::vector<int64_t> self(events.size());
  std::unordered_map<uint64_t, std::vector<size_t>> open;  // per thread: the spans that enclose the next event
  for (size_t i = 0; i < events.size(); ++i) {
    const ProfileData::Event& e = events[i];
    self[i] = e.duration_ns;
    if (e.counter) continue;
    std::vector<size_t>& stack = open[e.thread];
    auto end = [&](size_t k) { return events[k].start_ns + events[k].duration_ns; };
    while (!stack.empty() && end(stack.back()) <= e.start_ns && !(e.duration_ns == 0 && end(stack.back()) == e.start_ns))
      stack.pop_back();
    if (!stack.empty() && e.start_ns + e.duration_ns <= end(stack.back())) self[stack.back()] -= e.duration_ns;
    if (e.duration_ns > 0) stack.push_back(i);
  }
  return self;
}

int category_rank(const std::string& c) {
  static const char* const order[] = {"call", "compile", "stage", "op", "kernel", "interp", "blas", "gpu", "host_read", "alloc"};
  for (size_t i = 0; i < std::size(order); ++i)
    if (c == order[i]) return static_cast<int>(i);
  return static_cast<int>(std::size(order));
}

}  // namespace

std::string profile_write_json(const std::string& path, const ProfileData& d) {
  JsonFile file(path);
  fmt::memory_buffer& out = file.out();
  const long pid = static_cast<long>(getpid());
  append(out, "{\"traceEvents\":[\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":");
  append_int(out, static_cast<uint64_t>(pid));
  append(out, ",\"tid\":");
  append_int(out, static_cast<uint64_t>(pid));
  append(out, ",\"args\":{\"name\":");
  json_string(out, fmt::format("{} (ejit)", program_invocation_short_name ? program_invocation_short_name : "ejit"));
  append(out, "}}");
  for (const auto& [tid, name] : d.threads) {
    append(out, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":");
    append_int(out, static_cast<uint64_t>(pid));
    append(out, ",\"tid\":");
    append_int(out, tid);
    append(out, ",\"args\":{\"name\":");
    json_string(out, name);
    append(out, "}}");
  }
  for (const ProfileData::Event& e : d.events) {
    append(out, ",\n{\"name\":");
    json_string(out, d.name(e));
    append(out, ",\"cat\":");
    json_string(out, e.category);
    append(out, e.counter ? ",\"ph\":\"C\",\"ts\":" : ",\"ph\":\"X\",\"ts\":");
    json_us(out, e.start_ns);
    if (!e.counter) {
      append(out, ",\"dur\":");
      json_us(out, e.duration_ns);
    }
    append(out, ",\"pid\":");
    append_int(out, static_cast<uint64_t>(pid));
    append(out, ",\"tid\":");
    append_int(out, e.thread);
    append(out, ",\"args\":{");
    bool first = true;
    std::string_view rest = d.args(e);
    while (!rest.empty()) {  // "key=value" lines
      const size_t nl = rest.find('\n');
      const std::string_view line = rest.substr(0, nl);
      const size_t eq = line.find('=');
      if (!first) out.push_back(',');
      first = false;
      json_string(out, line.substr(0, eq));
      out.push_back(':');
      json_string(out, eq == std::string_view::npos ? std::string_view() : line.substr(eq + 1));
      if (nl == std::string_view::npos) break;
      rest.remove_prefix(nl + 1);
    }
    if (e.bytes || e.counter) {
      append(out, first ? "\"bytes\":" : ",\"bytes\":");
      append_int(out, e.bytes);
    }
    append(out, "}}");
    file.flush_if_full();
  }
  fmt::format_to(std::back_inserter(out),
                 "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{{\"producer\":\"ejit\",\"duration_ms\":\"{:.3f}\","
                 "\"dropped_events\":\"{}\"}}}}\n",
                 d.duration_ns / 1e6, d.dropped);
  return file.finish();
}

std::string profile_summary(const ProfileData& d, size_t top) {
  struct Row {
    uint64_t count = 0, bytes = 0;
    int64_t total = 0, self = 0;
  };
  const std::vector<int64_t> self = self_times(d.events);
  std::map<std::string, Row> categories;
  std::map<std::pair<std::string, std::string>, Row> names;
  size_t spans = 0;
  for (size_t i = 0; i < d.events.size(); ++i) {
    const ProfileData::Event& e = d.events[i];
    if (e.counter) continue;
    ++spans;
    for (Row* r : {&categories[e.category], &names[{e.category, std::string(d.name(e))}]}) {
      ++r->count;
      r->total += e.duration_ns;
      r->self += self[i];
      r->bytes += e.bytes;
    }
  }
  const double wall_ms = std::max<double>(d.duration_ns, 1) / 1e6;
  fmt::memory_buffer out;
  auto it = std::back_inserter(out);
  std::map<std::string, int> thread_names;  // "main", "ejit pool" x2...
  for (const auto& [tid, name] : d.threads) ++thread_names[name];
  std::string threads;
  for (const auto& [name, n] : thread_names)
    threads += fmt::format("{}{}{}", threads.empty() ? "" : ", ", name, n > 1 ? fmt::format(" x{}", n) : "");
  fmt::format_to(it, "ejit profile: {:.3f} s, {} events on {} thread{}{}{}\n", wall_ms / 1e3, spans, d.threads.size(),
                 d.threads.size() == 1 ? "" : "s", threads.empty() ? "" : " (" + threads + ")",
                 d.dropped ? fmt::format("; {} events dropped (a thread keeps at most 256 MB of them)", d.dropped) : "");
  if (categories.empty()) {
    fmt::format_to(it, "  nothing recorded\n");
    return fmt::to_string(out);
  }
  std::vector<std::string> order;
  for (const auto& [c, r] : categories) order.push_back(c);
  std::stable_sort(order.begin(), order.end(), [](const std::string& a, const std::string& b) {
    return category_rank(a) < category_rank(b);
  });
  fmt::format_to(it, "{:<12} {:>9} {:>11} {:>11} {:>8} {:>10}\n", "category", "count", "total ms", "self ms", "self %", "bytes");
  for (const std::string& c : order) {
    const Row& r = categories[c];
    fmt::format_to(it, "{:<12} {:>9} {:>11.3f} {:>11.3f} {:>7.1f}% {:>10}\n", c, r.count, r.total / 1e6, r.self / 1e6,
         100 * r.self / 1e6 / wall_ms, human_bytes(r.bytes));
  }
  for (const std::string& c : order) {
    std::vector<std::pair<std::string, Row>> rows;
    for (const auto& [key, r] : names)
      if (key.first == c) rows.emplace_back(key.second, r);
    std::stable_sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second.total > b.second.total; });
    const size_t shown = std::min(top, rows.size());
    size_t width = 4;
    for (size_t i = 0; i < shown; ++i) width = std::max(width, std::min<size_t>(rows[i].first.size(), 60));
    fmt::format_to(it, "\n{}: {} by total time\n", c,
                   shown == rows.size() ? fmt::format("{} name{}", shown, shown == 1 ? "" : "s")
                                        : fmt::format("top {} of {} names", shown, rows.size()));
    fmt::format_to(it, "  {:<{}} {:>9} {:>11} {:>11} {:>10} {:>7} {:>10}\n", "name", width, "count", "total ms", "self ms", "mean us",
         "% time", "bytes");
    for (size_t i = 0; i < shown; ++i) {
      const auto& [name, r] = rows[i];
      const std::string shown_name = name.size() > width ? name.substr(0, width - 3) + "..." : name;
      fmt::format_to(it, "  {:<{}} {:>9} {:>11.3f} {:>11.3f} {:>10.2f} {:>6.1f}% {:>10}\n", shown_name, width, r.count, r.total / 1e6,
           r.self / 1e6, r.total / 1e3 / static_cast<double>(r.count), 100 * r.total / 1e6 / wall_ms, human_bytes(r.bytes));
    }
  }
  return fmt::to_string(out);
}

std::string profile_write_file(const std::string& path, const std::string& text) {
  // O_NONBLOCK: a FIFO without a reader fails at once instead of blocking the program.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) return fmt::format("cannot write the profile to {}: {}", path, std::strerror(errno));
  struct stat st{};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fmt::format("cannot write the profile to {}: not a regular file", path);
  }
  if (const int err = write_all(fd, text.data(), text.size())) {
    ::close(fd);
    return fmt::format("cannot write the profile to {}: {}", path, std::strerror(err));
  }
  if (::close(fd) != 0) return fmt::format("cannot write the profile to {}: {}", path, std::strerror(errno));
  return "";
}

}  // namespace detail

std::string ProfileEvent::arg(std::string_view key) const {
  for (const auto& [k, v] : args)
    if (k == key) return v;
  return "";
}

struct Profile::Impl {
  std::filesystem::path path;
  mutable std::mutex mu;
  detail::ProfileSession* session = nullptr;  // while recording
  detail::ProfileData data;                   // once stopped

  /// f(the data): a snapshot while recording, else the stopped profile's.
  template <class F>
  auto with_data(F&& f) const {
    std::lock_guard lock(mu);
    if (session) return f(detail::profile_session_read(session, /*stop=*/false));
    return f(data);
  }
};

Profile::Profile(std::filesystem::path json) : impl_(std::make_unique<Impl>()) {
  if (!json.empty()) {
    if (std::string error = detail::profile_write_file(json.string(), ""); !error.empty()) fail("profile", "{}", error);
    impl_->path = std::move(json);
  }
  impl_->session = detail::profile_session_begin();
}

Profile::~Profile() {
  try {
    stop();
    if (!impl_->path.empty()) {
      const std::string error = detail::profile_write_json(impl_->path.string(), impl_->data);
      if (!error.empty()) fmt::print(stderr, "[profile] {}\n", error);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "[profile] could not finish the profile: {}\n", e.what());
  }
}

void Profile::stop() {
  std::lock_guard lock(impl_->mu);
  if (detail::ProfileSession* s = std::exchange(impl_->session, nullptr)) impl_->data = detail::profile_session_read(s, true);
}

bool Profile::recording() const {
  std::lock_guard lock(impl_->mu);
  return impl_->session != nullptr;
}

std::vector<ProfileEvent> Profile::events() const {
  return impl_->with_data([](const detail::ProfileData& d) { return d.public_events(); });
}

std::string Profile::summary(size_t top) const {
  return impl_->with_data([&](const detail::ProfileData& d) { return detail::profile_summary(d, top); });
}

void Profile::write(const std::filesystem::path& json) const {
  const std::string error =
      impl_->with_data([&](const detail::ProfileData& d) { return detail::profile_write_json(json.string(), d); });
  if (!error.empty()) fail("profile", "{}", error);
}

double Profile::seconds() const {
  return impl_->with_data([](const detail::ProfileData& d) { return d.duration_ns / 1e9; });
}

bool Profile::active() { return detail::profiling(); }

}  // namespace ejit
