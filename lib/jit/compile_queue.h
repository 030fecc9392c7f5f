// The background compiler: one low-priority thread that runs compile jobs in order, so that
// a jitted function's first call never waits for LLVM (it runs eagerly meanwhile).
#pragma once

#include <functional>

namespace ejit::detail {

/// Queues a job for the compile thread (started on first use). Jobs run one at a time, in
/// order; one that throws is the job's own business (it must catch).
void enqueue_compile(std::function<void()> job);
/// Blocks until every job queued so far has finished, and every job those queued (jobs that
/// other threads queue meanwhile do not keep it waiting).
void wait_for_compile_queue();

}  // namespace ejit::detail
