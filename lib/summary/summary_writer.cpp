// SummaryWriter: Event protocol buffers framed as TFRecords, buffered and appended to one file.
#include "ejit/summary.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "../support/check.h"
#include "../support/text_io.h"
#include "crc32c.h"
#include "event.pb.h"
#include "graph.pb.h"
#include "histogram.h"

namespace ejit {
namespace {

constexpr const char* kOp = "summary";
constexpr int kMaxBuckets = 10000;

std::string sys_error() { return std::strerror(errno); }

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void check_tag(std::string_view kind, std::string_view tag) {
  if (tag.empty()) fail(kOp, "{} with an empty tag", kind);
  if (!detail::valid_utf8(tag)) fail(kOp, "{} tag '{}' is not valid UTF-8", kind, tag);
}

/// Tensor-reading calls would be host reads inside a recorded trace.
void check_not_recording(std::string_view kind, std::string_view tag) {
  if (is_recording())
    fail(kOp, "{} '{}' called while a trace records (inside a jitted function): write summaries outside it, "
              "from the function's results", kind, tag);
}

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

/// One TFRecord: u64 length, masked CRC-32C of those 8 bytes, the data, masked CRC-32C of the data
/// (integers little-endian).
void append_record(std::string& out, const std::string& data) {
  char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((static_cast<uint64_t>(data.size()) >> (8 * i)) & 0xff);
  out.append(length, 8);
  put_u32(out, detail::mask_crc32c(detail::crc32c(length, 8)));
  out += data;
  put_u32(out, detail::mask_crc32c(detail::crc32c(data.data(), data.size())));
}

tensorboard::DataType proto_dtype(DType t) {
  switch (t) {
    case DType::Bool: return tensorboard::DT_BOOL;
    case DType::I32: return tensorboard::DT_INT32;
    case DType::I64: return tensorboard::DT_INT64;
    case DType::F32: return tensorboard::DT_FLOAT;
    case DType::F64: return tensorboard::DT_DOUBLE;
  }
  return tensorboard::DT_INVALID;
}

/// A node name TensorBoard accepts: [A-Za-z0-9.][A-Za-z0-9_.]* (other characters become '_').
std::string node_name_for(std::string_view op, int id) {
  std::string name = fmt::format("{}_{}", op, id);
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') c = '_';
  if (name[0] == '_') name.insert(0, "op");
  return name;
}

void set_output_type(tensorboard::NodeDef& node, const ValueType& type) {
  auto& attr = *node.mutable_attr();
  attr["dtype"].set_type(proto_dtype(type.dtype));
  tensorboard::TensorShapeProto* shape = attr["_output_shapes"].mutable_list()->add_shape();
  for (int64_t d : type.shape) shape->add_dim()->set_size(d < 0 ? -1 : d);
}

tensorboard::GraphDef graph_def(const Trace& trace) {
  const int n_values = static_cast<int>(trace.values.size());
  auto check_value = [&](int id, std::string_view what) {
    if (id < 0 || id >= n_values) fail(kOp, "graph: {} is value {}, but the trace has values 0..{}", what, id, n_values - 1);
  };
  tensorboard::GraphDef g;
  std::unordered_map<int, std::string> producer;  // value id -> the node that makes it
  auto define = [&](int id, const std::string& node, std::string_view what) {
    if (!producer.emplace(id, node).second) fail(kOp, "graph: {} defines value {} a second time", what, id);
  };
  for (size_t k = 0; k < trace.inputs.size(); ++k) {
    const int id = trace.inputs[k];
    check_value(id, fmt::format("input {}", k));
    tensorboard::NodeDef* node = g.add_node();
    node->set_name(fmt::format("input_{}", k));
    node->set_op("Input");
    set_output_type(*node, trace.values[id]);
    define(id, node->name(), fmt::format("input {}", k));
  }
  for (size_t k = 0; k < trace.nodes.size(); ++k) {
    const TraceNode& n = trace.nodes[k];
    const std::string op = node_name(n);
    check_value(n.output, fmt::format("the output of node {} ('{}')", k, op));
    tensorboard::NodeDef* node = g.add_node();
    node->set_name(node_name_for(op, n.output));
    node->set_op(op);
    for (int id : n.inputs) {
      auto it = producer.find(id);
      if (it == producer.end())
        fail(kOp, "graph: node {} ('{}') uses value {}, which no input or earlier node defines", k, op, id);
      node->add_input(it->second);
    }
    set_output_type(*node, trace.values[n.output]);
    if (!n.ints.empty()) {
      auto* ints = (*node->mutable_attr())["ints"].mutable_list();
      for (int64_t v : n.ints) ints->add_i(v);
    }
    if (n.kind == NodeKind::Pad) (*node->mutable_attr())["value"].set_f(static_cast<float>(n.value));
    define(n.output, node->name(), fmt::format("node {} ('{}')", k, op));
  }
  for (size_t k = 0; k < trace.outputs.size(); ++k) {
    const int id = trace.outputs[k];
    auto it = producer.find(id);
    if (it == producer.end()) fail(kOp, "graph: output {} is value {}, which no input or node defines", k, id);
    tensorboard::NodeDef* node = g.add_node();
    node->set_name(fmt::format("output_{}", k));
    node->set_op("Output");
    node->add_input(it->second);
    set_output_type(*node, trace.values[id]);
  }
  return g;
}

std::atomic<int> g_writer_count{0};

}  // namespace

struct SummaryWriter::Impl {
  std::filesystem::path path;
  SummaryOptions options;
  int fd = -1;
  std::mutex mutex;
  std::string pending;         // framed records not yet written
  int pending_records = 0;
  double oldest_pending = 0;   // wall time of the first pending record

