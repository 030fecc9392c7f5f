#include "compile_queue.h"

#include "compile.h"
#include "../support/profiler.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <new>
#include <thread>

namespace ejit::detail {
namespace {

/// Compiles a two-op trace through the whole CPU pipeline, LLVM's code generators (the fast
/// one of a first tier and the optimizing one) and JIT linker included (keep_ir: never from
/// the disk cache), so that the static objects of MLIR and LLVM exist before any background
/// job runs. See CompileQueue::loop for why.
void warm_up_compiler() {
  const Trace t = parse_trace(R"(func.func @warm(%x: tensor<8xf32>) -> (tensor<8xf32>) {
  %1 = ejit.exp %x : tensor<8xf32> -> tensor<8xf32>
  %2 = ejit.add %1, %x : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  return %2 : tensor<8xf32>
})");
  try {
    (void)compile_trace(t, {.keep_ir = true});
    (void)compile_trace(t, {.keep_ir = true, .fast_codegen = true});
  } catch (...) {  // a compiler that fails here fails the jobs too, each with its reason
  }
}

/// Set when the main thread's exit() begins (glibc runs its thread_local destructors first):
/// a jitted call from a static destructor starts no compile (and no warm-up) then.
std::atomic<bool> g_exiting{false};
struct ExitMark {
  ~ExitMark() { g_exiting.store(true, std::memory_order_relaxed); }
};
/// A static initializer: runs on the main thread as the program starts.
[[maybe_unused]] const bool g_exit_marked = [] {
  thread_local ExitMark mark;
  (void)mark;
  return true;
}();

/// Leaked on purpose (never destroyed): the compile thread may outlive static destruction
/// order, so nothing it touches here goes away. At exit, stop() waits for the job in hand.
class CompileQueue {
 public:
  static CompileQueue& get() {
    static CompileQueue* q = [] {
      auto* made = new CompileQueue;
      pthread_atfork([] { get().mu_.lock(); }, [] { get().mu_.unlock(); }, [] { get().after_fork_in_child(); });
      return made;
    }();
    return *q;
  }

  void push(std::function<void()> job) {
    std::lock_guard lock(mu_);
    // Exiting (stop() ran, or the main thread's exit() began): the caller keeps running
    // eagerly, and no warm-up starts while statics are destroyed.
    if (stopping_ || g_exiting.load(std::memory_order_relaxed)) return;
    // This thread waits at its exit (and so in exit(), before any static is destroyed) while
    // the compile thread's warm-up runs: see loop(). The compile thread itself needs no wait.
    if (!worker_.joinable() || std::this_thread::get_id() != worker_.get_id()) {
      thread_local WarmUpWait wait_at_exit;
    }
    // A job queued by the running job (a signature's second tier) takes its number: a wait
    // for the one waits for the other too.
    const bool from_job = running_ != 0 && std::this_thread::get_id() == worker_.get_id();
    jobs_.push_back({from_job ? running_ : ++numbered_, std::move(job)});
    if (!worker_.joinable()) worker_ = std::thread([this] { loop(); });
    cv_.notify_all();
  }

  /// Until the compile thread's warm-up is over (or the queue stops).
  void wait_warmed() {
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [&] { return warmed_ || stopping_ || !worker_.joinable(); });
  }

  /// Until every job queued before the call has finished, and the jobs those queued; jobs
  /// queued later by other threads do not keep it waiting.
  void wait_idle() {
    std::unique_lock lock(mu_);
    const uint64_t target = numbered_;
    done_cv_.wait(lock, [&] {
      if (stopping_) return true;
      if (running_ != 0 && running_ <= target) return false;
      return std::none_of(jobs_.begin(), jobs_.end(), [&](const Job& j) { return j.number <= target; });
    });
  }

 private:
  void loop() {
    // A compile must not starve the caller's eager work: run below normal priority.
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
    profile_thread_name("ejit compile");
    // First, once per process, a small compile that makes every static of the CPU compiler
    // (see below), then stop() registered after them. Until then a thread that pushed a job
    // and exits waits in its WarmUpWait: thread_local destructors run first in exit(), so
    // no static is destroyed under the warm-up. The caller never waits for it otherwise.
    std::unique_lock lock(mu_);
    if (!warmed_) {
      lock.unlock();
      warm_up_compiler();
      std::atexit([] { get().stop(); });
      lock.lock();
      warmed_ = true;
      done_cv_.notify_all();
    }
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      std::function<void()> job = std::move(jobs_.front().run);
      running_ = jobs_.front().number;
      jobs_.pop_front();
      lock.unlock();
      // At exit, stop() must run before the static objects a compile uses are destroyed.
      // Handlers registered with atexit run in reverse order, interleaved with the
      // destructors of statics by when those were made: registered now, stop() runs before
      // the destructor of every static that exists now: those of the warm-up compile (made
      // before the first job: an exit during a job whose compile made new statics crashed
      // in LLVM's code generator) and of every earlier job. A new kind of compile (the first
      // GPU program) can still make statics of its own; its successors are covered.
      std::atexit([] { get().stop(); });
      job();
      job = nullptr;  // captures go before the job counts as done
      lock.lock();
      running_ = 0;
      done_cv_.notify_all();
    }
  }

  /// At exit: no new jobs, queued ones are dropped, the one in hand finishes first (it may
  /// use the compiler, which must not be torn down under it). Called once per job run (see
  /// loop); only the first call does anything.
  void stop() {
    std::unique_lock lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    jobs_.clear();
    cv_.notify_all();
    done_cv_.notify_all();
    lock.unlock();
    if (worker_.joinable()) worker_.join();
  }

  /// In a fork()ed child the thread is gone (the lock was held across the fork, so no job
  /// was half taken): the queued jobs stay and a new thread serves them. A job that was
  /// running in the parent at the fork is lost here; its signature stays eager in the child.
  void after_fork_in_child() {
    new (&worker_) std::thread();  // the old handle names a thread of the parent: forget it unjoined
    // The condition variables may hold the parent's waiters (an idle worker waits on cv_):
    // glibc's notify then waits for them to leave, forever. Nobody waits on them here yet.
    new (&cv_) std::condition_variable();
    new (&done_cv_) std::condition_variable();
    running_ = 0;
    if (!jobs_.empty() && !stopping_) worker_ = std::thread([this] { loop(); });
    mu_.unlock();
  }

  struct Job {
    uint64_t number;  // in queueing order; a job queued by a job has its number
    std::function<void()> run;
  };

  /// Per thread that queued a job: at its exit, waits for the warm-up.
  struct WarmUpWait {
    ~WarmUpWait() { get().wait_warmed(); }
  };

  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::deque<Job> jobs_;
  std::thread worker_;
  uint64_t numbered_ = 0;  // the last number given
  uint64_t running_ = 0;   // the running job's number; 0 when none runs
  bool stopping_ = false;
  bool warmed_ = false;  // the compile thread's warm-up is over (in this process or before its fork)
};

}  // namespace

void enqueue_compile(std::function<void()> job) { CompileQueue::get().push(std::move(job)); }
void wait_for_compile_queue() { CompileQueue::get().wait_idle(); }

}  // namespace ejit::detail
