#include "cpu_features.h"

#include <algorithm>

namespace ejit::detail {

const std::vector<CpuFeature>& known_cpu_features() {
#if defined(__x86_64__) && defined(__GNUC__)
#define EJIT_FEATURE(llvm_name, gcc_name) CpuFeature{llvm_name, [] { return __builtin_cpu_supports(gcc_name) != 0; }}
  static const std::vector<CpuFeature> table = {
      EJIT_FEATURE("sse4.1", "sse4.1"),       EJIT_FEATURE("sse4.2", "sse4.2"),
      EJIT_FEATURE("popcnt", "popcnt"),       EJIT_FEATURE("avx", "avx"),
      EJIT_FEATURE("avx2", "avx2"),           EJIT_FEATURE("fma", "fma"),
      EJIT_FEATURE("bmi", "bmi"),             EJIT_FEATURE("bmi2", "bmi2"),
      EJIT_FEATURE("avx512f", "avx512f"),     EJIT_FEATURE("avx512bw", "avx512bw"),
      EJIT_FEATURE("avx512dq", "avx512dq"),   EJIT_FEATURE("avx512vl", "avx512vl"),
      EJIT_FEATURE("avx512cd", "avx512cd"),   EJIT_FEATURE("avx512vbmi", "avx512vbmi"),
      EJIT_FEATURE("avx512vnni", "avx512vnni"), EJIT_FEATURE("avx512bf16", "avx512bf16"),
      EJIT_FEATURE("avx512fp16", "avx512fp16"),
  };
#undef EJIT_FEATURE
#else
  static const std::vector<CpuFeature> table;
#endif
  return table;
}

std::vector<std::string> missing_cpu_features(const std::vector<std::string>& required) {
  std::vector<std::string> missing;
  const auto& table = known_cpu_features();
  for (const std::string& name : required) {
    auto it = std::find_if(table.begin(), table.end(), [&](const CpuFeature& f) { return name == f.name; });
    if (it == table.end() || !it->present()) missing.push_back(name);
  }
  return missing;
}

}  // namespace ejit::detail
