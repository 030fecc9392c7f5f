// CPU code generation settings (lib/backend/cpu/codegen_settings.h): LLVM's process-wide
// options are set for a compile and given back after it, and a command line's stay.
#include "../../lib/backend/cpu/codegen_settings.h"
#include "../../lib/pipeline/Pipeline.h"
#include "llvm/CodeGen/Passes.h"
#include "llvm/CodeGen/RegAllocRegistry.h"
#include "llvm/Support/CommandLine.h"
#include <ejit/compile.h>
#include <ejit/jit.h>

#include <mutex>

#include "test_util.h"

using namespace ejit;
using ejit::test::require_close;

namespace {

const llvm::RegisterRegAlloc::FunctionPassCtor basic_allocator = &llvm::createBasicRegisterAllocator;

llvm::cl::opt<bool>& bool_option(const char* name) {
  const auto& options = llvm::cl::getRegisteredOptions();
  auto it = options.find(name);
  REQUIRE(it != options.end());
  return *static_cast<llvm::cl::opt<bool>*>(it->second);
}

/// Compiles a small trace (so LLVM has built a code generation pipeline) and checks it runs.
void compile_something(bool fast) {
  Tensor x = arange(0, 40, 1, DType::F32);
  Recorder rec;
  rec.add_inputs({x});
  Trace t = rec.finish({tanh(x) * 2.f + 1.f});
  Compiled c = compile(t, {.fast_codegen = fast});
  REQUIRE(c.ok());
  require_close(c.run({x})[0], tanh(x) * 2.f + 1.f, 1e-5);
}

}  // namespace

TEST_CASE("code generation settings hold for one compile and are given back after it", "[codegen-settings]") {
  compile_something(false);  // LLVM has read -regalloc into its registry default
  const auto default_allocator = llvm::RegisterRegAlloc::getDefault();
  REQUIRE(default_allocator != nullptr);
  REQUIRE(default_allocator != basic_allocator);
  for (const char* name : {"disable-lsr", "enable-misched", "disable-post-ra"}) REQUIRE(bool_option(name).getNumOccurrences() == 0);
  {
    std::lock_guard lock(detail::compiler_mutex());  // as compiles hold them
    detail::CpuCodegenSettings full(/*fast_codegen=*/false);
    CHECK(bool_option("disable-lsr").getValue());
    CHECK_FALSE(bool_option("enable-misched").getValue());
    CHECK(bool_option("disable-post-ra").getValue());
    CHECK(llvm::RegisterRegAlloc::getDefault() == basic_allocator);
  }
  CHECK_FALSE(bool_option("disable-lsr").getValue());
  CHECK(bool_option("enable-misched").getValue());
  CHECK_FALSE(bool_option("disable-post-ra").getValue());
  for (const char* name : {"disable-lsr", "enable-misched", "disable-post-ra"}) CHECK(bool_option(name).getNumOccurrences() == 0);
  CHECK(llvm::RegisterRegAlloc::getDefault() == default_allocator);
  {
    std::lock_guard lock(detail::compiler_mutex());
    detail::CpuCodegenSettings fast(/*fast_codegen=*/true);  // a first tier: LSR only
    CHECK(bool_option("disable-lsr").getValue());
    CHECK(bool_option("enable-misched").getNumOccurrences() == 0);
    CHECK(llvm::RegisterRegAlloc::getDefault() == default_allocator);
  }
  // Both tiers still compile (and run) with what was given back, one after the other.
  compile_something(true);
  compile_something(false);
  CHECK(llvm::RegisterRegAlloc::getDefault() == default_allocator);
}

TEST_CASE("code generation settings leave an option that a command line gave", "[codegen-settings]") {
  std::unique_lock lock(detail::compiler_mutex());  // no compile reads the options meanwhile
  const char* argv[] = {"ejit-opt", "-enable-misched=true"};
  REQUIRE(llvm::cl::ParseCommandLineOptions(2, argv, "", &llvm::errs()));
  {
    detail::CpuCodegenSettings full(/*fast_codegen=*/false);
    CHECK(bool_option("enable-misched").getValue());
    CHECK(bool_option("disable-post-ra").getValue());  // the others are still set
  }
  CHECK(bool_option("enable-misched").getValue());
  CHECK(bool_option("enable-misched").getNumOccurrences() == 1);
  lock.unlock();
  compile_something(false);
  lock.lock();
  bool_option("enable-misched").reset();  // as it was for the next test case in this process
}

TEST_CASE("code generation settings give back a value set without a command line", "[codegen-settings]") {
  std::lock_guard lock(detail::compiler_mutex());
  bool_option("disable-post-ra").setValue(true);  // as a program embedding LLVM might
  {
    detail::CpuCodegenSettings full(/*fast_codegen=*/false);
    CHECK(bool_option("disable-post-ra").getValue());
  }
  CHECK(bool_option("disable-post-ra").getValue());
  CHECK(bool_option("disable-post-ra").getNumOccurrences() == 0);
  bool_option("disable-post-ra").setValue(false);
}

TEST_CASE("the first compile of a process may be the one that sets the allocator", "[codegen-settings]") {
  // Before any pipeline, LLVM's registry default is null: what the settings give back must
  // still be an allocator that the next pipeline can call. (Compiles inside take the
  // compiler lock themselves: none other may run, so none is queued.)
  wait_for_compiles();
  {
    detail::CpuCodegenSettings full(/*fast_codegen=*/false);
    compile_something(false);
  }
  CHECK(llvm::RegisterRegAlloc::getDefault() != nullptr);
  compile_something(true);
  compile_something(false);
}
