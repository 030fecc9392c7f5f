// jit(): record a function's ops on the first call for a signature, compile the trace to
// fused native code, and replay the compiled code on later calls.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ejit/compile.h"
#include "ejit/stage.h"
#include "ejit/tensor.h"
#include "ejit/trace.h"

namespace ejit {

/// When jit() compiles a new signature. Background (the default): the first call runs
/// eagerly and returns at once while a low-priority thread compiles; calls with that
/// signature run eagerly until the compiled code is ready, then use it. On the CPU that code
/// comes in two tiers: a first version with fast code generation (compiled in about half the
/// time, up to 2x slower), then the full compile replaces it. Sync: the first call
/// compiles before it returns (EJIT_COMPILE=sync makes it the process-wide default).
enum class CompileMode { Background, Sync };
/// The process-wide mode (functions without their own JitOptions::compile follow it).
void set_compile_mode(CompileMode mode);
CompileMode compile_mode();
/// Blocks until every compile queued so far, by any jitted function, has finished, second
/// tiers included (background compiles first use fast code generation, then recompile in
/// full: see CompileOptions::fast_codegen).
void wait_for_compiles();

/// Options of one jitted function.
struct JitOptions {
  std::optional<CompileMode> compile;  // unset: the process-wide compile_mode()
  /// Bounds on the function's cache: signatures kept (compiled or eager) and bytes of machine
  /// code kept. Past either, the least recently used signatures are evicted (a later call
  /// with one compiles it again, or loads it from the disk cache).
  size_t max_signatures = 64;
  size_t max_code_bytes = size_t{64} << 20;
  /// A host read of a traced value (item(), operator bool, to_vector(), at(), data<T>()) is a
  /// guard: the code after it compiles once per distinct value read, for at most this many
  /// values per read; past that the signature runs eagerly.
  size_t max_guard_variants = 8;
  /// Dynamic dims: a call that misses only because some dim sizes differ from a compiled
  /// signature's (none of them 0 or 1 on either side) compiles once with those dims
  /// dynamic; later calls with any sizes of them use that code.
  /// - Unset (the default): on, except for dims whose sizes the function's C++ code read
  ///   while recording (x.dim(0) > 100 ? ...: shape(), dim(), numel() of a traced tensor);
  ///   a size read that differs between the two calls keeps static code per size.
  ///   EJIT_DYNAMIC=0 turns it off process-wide, EJIT_DYNAMIC=1 as `true` below.
  /// - true: on, also for dims the C++ code read, which it must then not decide by
  ///   (reshape(x, {x.dim(0), -1}) is fine: ejit checks the sizes the ops take).
  /// - false: off; every new size compiles code of its own.
  std::optional<bool> dynamic = std::nullopt;
  /// Strict numerics (see CompileOptions::strict): compiled results equal the interpreter's
  /// bit for bit. Unset: EJIT_STRICT=1 turns it on process-wide (off by default).
  std::optional<bool> strict = std::nullopt;
  /// The dims that may become dynamic, as (argument, dim) pairs, e.g. {{0, 0}} for the
  /// batch dim of the first argument. Set, it turns dynamic dims on for this function as
  /// `dynamic = true` does (`dynamic` false as well is an error), and only these dims
  /// become dynamic: a call that
  /// differs from a compiled signature in another dim compiles for its sizes. The first size
  /// still compiles static code; the second makes the dynamic code.
  std::vector<std::pair<int, int>> dynamic_dims = {};
};

/// Counters of one jitted function's cache.
struct CacheStats {
  uint64_t hits = 0;          // calls that ran compiled code
  uint64_t misses = 0;        // calls that recorded (and compiled, or decided to stay eager)
  uint64_t eager_calls = 0;   // calls that ran eagerly (uncompilable trace, or still compiling)
  uint64_t eager_while_compiling = 0;  // of those, calls made while their signature compiled
  double compile_ms = 0;      // total compile time (loading from the disk cache included)
  uint64_t disk_hits = 0;     // compiles served by the on-disk kernel cache (EJIT_CACHE_DIR)
  uint64_t evictions = 0;     // signatures dropped to keep within JitOptions' bounds
  uint64_t upgrades = 0;      // first versions (fast code generation) replaced by full compiles
  size_t signatures = 0;      // signatures in the cache now
  size_t code_bytes = 0;      // machine code they keep
};

/// Why a call missed the cache: what differs from the nearest signature cached (or being
/// compiled) at the time. EJIT_LOG=cache prints the same.
struct CacheMiss {
  std::string signature;                 // the call's, e.g. "(f32(101,), f32())"
  std::string nearest;                   // "" when nothing was cached
  std::vector<std::string> differences;  // e.g. "arg 0 dim 0: 100 -> 101", "arg 1 dtype f32 -> f64"
};

/// compare(): compiled vs interpreted on the same inputs.
struct Comparison {
  double max_abs_error = 0, max_rel_error = 0;
  double interpreted_ms = 0, compiled_ms = 0;
  bool compiled = false;  // false when this signature runs eagerly (see reason)
  std::string reason;
};

namespace detail {

/// The type-erased engine behind jit(): signature cache, recording, compiling, running.
class JitCore {
 public:
  using Fn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;
  JitCore(Fn fn, std::string name, JitOptions options = {});
  ~JitCore();
  std::vector<Tensor> call(const std::vector<Tensor>& args);
  std::string ir(Stage stage) const;
  CacheStats stats() const;
  std::vector<CacheMiss> misses() const;
  Comparison compare(const std::vector<Tensor>& args, int repeat);
  void export_library(const std::string& path, ExportOptions options) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with its compile jobs, which outlive nothing they need
};

template <class R> std::vector<Tensor> to_outputs(R&& r) {
  using T = std::decay_t<R>;
  if constexpr (std::is_same_v<T, Tensor>) return {r};
  else if constexpr (std::is_same_v<T, std::vector<Tensor>>) return r;
  else return std::apply([](auto&&... t) { return std::vector<Tensor>{Tensor(t)...}; }, r);
}

template <class R> R from_outputs(const std::vector<Tensor>& v) {
  if constexpr (std::is_same_v<R, Tensor>) return v.at(0);
  else if constexpr (std::is_same_v<R, std::vector<Tensor>>) return v;
  else return [&]<size_t... I>(std::index_sequence<I...>) { return R{v.at(I)...}; }(std::make_index_sequence<std::tuple_size_v<R>>());
}

}  // namespace detail

/// A jitted function: call it like the original. Thread-safe; each signature compiles once.
template <class F> class Jitted {
 public:
  Jitted(F fn, std::string name, JitOptions options = {})
      : fn_(std::move(fn)), core_(std::make_shared<detail::JitCore>(make_core_fn(), std::move(name), options)) {}

  template <class... A> auto operator()(const A&... args) const {
    using R = std::decay_t<std::invoke_result_t<F, const A&...>>;
    return detail::from_outputs<R>(core_->call({Tensor(args)...}));
  }
  /// IR of the most recently compiled signature at a stage ("" before any compile). The IR
  /// is made by compiling that trace again on the first call; for a function with host
  /// reads, the segments of its first recorded path.
  std::string ir(Stage stage) const { return core_->ir(stage); }
  CacheStats stats() const { return core_->stats(); }
  /// The most recent misses (up to 64), oldest first.
  std::vector<CacheMiss> misses() const { return core_->misses(); }
  /// Runs interpreter and compiled code on the same inputs; errors and times (median of repeat).
  template <class... A> Comparison compare(int repeat, const A&... args) const { return core_->compare({Tensor(args)...}, repeat); }
  /// Writes the CPU signatures compiled so far into one shared library that load_compiled()
  /// (ejit/compiled_library.h) runs without LLVM or MLIR (see ejit::export_library). The
  /// tensors and variables the function captured are baked in with their values of now;
  /// its arguments stay arguments. Call wait_for_compiles() first in the background mode.
  /// Throws ejit::Error "[export] ..." when no signature can be exported (none compiled, a
  /// host read or callback, a function that assigns variables, or aliased arguments).
  void export_library(const std::string& path, ExportOptions options = {}) const { core_->export_library(path, std::move(options)); }

 private:
  detail::JitCore::Fn make_core_fn() {
    return [fn = fn_](const std::vector<Tensor>& a) {
      return [&]<size_t... I>(std::index_sequence<I...>) {
        return detail::to_outputs(fn(a[I]...));
      }(std::make_index_sequence<arity()>());
    };
  }
  static constexpr size_t arity() {
    if constexpr (std::is_pointer_v<F>) return arity_of(F{});
    else return arity_of(&F::operator());
  }
  template <class R, class... Args> static constexpr size_t arity_of(R (*)(Args...)) { return sizeof...(Args); }
  template <class C, class R, class... Args> static constexpr size_t arity_of(R (C::*)(Args...) const) { return sizeof...(Args); }
  template <class C, class R, class... Args> static constexpr size_t arity_of(R (C::*)(Args...)) { return sizeof...(Args); }

  F fn_;
  std::shared_ptr<detail::JitCore> core_;
};

/// Wraps a callable (lambda, function object or function) taking Tensors and returning a
/// Tensor, a std::vector<Tensor> or a tuple.
template <class F> Jitted<std::decay_t<F>> jit(F fn, std::string name = "fn", JitOptions options = {}) {
  return Jitted<std::decay_t<F>>(std::move(fn), std::move(name), options);
}

}  // namespace ejit