  ~Impl() {
    if (fd >= 0) ::close(fd);
  }

  /// Writes the pending records; the caller holds the mutex.
  void flush_locked() {
    size_t done = 0;
    if (const int err = detail::write_all(fd, pending.data(), pending.size(), &done)) {
      pending.erase(0, done);
      fail(kOp, "cannot write to '{}': {}", path.string(), std::strerror(err));
    }
    pending.clear();
    pending_records = 0;
  }

  void write_event(tensorboard::Event& event) {
    const double now = now_seconds();
    event.set_wall_time(now);
    std::string data;
    if (!event.SerializeToString(&data)) fail(kOp, "cannot serialize an event for '{}'", path.string());
    std::lock_guard lock(mutex);
    if (pending_records == 0) oldest_pending = now;
    append_record(pending, data);
    ++pending_records;
    if (pending_records >= options.max_queue || now - oldest_pending >= options.flush_secs) flush_locked();
  }

  void write_value(int64_t step, tensorboard::Summary::Value value) {
    tensorboard::Event event;
    event.set_step(step);
    *event.mutable_summary()->add_value() = std::move(value);
    write_event(event);
  }
};

SummaryWriter::SummaryWriter(const std::filesystem::path& logdir, SummaryOptions options)
    : impl_(std::make_unique<Impl>()) {
  namespace fs = std::filesystem;
  if (logdir.empty()) fail(kOp, "empty log folder name");
  if (!(options.max_queue >= 0) || !(options.flush_secs >= 0))
    fail(kOp, "options max_queue = {} and flush_secs = {} must both be >= 0", options.max_queue, options.flush_secs);
  std::error_code ec;
  if (fs::exists(logdir, ec) && !fs::is_directory(logdir, ec))
    fail(kOp, "log folder '{}' exists and is not a folder", logdir.string());
  fs::create_directories(logdir, ec);
  if (ec) fail(kOp, "cannot create log folder '{}': {}", logdir.string(), ec.message());

  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::strcpy(host, "localhost");
  for (char* c = host; *c; ++c)
    if (*c == '/') *c = '_';
  const auto secs = static_cast<int64_t>(now_seconds());
  impl_->path = logdir / fmt::format("events.out.tfevents.{}.{}.{}.{}", secs, host, ::getpid(), g_writer_count++);
  impl_->options = options;
  impl_->fd = ::open(impl_->path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (impl_->fd < 0) fail(kOp, "cannot create '{}': {}", impl_->path.string(), sys_error());

  tensorboard::Event event;
  event.set_file_version("brain.Event:2");
  impl_->write_event(event);
  flush();
}

SummaryWriter::~SummaryWriter() {
  if (!impl_) return;
  try {
    flush();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ejit: %s (records lost)\n", e.what());  // fprintf never throws
  }
}

SummaryWriter::SummaryWriter(SummaryWriter&&) noexcept = default;

SummaryWriter& SummaryWriter::operator=(SummaryWriter&& o) noexcept {
  if (this != &o) {
    SummaryWriter old(std::move(*this));  // flushes and closes this writer's file
    impl_ = std::move(o.impl_);
  }
  return *this;
}

SummaryWriter::Impl& SummaryWriter::impl() const {
  if (!impl_) fail(kOp, "use of a moved-from SummaryWriter");
  return *impl_;
}

void SummaryWriter::scalar(std::string_view tag, double value, int64_t step) {
  Impl& w = impl();
  check_tag("scalar", tag);
  tensorboard::Summary::Value v;
  v.set_tag(std::string(tag));
  v.set_simple_value(static_cast<float>(value));
  w.write_value(step, std::move(v));
}

void SummaryWriter::scalar(std::string_view tag, const Tensor& value, int64_t step) {
  impl();
  check_tag("scalar", tag);
  if (!value.defined()) fail(kOp, "scalar '{}' of an undefined tensor", tag);
  if (value.numel() != 1)
    fail(kOp, "scalar '{}' needs a tensor with one element; got shape {} ({} elements)", tag, value.shape(),
         value.numel());
  check_not_recording("scalar", tag);
  scalar(tag, value.item<double>(), step);
}

void SummaryWriter::histogram(std::string_view tag, const Tensor& values, int64_t step, int buckets) {
  Impl& w = impl();
  check_tag("histogram", tag);
  if (!values.defined()) fail(kOp, "histogram '{}' of an undefined tensor", tag);
  if (values.dtype() == DType::Bool) fail(kOp, "histogram '{}' of a bool tensor (numbers only)", tag);
  if (buckets < 1 || buckets > kMaxBuckets) fail(kOp, "histogram '{}': {} buckets (1 to {})", tag, buckets, kMaxBuckets);
  if (values.numel() == 0) fail(kOp, "histogram '{}' of an empty tensor of shape {}", tag, values.shape());
  check_not_recording("histogram", tag);
  const std::vector<double> v = values.to_vector<double>();
  const auto bad = std::count_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); });
  if (bad > 0)
    fail(kOp, "histogram '{}': {} of the {} values of the tensor of shape {} are NaN or infinite", tag, bad, v.size(),
         values.shape());
  const detail::Histogram h = detail::make_histogram(v, buckets);
  tensorboard::Summary::Value value;
  value.set_tag(std::string(tag));
  tensorboard::HistogramProto* histo = value.mutable_histo();
  histo->set_min(h.min);
  histo->set_max(h.max);
  histo->set_num(h.num);
  histo->set_sum(h.sum);
  histo->set_sum_squares(h.sum_squares);
  for (double limit : h.limits) histo->add_bucket_limit(limit);
  for (double count : h.counts) histo->add_bucket(count);
  w.write_value(step, std::move(value));
}

