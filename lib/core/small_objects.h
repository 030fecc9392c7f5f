// Per-thread free lists for the two small objects behind every tensor (its TensorImpl and
// its Storage). A tape or a trace keeps thousands of tensors alive and then frees them all;
// through malloc, that churn (glibc consolidating ~180-byte chunks) cost about as much as
// the ops themselves. Blocks freed on a thread serve its later allocations, up to a cap.
#pragma once

#include <cstddef>

namespace ejit::detail {

void* small_object_allocate(size_t bytes);
void small_object_free(void* p, size_t bytes) noexcept;

}  // namespace ejit::detail
