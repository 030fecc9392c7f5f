// The ejit tool's subcommands and their help texts.
#pragma once

#include "args.h"

namespace ejit::tool {

extern const char* const kDumpHelp;
extern const char* const kCacheHelp;
extern const char* const kRunHelp;
extern const char* const kExportHelp;

/// `ejit dump FILE --stage=S`: prints the IR of a trace file at a compiler stage.
int cmd_dump(const Args& args);
/// `ejit run FILE --mode=M ...`: runs a trace file interpreted, compiled, or both and compares.
int cmd_run(const Args& args);
/// `ejit export FILE.mlir... -o NAME.so`: compiles traces into a shared library.
int cmd_export(const Args& args);
/// `ejit cache stats|clear`: the on-disk kernel cache.
int cmd_cache(const std::string& action);

}  // namespace ejit::tool
