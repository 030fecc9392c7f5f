// ejit: the command line. Dumps a trace file's IR at any compiler stage and runs a trace
// interpreted or compiled, comparing results and times. Errors are one line, exit 2.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <fmt/format.h>

#include "commands.h"
#include "ejit/device.h"
#include "ejit/error.h"

namespace {

constexpr const char* kHelp = R"(ejit: dump and run ejit traces (.mlir files in the ejit dialect, as Trace::save writes them)

usage: ejit <command> [options]

commands:
  dump FILE.mlir --stage=S        print the IR at a compiler stage
                                  (ejit, linalg, fused, loops, llvm-dialect, llvm, asm or all)
  run FILE.mlir --mode=M          run the trace interpreted, compiled, or both and compare
                                  (inputs from .npy files or random from a seed); FILE may
                                  also be a library written by ejit export
  export FILE.mlir... -o NAME.so  compile traces (one per signature) into a shared library
                                  that load_compiled() runs without LLVM or MLIR
  cache stats|clear               the on-disk cache of compiled kernels ($EJIT_CACHE_DIR)
  help [COMMAND]                  this text, or a command's (also: ejit COMMAND --help)

Errors are one line on stderr ("ejit: error: ...") and exit code 2; `run --mode=compare`
exits 1 when an output is out of tolerance.
)";

int error(const std::string& message) {
  std::string line = message;
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  while (!line.empty() && line.back() == ' ') line.pop_back();
  fmt::print(stderr, "ejit: error: {}\n", line);
  return 2;
}

int run(int argc, char** argv) {
  using namespace ejit::tool;
  if (argc < 2) return error("no command given (see ejit --help)");
  std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::string topic = argc > 2 ? argv[2] : "";
    if (topic == "dump") fmt::print("{}", kDumpHelp);
    else if (topic == "run") fmt::print("{}", kRunHelp);
    else if (topic == "cache") fmt::print("{}", kCacheHelp);
    else if (topic == "export") fmt::print("{}", kExportHelp);
    else if (topic.empty()) fmt::print("{}", kHelp);
    else return error(fmt::format("unknown command '{}' (see ejit --help)", topic));
    return 0;
  }
  if (cmd == "dump") {
    Args a = parse_args(cmd, argc, argv, 2, {"stage", "device"});
    if (a.help) return fmt::print("{}", kDumpHelp), 0;
    return cmd_dump(a);
  }
  if (cmd == "run") {
    Args a = parse_args(cmd, argc, argv, 2, {"mode", "device", "inputs", "seed", "outputs", "repeat", "rtol", "atol", "signature"});
    if (a.help) return fmt::print("{}", kRunHelp), 0;
    return cmd_run(a);
  }
  if (cmd == "export") {
    Args a = parse_args(cmd, argc, argv, 2, {"output", "cpu", "name", "target", "strict"});
    if (a.help) return fmt::print("{}", kExportHelp), 0;
    return cmd_export(a);
  }
  if (cmd == "cache") {
    std::string action = argc > 2 ? argv[2] : "";
    if (action == "--help" || action == "-h") return fmt::print("{}", kCacheHelp), 0;
    if (argc > 3) return error(fmt::format("ejit cache {}: unexpected argument '{}'", action, argv[3]));
    return cmd_cache(action);
  }
  return error(fmt::format("unknown command '{}' (see ejit --help)", cmd));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    // Traces, inputs and the interpreter (the reference) live on the CPU whatever
    // EJIT_DEFAULT_DEVICE says; --device=cuda copies inputs to the GPU explicitly.
    ejit::DeviceScope on_cpu(ejit::Device::cpu());
    return run(argc, argv);
  } catch (const std::exception& e) {  // ejit::Error, UsageError and anything else
    return error(e.what());
  } catch (...) {
    return error("unknown internal error");
  }
}
