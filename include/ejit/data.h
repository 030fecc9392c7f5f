// Dataset: a small input pipeline (from tensors, shuffle, batch, repeat, map, take, prefetch).
#pragma once

#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <vector>

#include "ejit/tensor.h"

namespace ejit {

namespace detail {
struct DatasetNode;
struct DatasetSource;
}  // namespace detail

/// An immutable description of a stream of elements; an element is a std::vector<Tensor>
/// (e.g. {image, label}). Each method returns a new Dataset and leaves this one as it was:
///
///   Dataset ds = Dataset::from_tensors({x, y}).shuffle(Dataset::kFullShuffle, 42).batch(32).prefetch(2);
///   for (int epoch = 0; epoch < 10; ++epoch)
///     for (const std::vector<Tensor>& b : ds) step(b[0], b[1]);   // b[0]: (32, ...) images
///
/// or by hand: `for (auto it = ds.begin(); it != ds.end(); ++it) use(*it);`. Each begin()
/// starts a fresh pass. Copies of a Dataset share their stages (and a shuffle's pass count).
class Dataset {
 public:
  using Element = std::vector<Tensor>;
  using MapFn = std::function<Element(const Element&)>;
  /// shuffle() buffer size that holds the whole input: a uniform permutation.
  static constexpr int64_t kFullShuffle = std::numeric_limits<int64_t>::max();
  /// repeat() count meaning forever; cardinality() of an endless dataset.
  static constexpr int64_t kInfinite = -1;

  /// An empty dataset (no elements).
  Dataset();

  /// Element i is {components[0][i], components[1][i], ...}: slices along dim 0, which must
  /// have the same size in every component (each of rank >= 1).
  static Dataset from_tensors(std::vector<Tensor> components);

  /// Keeps a buffer of `buffer_size` elements and emits a random one of them each time
  /// (kFullShuffle: a uniform permutation of the whole input). The order is a function of
  /// `seed` and of the pass number: the k-th pass over this dataset (each begin(), or each
  /// repetition under repeat()) uses its own order, the same in every run of the program.
  Dataset shuffle(int64_t buffer_size, uint64_t seed) const;

  /// Stacks `n` consecutive elements along a new dim 0 (component by component; their
  /// shapes must agree). The last, smaller batch is kept unless `drop_remainder`.
  Dataset batch(int64_t n, bool drop_remainder = false) const;

  /// Passes over the input `count` times (kInfinite: forever). A pass that yields nothing
  /// ends the repetition, so an empty input never spins.
  Dataset repeat(int64_t count = kInfinite) const;

  /// Applies fn to every element (on the thread that produces it: a prefetch() thread when
  /// a prefetch follows). Exceptions from fn reach the consumer.
  Dataset map(MapFn fn) const;

  /// The first `n` elements.
  Dataset take(int64_t n) const;

  /// Every `count`-th element, starting at element `index` (as tf.data's shard): the part
  /// of a data set that worker `index` of `count` reads (distributed::rank(), world_size()).
  /// Shard before shuffling or batching, so that the parts are disjoint and cover the input.
  Dataset shard(int64_t count, int64_t index) const;

  /// Produces up to `n` elements ahead on a background thread (a bounded queue). An exception
  /// in the producer is rethrown by the consumer after the elements before it; destroying the
  /// iterator early stops and joins the thread. Ops run on that thread are not seen by a
  /// GradientTape or jit recording of the consumer's thread.
  Dataset prefetch(int64_t n = 2) const;

  /// Number of elements of one full iteration, or kInfinite.
  int64_t cardinality() const;

  /// An input iterator over one pass: operator* is the current element, ++ moves on (and may
  /// throw what a stage threw), and it equals end() when the pass is over. Move-only.
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Element;
    using difference_type = std::ptrdiff_t;
    using pointer = const Element*;
    using reference = const Element&;

    Iterator() = default;
    Iterator(Iterator&&) noexcept;
    Iterator& operator=(Iterator&&) noexcept;
    ~Iterator();

    const Element& operator*() const;
    const Element* operator->() const { return &**this; }
    Iterator& operator++();
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return done_; }

   private:
    friend class Dataset;
    explicit Iterator(std::unique_ptr<detail::DatasetSource> source);
    void advance();
    std::unique_ptr<detail::DatasetSource> source_;
    Element current_;
    bool done_ = true;
  };

  /// Starts a pass (a prefetch stage starts its thread here) and reads the first element.
  Iterator begin() const;
  std::default_sentinel_t end() const { return {}; }

 private:
  explicit Dataset(std::shared_ptr<const detail::DatasetNode> node) : node_(std::move(node)) {}
  std::shared_ptr<const detail::DatasetNode> node_;
};

}  // namespace ejit
