// The one thread pool: workers spin briefly for the next job, then sleep on a condition variable.
// A job's chunks are split into one contiguous block per thread: each thread runs its own
// block first, then takes what is left of the others'. The same rows go to the same core
// call after call (its caches still hold them), and a thread that is late (asleep,
// descheduled) costs nothing: the others take its chunks.
#include <immintrin.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "ejit/runtime.h"
#include "../support/options.h"
#include "../support/profiler.h"
#include "parallel.h"

namespace ejit::detail {
namespace {

thread_local bool t_in_pool_work = false;

class ThreadPool {
 public:
  explicit ThreadPool(int threads) { start(threads); }
  ~ThreadPool() { stop(); }

  int threads() const { return threads_; }
  bool hot() const { return spinning_.load(std::memory_order_relaxed) > 0; }

  void resize(int threads) {
    std::lock_guard run(run_mu_);
    stop();
    start(threads);
  }

  void run(int64_t num_chunks, void (*fn)(void*, int64_t), void* ctx) {
    std::unique_lock run(run_mu_, std::try_to_lock);
    if (t_in_pool_work || threads_ == 1 || !run.owns_lock()) {
      for (int64_t c = 0; c < num_chunks; ++c) fn(ctx, c);
      return;
    }
    {
      std::lock_guard lock(mu_);
      fn_ = fn, ctx_ = ctx, num_chunks_ = num_chunks, open_ = true, error_ = nullptr;
      for (int p = 0; p < threads_; ++p) blocks_[p].next.store(block_begin(p, num_chunks), std::memory_order_relaxed);
      done_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    work(0, fn, ctx, num_chunks);
    while (done_.load(std::memory_order_acquire) < num_chunks) _mm_pause();
    {
      std::lock_guard lock(mu_);
      open_ = false;
    }
    while (active_.load(std::memory_order_acquire) != 0) _mm_pause();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void start(int threads) {
    threads_ = threads < 1 ? 1 : threads;
    blocks_ = std::vector<Block>(static_cast<size_t>(threads_));
    stopping_ = false;
    // The generation is read here, not in the new thread: a stop() that comes before the
    // thread first runs must still wake it.
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, gen, i] { worker_loop(i, gen); });
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  /// Thread p's block of a job's chunks is [block_begin(p), block_begin(p + 1)).
  int64_t block_begin(int p, int64_t num_chunks) const { return num_chunks * p / threads_; }

  /// Runs chunks of the job: thread `self`'s block first, then the rest of the others'.
  void work(int self, void (*fn)(void*, int64_t), void* ctx, int64_t num_chunks) {
    bool was = t_in_pool_work;
    t_in_pool_work = true;
    for (int k = 0; k < threads_; ++k) {
      const int p = (self + k) % threads_;
      const int64_t end = block_begin(p + 1, num_chunks);
      for (;;) {
        const int64_t c = blocks_[p].next.fetch_add(1, std::memory_order_relaxed);
        if (c >= end) break;
        try {
          fn(ctx, c);
        } catch (...) {
          std::lock_guard lock(mu_);
          if (!error_) error_ = std::current_exception();
        }
        done_.fetch_add(1, std::memory_order_release);
      }
    }
    t_in_pool_work = was;
  }

  void worker_loop(int self, uint64_t seen) {
    profile_thread_name("ejit pool");
    for (;;) {
      // Spin about 50 us for the next job (back-to-back ops), then sleep.
      auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
      spinning_.fetch_add(1, std::memory_order_relaxed);
      while (generation_.load(std::memory_order_acquire) == seen) {
        for (int i = 0; i < 64; ++i) _mm_pause();
        if (std::chrono::steady_clock::now() > until) break;
      }
      spinning_.fetch_sub(1, std::memory_order_relaxed);
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || generation_.load(std::memory_order_relaxed) != seen; });
      seen = generation_.load(std::memory_order_relaxed);
      if (stopping_) return;
      if (!open_) continue;
      auto fn = fn_;
      void* ctx = ctx_;
      int64_t n = num_chunks_;
      active_.fetch_add(1, std::memory_order_relaxed);
      lock.unlock();
      work(self, fn, ctx, n);
      active_.fetch_sub(1, std::memory_order_release);
    }
  }

  int threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex run_mu_;  // one job at a time
  std::mutex mu_;      // guards the job fields below and the sleep
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  void (*fn_)(void*, int64_t) = nullptr;
  void* ctx_ = nullptr;
  int64_t num_chunks_ = 0;
  bool open_ = false;
  bool stopping_ = false;
  std::exception_ptr error_;
  struct alignas(64) Block {  // a thread's block: the next chunk of it to run
    std::atomic<int64_t> next{0};
  };
  std::vector<Block> blocks_;  // one per thread (the caller's first)
  std::atomic<int64_t> done_{0};
  std::atomic<int> active_{0};
  std::atomic<int> spinning_{0};  // workers polling for a job before they sleep
};

// The pool, and whether this process was fork()ed since it was made: a child has none of the
// parent's threads (only the one that called fork), so it makes a pool of its own.
std::atomic<ThreadPool*> g_pool{nullptr};
std::atomic<bool> g_forked{false};
std::mutex g_pool_mu;

ThreadPool& pool() {
  ThreadPool* p = g_pool.load(std::memory_order_acquire);
  if (p && !g_forked.load(std::memory_order_relaxed)) [[likely]] return *p;
  std::lock_guard lock(g_pool_mu);
  p = g_pool.load(std::memory_order_relaxed);
  if (!p) {
    pthread_atfork(nullptr, nullptr, [] { g_forked.store(true, std::memory_order_relaxed); });
    p = new ThreadPool(default_threads());  // leaked: workers outlive statics
  } else if (g_forked.load(std::memory_order_relaxed)) {
    // The old pool's workers do not exist here and its locks may be held: it is left alone
    // (leaked), and a new one with as many threads takes its place.
    p = new ThreadPool(p->threads());
    g_forked.store(false, std::memory_order_relaxed);
  }
  g_pool.store(p, std::memory_order_release);
  return *p;
}

}  // namespace

int default_threads() {
  if (const int n = options::num_threads(); n > 0) return n;
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

void run_chunks(int64_t num_chunks, void (*fn)(void*, int64_t), void* ctx) { pool().run(num_chunks, fn, ctx); }
int pool_threads() { return t_in_pool_work ? 1 : pool().threads(); }

bool pool_hot() { return pool().hot(); }

}  // namespace ejit::detail

namespace ejit {
int num_threads() { return detail::pool().threads(); }
void set_num_threads(int n) { detail::pool().resize(n); }
}  // namespace ejit
