// The x86 CPU features an exported library may require, by LLVM's names, and whether this
// CPU has them: an export records the ones its code was compiled for, a load checks them.
#pragma once

#include <string>
#include <vector>

namespace ejit::detail {

struct CpuFeature {
  const char* name;     // LLVM's name ("avx512f")
  bool (*present)();    // whether the running CPU has it
};

/// The features checked (empty on CPUs other than x86-64, where none is recorded).
const std::vector<CpuFeature>& known_cpu_features();

/// The names in `required` this CPU lacks; a name the table does not know counts as lacking.
std::vector<std::string> missing_cpu_features(const std::vector<std::string>& required);

}  // namespace ejit::detail
