// parallel_for / parallel_chunks: run work on the one process-wide thread pool.
#pragma once

#include <cstdint>
#include <type_traits>

namespace ejit::detail {

/// Calls fn(ctx, chunk) for chunk in [0, num_chunks) on the pool and the calling thread.
/// Runs serially when nested in pool work, when another thread holds the pool, or when
/// the pool has one thread.
void run_chunks(int64_t num_chunks, void (*fn)(void*, int64_t), void* ctx);

/// Threads in the pool (including the caller); 1 inside pool work.
int pool_threads();

/// True when a pool thread is polling for work (it polls 50 us after each job, then
/// sleeps): a job reaches it in about 1 us; a sleeping one wakes in about 30 us (measured on
/// these VMs), which only work longer than that pays for.
bool pool_hot();

/// EJIT_NUM_THREADS, else the hardware threads (at least 1): the pool's size when it is
/// made, and how many threads a compile shares its work among.
int default_threads();

/// Calls f(chunk) for chunk in [0, num_chunks) in parallel. The chunking is the caller's,
/// so results that depend on it (reduction order) do not depend on the thread count.
template <class F> void parallel_chunks(int64_t num_chunks, F&& f) {
  if (num_chunks <= 1) {
    if (num_chunks == 1) f(int64_t{0});
    return;
  }
  using Fn = std::remove_reference_t<F>;
  run_chunks(num_chunks, [](void* ctx, int64_t c) { (*static_cast<Fn*>(ctx))(c); }, &f);
}

/// Calls f(begin, end) over subranges of [0, n) of at least `grain` elements each.
template <class F> void parallel_for(int64_t n, int64_t grain, F&& f) {
  if (n <= 0) return;
  if (n <= grain) return f(int64_t{0}, n);  // before pool_threads(): small ops are the common eager case
  const int threads = pool_threads();
  if (threads == 1) return f(int64_t{0}, n);
  int64_t chunks = (n + grain - 1) / grain;
  int64_t max_chunks = int64_t{threads} * 4;
  if (chunks > max_chunks) chunks = max_chunks;
  int64_t per = (n + chunks - 1) / chunks;
  parallel_chunks(chunks, [&](int64_t c) {
    int64_t b = c * per, e = b + per < n ? b + per : n;
    if (b < e) f(b, e);
  });
}

}  // namespace ejit::detail
