// Dataset stages: each node opens a source (one pass) that pulls elements from its input's source.
#include "ejit/data.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "../support/check.h"
#include "../core/observer.h"
#include "../support/profiler.h"
#include "ejit/ops.h"

namespace ejit {

using Element = Dataset::Element;

namespace detail {

/// One pass over a dataset: next() returns elements until nullopt.
struct DatasetNode;

struct DatasetSource {
  virtual ~DatasetSource() = default;
  virtual std::optional<Element> next() = 0;
  /// Set on the outermost source: keeps the pipeline's nodes alive while a pass runs.
  std::shared_ptr<const DatasetNode> keep;
};

/// A stage of a pipeline; immutable except for a shuffle's pass counter.
struct DatasetNode {
  virtual ~DatasetNode() = default;
  virtual std::unique_ptr<DatasetSource> open() const = 0;
  virtual int64_t cardinality() const = 0;
};

}  // namespace detail

namespace {

using detail::DatasetNode;
using detail::DatasetSource;
using NodePtr = std::shared_ptr<const DatasetNode>;
constexpr const char* kOp = "dataset";

// ---- from_tensors ----

struct TensorsNode : DatasetNode {
  std::vector<Tensor> components;
  int64_t size = 0;

  struct Source : DatasetSource {
    const TensorsNode* node;
    int64_t i = 0;
    std::optional<Element> next() override {
      if (i >= node->size) return std::nullopt;
      Element e;
      for (const Tensor& c : node->components) {
        Shape rest(std::span<const int64_t>(c.shape().begin() + 1, c.shape().end()));
        e.push_back(reshape(c.slice(0, i, i + 1), rest));
      }
      ++i;
      return e;
    }
  };
  std::unique_ptr<DatasetSource> open() const override {
    auto s = std::make_unique<Source>();
    s->node = this;
    return s;
  }
  int64_t cardinality() const override { return size; }
};

struct EmptyNode : DatasetNode {
  struct Source : DatasetSource {
    std::optional<Element> next() override { return std::nullopt; }
  };
  std::unique_ptr<DatasetSource> open() const override { return std::make_unique<Source>(); }
  int64_t cardinality() const override { return 0; }
};

// ---- shuffle ----

/// splitmix64: a small, well-mixed generator, the same on every platform.
struct SplitMix {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n) (multiply-shift; the bias is below 2^-40 for the sizes used here).
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64); }
};

struct ShuffleNode : DatasetNode {
  NodePtr input;
  int64_t buffer_size;
  uint64_t seed;
  mutable std::atomic<uint64_t> passes{0};

  struct Source : DatasetSource {
    std::unique_ptr<DatasetSource> in;
    int64_t buffer_size;
    SplitMix rng;
    std::vector<Element> buffer;
    bool filled = false, in_done = false;

    std::optional<Element> next() override {
      if (!filled) {
        filled = true;
        while (static_cast<int64_t>(buffer.size()) < buffer_size) {
          auto e = in->next();
          if (!e) {
            in_done = true;
            break;
          }
          buffer.push_back(std::move(*e));
        }
      }
      if (buffer.empty()) return std::nullopt;
      size_t i = rng.below(buffer.size());
      Element out = std::move(buffer[i]);
      std::optional<Element> refill = in_done ? std::nullopt : in->next();
      if (refill) {
        buffer[i] = std::move(*refill);
      } else {
        in_done = true;
        buffer[i] = std::move(buffer.back());
        buffer.pop_back();
      }
      return out;
    }
  };
  std::unique_ptr<DatasetSource> open() const override {
    auto s = std::make_unique<Source>();
    s->in = input->open();
    s->buffer_size = buffer_size;
    // A distinct, reproducible stream per pass: the pass number mixed into the seed.
    SplitMix mix{seed ^ 0x5851F42D4C957F2Dull};
    uint64_t pass = passes.fetch_add(1);
    s->rng = SplitMix{mix.next() + pass * 0xD1342543DE82EF95ull};
    s->rng.next();
    return s;
  }
  int64_t cardinality() const override { return input->cardinality(); }
};