void SummaryWriter::text(std::string_view tag, std::string_view text, int64_t step) {
  Impl& w = impl();
  check_tag("text", tag);
  if (!detail::valid_utf8(text)) fail(kOp, "text '{}' is not valid UTF-8", tag);
  tensorboard::Summary::Value value;
  value.set_tag(std::string(tag));
  value.mutable_metadata()->mutable_plugin_data()->set_plugin_name("text");
  tensorboard::TensorProto* t = value.mutable_tensor();
  t->set_dtype(tensorboard::DT_STRING);
  t->mutable_tensor_shape();  // rank 0
  t->add_string_val(std::string(text));
  w.write_value(step, std::move(value));
}

void SummaryWriter::graph(const Trace& trace, int64_t step) {
  Impl& w = impl();
  tensorboard::GraphDef g = graph_def(trace);
  tensorboard::Event event;
  event.set_step(step);
  if (!g.SerializeToString(event.mutable_graph_def()))
    fail(kOp, "cannot serialize the graph of a trace with {} nodes", trace.nodes.size());
  w.write_event(event);
}

void SummaryWriter::flush() {
  Impl& w = impl();
  std::lock_guard lock(w.mutex);
  w.flush_locked();
}

std::filesystem::path SummaryWriter::path() const { return impl().path; }

}  // namespace ejit
