// Picks the kernel table for this CPU once; EJIT_ISA=generic|avx2|avx512 forces one.
#include <cstdlib>
#include <string_view>

#include "ejit/runtime.h"
#include "../support/options.h"
#include "kernels.h"

namespace ejit::detail {
namespace {

bool cpu_has_avx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}
bool cpu_has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

const KernelTable& select() {
  const std::string forced = options::isa();
  if (forced == "generic") return kernels_generic();
  if (forced == "avx2" && cpu_has_avx2()) return kernels_avx2();
  if (cpu_has_avx512() && (forced.empty() || forced == "avx512")) return kernels_avx512();
  if (cpu_has_avx2()) return kernels_avx2();
  return kernels_generic();
}

}  // namespace

const KernelTable& kernels() {
  static const KernelTable& table = select();
  return table;
}

}  // namespace ejit::detail

const char* ejit::kernel_isa() { return detail::kernels().isa; }
