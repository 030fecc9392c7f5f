// SummaryWriter: TensorBoard event files (scalars, histograms, text, trace graphs); in
// ejit::summary (libejit_summary, which links protobuf), not in the core library.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

#include "ejit/tensor.h"
#include "ejit/trace.h"

namespace ejit {

/// When a SummaryWriter hands its buffered records to the file (it never starts a thread:
/// writes happen inside its calls).
struct SummaryOptions {
  /// Records buffered before they are written (0 or 1: each record at once).
  int max_queue = 10;
  /// A record that waited this many seconds is written with the next record (or flush()).
  double flush_secs = 120;
};

/// Writes one TensorBoard events file, logdir/events.out.tfevents.<secs>.<host>.<pid>.<n>
/// (n counts the writers of this process): TFRecord framing with masked CRC-32C around
/// tensorboard.Event protocol buffers, read by `tensorboard --logdir`. Thread-safe. Errors
/// are ejit::Error "[summary] ..." naming the tag, shape or path (with the system's reason).
/// Writing reads tensors on the host, so the calls that take tensors refuse to run while a
/// trace records (inside a jitted function): write summaries from a jitted step's results.
class SummaryWriter {
 public:
  /// Creates logdir (and its parents) and the events file, and writes its first record
  /// (file_version "brain.Event:2") at once.
  explicit SummaryWriter(const std::filesystem::path& logdir, SummaryOptions options = {});
  /// Flushes; never throws (a failure is printed to stderr).
  ~SummaryWriter();
  SummaryWriter(SummaryWriter&&) noexcept;
  SummaryWriter& operator=(SummaryWriter&&) noexcept;
  SummaryWriter(const SummaryWriter&) = delete;
  SummaryWriter& operator=(const SummaryWriter&) = delete;

  /// A point of the curve `tag` (stored as a float32 simple_value, as TensorBoard plots it).
  /// Tags are non-empty UTF-8; "/" groups them into sections (e.g. "train/loss").
  void scalar(std::string_view tag, double value, int64_t step);
  /// The value of a tensor with one element (any rank, any dtype; bool gives 0 or 1).
  void scalar(std::string_view tag, const Tensor& value, int64_t step);
  /// A histogram of every element of `values` (i32, i64, f32 or f64; not bool): count, min,
  /// max, sum, sum of squares and `buckets` (1 to 10000) buckets of equal width between min
  /// and max (one bucket when all values are equal). An empty tensor, or one holding a NaN or
  /// an infinity, is an error naming the tag (nothing is written).
  void histogram(std::string_view tag, const Tensor& values, int64_t step, int buckets = 30);
  /// A text summary (TensorBoard's Text tab renders it as Markdown); UTF-8.
  void text(std::string_view tag, std::string_view text, int64_t step);
  /// The trace as a graph for TensorBoard's Graphs tab: one node per trace input ("input_K"),
  /// per op ("<op>_<value id>", e.g. "matmul_7") and per output ("output_K"), each with its
  /// result's dtype and shape (attrs "dtype", "_output_shapes"; dynamic dims are -1) and the
  /// op's integer attributes ("ints"). A trace whose nodes use values it never defines is
  /// an error.
  void graph(const Trace& trace, int64_t step = 0);
  /// Writes every buffered record to the file (to the operating system; no fsync).
  void flush();
  /// The events file.
  std::filesystem::path path() const;

 private:
  struct Impl;
  Impl& impl() const;  // throws for a moved-from writer
  std::unique_ptr<Impl> impl_;
};

}  // namespace ejit