// ---- batch ----

struct BatchNode : DatasetNode {
  NodePtr input;
  int64_t n;
  bool drop_remainder;

  struct Source : DatasetSource {
    std::unique_ptr<DatasetSource> in;
    const BatchNode* node;
    std::optional<Element> next() override {
      std::vector<Element> items;
      while (static_cast<int64_t>(items.size()) < node->n) {
        auto e = in->next();
        if (!e) break;
        if (!items.empty() && e->size() != items[0].size())
          fail(kOp, "batch: elements have {} and {} components", items[0].size(), e->size());
        items.push_back(std::move(*e));
      }
      if (items.empty() || (node->drop_remainder && static_cast<int64_t>(items.size()) < node->n)) return std::nullopt;
      Element out;
      for (size_t c = 0; c < items[0].size(); ++c) {
        std::vector<Tensor> parts;
        for (const Element& e : items) parts.push_back(e[c]);
        try {
          out.push_back(stack(parts, 0));
        } catch (const Error& err) {
          fail(kOp, "batch: component {} cannot be stacked: {}", c, err.what());
        }
      }
      return out;
    }
  };
  std::unique_ptr<DatasetSource> open() const override {
    auto s = std::make_unique<Source>();
    s->in = input->open();
    s->node = this;
    return s;
  }
  int64_t cardinality() const override {
    int64_t c = input->cardinality();
    if (c == Dataset::kInfinite) return c;
    return drop_remainder ? c / n : (c + n - 1) / n;
  }
};

// ---- repeat ----

struct RepeatNode : DatasetNode {
  NodePtr input;
  int64_t count;

  struct Source : DatasetSource {
    const RepeatNode* node;
    std::unique_ptr<DatasetSource> in;
    int64_t pass = 0;
    bool yielded = false;  // whether the current pass produced anything
    std::optional<Element> next() override {
      while (node->count == Dataset::kInfinite || pass < node->count) {
        if (!in) in = node->input->open(), yielded = false;
        if (auto e = in->next()) {
          yielded = true;
          return e;
        }
        in.reset();
        ++pass;
        if (!yielded) break;  // an empty pass: the rest would be empty too
      }
      return std::nullopt;
    }
  };
  std::unique_ptr<DatasetSource> open() const override {
    auto s = std::make_unique<Source>();
    s->node = this;
    return s;
  }
  int64_t cardinality() const override {
    int64_t c = input->cardinality();
    if (c == 0) return 0;
    if (count == Dataset::kInfinite || c == Dataset::kInfinite) return Dataset::kInfinite;
    return c * count;
  }
};

// ---- map, take ----

struct MapNode : DatasetNode {
  NodePtr input;
  Dataset::MapFn fn;

  struct Source : DatasetSource {
    std::unique_ptr<DatasetSource> in;
    const MapNode* node;
    std::optional<Element> next() override {
      auto e = in->next();
      if (!e) return std::nullopt;
      return node->fn(*e);
    }
  };
  std::unique_ptr<DatasetSource> open() const override {
    auto s = std::make_unique<Source>();
    s->in = input->open();
    s->node = this;
    return s;
  }
  int64_t cardinality() const override { return input->cardinality(); }
};

struct TakeNode : DatasetNode {
  NodePtr input;
  int64_t n;

  struct Source : DatasetSource {
    std::unique_ptr<DatasetSource> in;
    int64_t left;
    std::optional<Element> next() override {
      if (left <= 0) return std::nullopt;
      --left;
      return in->next();
    }
  };
  std::unique_ptr<DatasetSource> open() const override {
    auto s = std::make_unique<Source>();
    s->in = input->open();
    s->left = n;
    return s;
  }
  int64_t cardinality() const override {
    int64_t c = input->cardinality();
    return c == Dataset::kInfinite ? n : std::min(c, n);
  }
};

