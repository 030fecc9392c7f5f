// Object-based checkpoints: the variables of named Trackable objects, saved as a safetensors
// file and restored by object path ("model/encoder/dense_1/kernel"), never by order.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ejit/tensor.h"
#include "ejit/trackable.h"

namespace ejit {

/// What Checkpoint::restore matched and what it did not.
struct RestoreReport {
  /// Keys of the file whose values were assigned, in file order.
  std::vector<std::string> restored;
  /// Keys of the file that no variable of the checkpoint's objects has (e.g. an optimizer's
  /// slots when only the model is restored).
  std::vector<std::string> unmatched_file_entries;
  /// Paths of the objects' variables that the file does not hold (they keep their values).
  std::vector<std::string> unmatched_variables;

  /// True when every file entry and every variable was matched.
  bool complete() const { return unmatched_file_entries.empty() && unmatched_variables.empty(); }
  /// A few lines for people: counts, then the unmatched names.
  std::string str() const;
};

/// Named references to Trackable objects (modules, optimizers) whose variables are saved and
/// restored together:
///
///   Checkpoint ckpt{{"model", model}, {"optimizer", opt}};
///   ckpt.save("run/ckpt.safetensors");
///   RestoreReport r = Checkpoint{{"model", fresh_model}}.restore("run/ckpt.safetensors");
///
/// A key of the file is the object's name, '/', then the variable's path in that object. A name
/// may itself contain '/', so {"model/encoder", encoder} reads only the encoder of a saved model.
/// The checkpoint keeps references: the objects must outlive it. Their variables are listed
/// afresh on every save and restore.
class Checkpoint {
 public:
  /// One named object; the name is non-empty, with no empty path segment.
  struct Entry {
    std::string name;
    std::reference_wrapper<const Trackable> object;
  };

  Checkpoint(std::initializer_list<Entry> objects);
  explicit Checkpoint(std::vector<Entry> objects);

  /// Writes every variable to `path` (safetensors). Atomic: the data goes to PATH.tmp-<pid>,
  /// is flushed to disk, then renamed over `path`, so an interrupted save leaves any previous
  /// file whole. It first removes the PATH.tmp-<pid> files of saves whose process has died
  /// (never those of a live process). Throws ejit::Error "[checkpoint] ..." when it cannot write or when two
  /// variables share a key.
  void save(const std::string& path) const;

  /// Assigns (Variable::assign) each variable whose key is in the file. Matched entries must
  /// have the variable's dtype and shape. A file that is missing, truncated or malformed, or
  /// any mismatch, throws ejit::Error "[checkpoint] ..." before any variable changes. With
  /// `strict`, unmatched file entries or variables throw too (naming them); otherwise they are
  /// listed in the report.
  RestoreReport restore(const std::string& path, bool strict = false) const;

  /// Every variable by key ("model/dense/kernel"), in object order.
  std::vector<std::pair<std::string, Variable>> named_variables() const;

 private:
  std::vector<Entry> objects_;
};

/// A safetensors file's contents: tensors in file order and the string metadata.
struct SafeTensors {
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::map<std::string, std::string> metadata;
};

/// Writes tensors as a safetensors file (8-byte little-endian header length, JSON header
/// padded with spaces to 8 bytes, then the buffers back to back in the given order),
/// atomically as Checkpoint::save does. Names must be unique and not "__metadata__".
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

/// Reads and validates a whole safetensors file of dtypes BOOL, I32, I64, F32, F64 (others,
/// such as F16, are an error). Throws ejit::Error "[checkpoint] ..." naming the file, also for
/// a folder or anything but a regular file (a device, a FIFO, a link to one). The header is
/// read first and checked against the file's size before any tensor is allocated.
SafeTensors load_safetensors(const std::string& path);

/// The bytes save_safetensors writes (for tests and in-memory use).
std::string safetensors_bytes(const std::vector<std::pair<std::string, Tensor>>& tensors,
                              const std::map<std::string, std::string>& metadata = {});
/// Parses the bytes of a safetensors file; `what` names the source in error messages.
SafeTensors parse_safetensors(const std::string& bytes, const std::string& what = "<memory>");

namespace detail {
/// Test hook: the next save writes `after_bytes` of its temporary file, then throws (or, with
/// `crash`, ends the process with _exit(77), as a power cut would). A negative value disarms it.
void set_checkpoint_save_fault(int64_t after_bytes, bool crash = false);
}  // namespace detail

}  // namespace ejit
