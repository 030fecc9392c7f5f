// Traces for the benchmarks that compile them directly (compile_bench, jit_bench).
#pragma once

#include <ejit/ejit.h>

#include <functional>
#include <vector>

namespace bench {

/// Records `body` on `inputs` as a trace.
inline ejit::Trace record(const std::vector<ejit::Tensor>& inputs,
                          const std::function<std::vector<ejit::Tensor>(const std::vector<ejit::Tensor>&)>& body) {
  ejit::Recorder rec;
  rec.add_inputs(inputs);
  std::vector<ejit::Tensor> outputs = body(inputs);
  return rec.finish(outputs);
}

}  // namespace bench