// ---- shard ----

struct ShardNode : DatasetNode {
  NodePtr input;
  int64_t count, index;

  struct Source : DatasetSource {
    std::unique_ptr<DatasetSource> in;
    int64_t count, index, position = 0;
    std::optional<Element> next() override {
      for (;;) {
        std::optional<Element> e = in->next();
        if (!e) return std::nullopt;
        if (position++ % count == index) return e;
      }
    }
  };
  std::unique_ptr<DatasetSource> open() const override {
    auto s = std::make_unique<Source>();
    s->in = input->open();
    s->count = count;
    s->index = index;
    return s;
  }
  int64_t cardinality() const override {
    const int64_t c = input->cardinality();
    return c == Dataset::kInfinite ? c : c / count + (index < c % count ? 1 : 0);
  }
};

// ---- prefetch ----

struct PrefetchNode : DatasetNode {
  NodePtr input;
  int64_t n;

  /// A producer thread fills a queue of at most n elements; the end or an error is queued last.
  struct Source : DatasetSource {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Element> queue;
    size_t capacity;
    bool finished = false, stop = false;
    std::exception_ptr error;
    std::thread thread;

    Source(std::unique_ptr<DatasetSource> in, size_t cap) : capacity(cap) {
      thread = std::thread([this, in = std::move(in)]() mutable { produce(*in); });
    }
    ~Source() override {
      {
        std::lock_guard lock(mu);
        stop = true;
      }
      cv.notify_all();
      thread.join();
    }
    void produce(DatasetSource& in) {
      detail::profile_thread_name("ejit prefetch");
      try {
        detail::PauseRecording pause;
        while (true) {
          {
            std::unique_lock lock(mu);
            cv.wait(lock, [&] { return stop || queue.size() < capacity; });
            if (stop) return;
          }
          auto e = in.next();  // outside the lock: the consumer takes elements meanwhile
          std::lock_guard lock(mu);
          if (!e) break;
          queue.push_back(std::move(*e));
          cv.notify_all();
        }
      } catch (...) {
        std::lock_guard lock(mu);
        error = std::current_exception();
      }
      std::lock_guard lock(mu);
      finished = true;
      cv.notify_all();
    }
    std::optional<Element> next() override {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return !queue.empty() || finished; });
      if (!queue.empty()) {
        Element e = std::move(queue.front());
        queue.pop_front();
        cv.notify_all();
        return e;
      }
      if (error) std::rethrow_exception(std::exchange(error, nullptr));
      return std::nullopt;
    }
  };
  std::unique_ptr<DatasetSource> open() const override {
    return std::make_unique<Source>(input->open(), static_cast<size_t>(n));
  }
  int64_t cardinality() const override { return input->cardinality(); }
};

template <class N>
std::shared_ptr<N> make_node(const NodePtr& input) {
  auto node = std::make_shared<N>();
  node->input = input;
  return node;
}

}  // namespace

// ---- Dataset ----

Dataset::Dataset() : node_(std::make_shared<EmptyNode>()) {}

Dataset Dataset::from_tensors(std::vector<Tensor> components) {
  if (components.empty()) fail(kOp, "from_tensors needs at least one tensor");
  auto node = std::make_shared<TensorsNode>();
  for (size_t i = 0; i < components.size(); ++i) {
    const Tensor& c = components[i];
    if (!c.defined()) fail(kOp, "from_tensors: component {} is undefined", i);
    if (c.rank() == 0) fail(kOp, "from_tensors: component {} is a scalar; elements are slices along dim 0", i);
    if (c.dim(0) != components[0].dim(0))
      fail(kOp, "from_tensors: components have {} and {} rows (shapes {} and {})", components[0].dim(0), c.dim(0),
           components[0].shape(), c.shape());
  }
  node->size = components[0].dim(0);
  node->components = std::move(components);
  return Dataset(node);
}

