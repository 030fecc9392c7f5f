// ejit export: traces compiled into one shared library that runs without LLVM or MLIR.
#include <fmt/format.h>

#include "commands.h"
#include "ejit/compile.h"
#include "ejit/compiled_library.h"

namespace ejit::tool {

const char* const kExportHelp = R"(usage: ejit export FILE.mlir [FILE2.mlir ...] -o NAME.so [--cpu=CPU] [--name=NAME]

Compiles each trace (one signature each: its inputs are the function's arguments) for the
CPU (or a GPU) and writes one shared library: the kernels' machine code, the plan of kernels and
interpreter steps, the traces and the target. ejit::load_compiled("NAME.so") runs it in a
program that links only the eager library (ejit::ejit): no LLVM, no MLIR.

  -o, --output NAME.so  the library to write
  --cpu=CPU             the CPU to compile for, as LLVM names it (x86-64-v2, x86-64-v3,
                        skylake-avx512, ...); default: this machine's. The library loads
                        only on CPUs with that CPU's features.
  --name=NAME           the function's name in the library (default: the first file's stem)
  --strict=1            strict numerics: the library computes what the interpreter computes,
                        bit for bit (as EJIT_STRICT=1; CPU only)
  --target=cpu|cuda     cuda: the trace's GPU program (PTX for $EJIT_CUDA_ARCH, default the
                        device's chip, else sm_90); no GPU is needed to export, and the
                        library runs on CUDA tensors

Linking uses the C compiler driver named by EJIT_LINKER (default cc).
`ejit run NAME.so --mode=compare` checks the library against the interpreter.
)";

int cmd_export(const Args& a) {
  if (a.positional.empty()) throw UsageError("'ejit export' needs at least one trace file (see ejit export --help)");
  if (!a.has("output")) throw UsageError("'ejit export' needs -o NAME.so");
  const std::string target = a.get("target", "cpu");
  if (target != "cpu" && target != "cuda") throw UsageError(fmt::format("--target={}: expected cpu or cuda", target));
  std::vector<Trace> traces;
  for (const std::string& f : a.positional) traces.push_back(load_trace(f));
  std::string stem = a.positional[0];
  stem = stem.substr(stem.find_last_of('/') + 1);
  stem = stem.substr(0, stem.find('.'));
  ExportOptions options{.name = a.get("name", stem), .target = target == "cuda" ? Target::CUDA : Target::CPU,
                        .cpu = a.get("cpu", "")};
  if (a.has("strict")) {
    const std::string s = a.get("strict", "");
    if (s != "0" && s != "1") throw UsageError(fmt::format("--strict={}: expected 0 or 1", s));
    options.strict = s == "1";
  }
  const std::string out = a.get("output", "");
  export_library(traces, out, options);
  const CompiledLibrary lib = load_compiled(out);
  fmt::print("{}: {} ({} signature{}, {} bytes of code) for {}\n", out, lib.name(), lib.signatures(),
             lib.signatures() == 1 ? "" : "s", lib.code_bytes(), lib.target());
  for (size_t i = 0; i < lib.signatures(); ++i) fmt::print("  {}: {}\n", lib.signature(i), lib.plan(i));
  return 0;
}

}  // namespace ejit::tool