Dataset Dataset::shuffle(int64_t buffer_size, uint64_t seed) const {
  if (buffer_size < 1) fail(kOp, "shuffle: buffer size {} must be at least 1 (kFullShuffle for all)", buffer_size);
  if (buffer_size == kFullShuffle && cardinality() == kInfinite)
    fail(kOp, "shuffle: a full shuffle of an endless dataset; shuffle before repeat() or give a buffer size");
  auto node = make_node<ShuffleNode>(node_);
  node->buffer_size = buffer_size;
  node->seed = seed;
  return Dataset(node);
}

Dataset Dataset::batch(int64_t n, bool drop_remainder) const {
  if (n < 1) fail(kOp, "batch: size {} must be at least 1", n);
  auto node = make_node<BatchNode>(node_);
  node->n = n;
  node->drop_remainder = drop_remainder;
  return Dataset(node);
}

Dataset Dataset::repeat(int64_t count) const {
  if (count < 0 && count != kInfinite) fail(kOp, "repeat: count {} must be >= 0 or kInfinite", count);
  auto node = make_node<RepeatNode>(node_);
  node->count = count;
  return Dataset(node);
}

Dataset Dataset::map(MapFn fn) const {
  if (!fn) fail(kOp, "map: empty function");
  auto node = make_node<MapNode>(node_);
  node->fn = std::move(fn);
  return Dataset(node);
}

Dataset Dataset::take(int64_t n) const {
  if (n < 0) fail(kOp, "take: count {} must be >= 0", n);
  auto node = make_node<TakeNode>(node_);
  node->n = n;
  return Dataset(node);
}

Dataset Dataset::shard(int64_t count, int64_t index) const {
  if (count < 1) fail(kOp, "shard: count {} must be at least 1", count);
  if (index < 0 || index >= count) fail(kOp, "shard: index {} is out of range for {} shards", index, count);
  auto node = make_node<ShardNode>(node_);
  node->count = count;
  node->index = index;
  return Dataset(node);
}

Dataset Dataset::prefetch(int64_t n) const {
  if (n < 1) fail(kOp, "prefetch: buffer {} must be at least 1", n);
  auto node = make_node<PrefetchNode>(node_);
  node->n = n;
  return Dataset(node);
}

int64_t Dataset::cardinality() const { return node_->cardinality(); }

Dataset::Iterator Dataset::begin() const {
  detail::PauseRecording pause;
  auto source = node_->open();
  source->keep = node_;
  return Iterator(std::move(source));
}

// ---- Iterator ----

Dataset::Iterator::Iterator(std::unique_ptr<detail::DatasetSource> source) : source_(std::move(source)), done_(false) {
  advance();
}
Dataset::Iterator::Iterator(Iterator&&) noexcept = default;
Dataset::Iterator& Dataset::Iterator::operator=(Iterator&&) noexcept = default;
Dataset::Iterator::~Iterator() = default;

const Element& Dataset::Iterator::operator*() const {
  if (done_) fail(kOp, "dereferencing an iterator at the end of its pass");
  return current_;
}

Dataset::Iterator& Dataset::Iterator::operator++() {
  if (done_) fail(kOp, "advancing an iterator past the end of its pass");
  advance();
  return *this;
}

void Dataset::Iterator::advance() {
  // Pipeline work is input preparation, not part of a tape or a jit trace on this thread.
  detail::PauseRecording pause;
  std::optional<Element> e;
  try {
    e = source_->next();
  } catch (...) {
    done_ = true;
    current_.clear();
    source_.reset();  // joins a prefetch thread
    throw;
  }
  if (!e) {
    done_ = true;
    current_.clear();
    source_.reset();
    return;
  }
  current_ = std::move(*e);
}

}  // namespace ejit
