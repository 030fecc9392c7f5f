#include "codegen_settings.h"

#include <optional>
#include <vector>

#include "llvm/CodeGen/MachinePassRegistry.h"
#include "llvm/CodeGen/Passes.h"
#include "llvm/CodeGen/RegAllocRegistry.h"
#include "llvm/Support/CommandLine.h"

namespace ejit::detail {

namespace {

/// LLVM's option `name`; null when LLVM has no such option or a command line set it.
llvm::cl::Option* unset_option(const char* name) {
  const auto& options = llvm::cl::getRegisteredOptions();
  auto it = options.find(name);
  return it == options.end() || it->second->getNumOccurrences() > 0 ? nullptr : it->second;
}

/// One boolean LLVM option set to `value` as a command line would set it (some passes ask
/// whether it occurred), until destruction gives it back its value and no occurrence.
/// Nothing when LLVM has no such option or a command line set it.
class OptionHold {
 public:
  OptionHold(const char* name, bool value) {
    auto* option = static_cast<llvm::cl::opt<bool>*>(unset_option(name));
    if (!option) return;
    before_ = option->getValue();
    if (option->addOccurrence(0, name, value ? "true" : "false")) {  // true: the value did not parse
      restore(option);
      return;
    }
    option_ = option;
  }
  ~OptionHold() {
    if (option_) restore(option_);
  }
  OptionHold(const OptionHold&) = delete;
  OptionHold& operator=(const OptionHold&) = delete;

 private:
  void restore(llvm::cl::opt<bool>* option) const {
    option->reset();  // no occurrence (and the default value)
    option->setValue(before_);  // a value a program set without a command line stays
  }

  llvm::cl::opt<bool>* option_ = nullptr;
  bool before_ = false;
};

/// LLVM's basic register allocator instead of its default (greedy) one, until destruction.
/// LLVM takes its allocator from a registry default that it sets from the -regalloc option
/// at its first pipeline: until then the default is null, and null restored after that
/// would be called.
class BasicRegisterAllocation {
 public:
  BasicRegisterAllocation() {
    using Option = llvm::cl::opt<llvm::RegisterRegAlloc::FunctionPassCtor, false, llvm::RegisterPassParser<llvm::RegisterRegAlloc>>;
    auto* option = static_cast<Option*>(unset_option("regalloc"));
    if (!option) return;
    before_ = llvm::RegisterRegAlloc::getDefault();
    if (!before_) before_ = option->getValue();
    llvm::RegisterRegAlloc::setDefault(llvm::createBasicRegisterAllocator);
  }
  ~BasicRegisterAllocation() {
    if (before_) llvm::RegisterRegAlloc::setDefault(before_);
  }
  BasicRegisterAllocation(const BasicRegisterAllocation&) = delete;
  BasicRegisterAllocation& operator=(const BasicRegisterAllocation&) = delete;

 private:
  llvm::RegisterRegAlloc::FunctionPassCtor before_ = nullptr;
};

}  // namespace

struct CpuCodegenSettings::Holds {
  // Loop strength reduction, left out. Kernel loops index every buffer by one induction
  // variable, which x86 addressing takes as is; LSR rewrote them into an induction
  // variable per buffer at 13-19% of a kernel's compile time and a third of a 256-output
  // kernel's, with no change in run time measured (jit_bench).
  OptionHold no_lsr{"disable-lsr", true};
  // Optimized code only. Kernels are loops of straight-line vector code whose splat
  // constants are live across the loop: greedy register allocation spent a third of the
  // code generation of a 20-op tanh chain splitting and evicting their ranges (and spilled
  // them), the machine scheduler and the post-RA scheduler another fifth, for nothing an
  // out-of-order core measures (DESIGN-NOTES "Code generation settings").
  std::optional<BasicRegisterAllocation> basic_regalloc;
  std::optional<OptionHold> no_machine_scheduler, no_post_ra_scheduler;
};

CpuCodegenSettings::CpuCodegenSettings(bool fast_codegen) : holds_(std::make_unique<Holds>()) {
  if (fast_codegen) return;
  holds_->basic_regalloc.emplace();
  holds_->no_machine_scheduler.emplace("enable-misched", false);
  holds_->no_post_ra_scheduler.emplace("disable-post-ra", true);
}

CpuCodegenSettings::~CpuCodegenSettings() = default;

}  // namespace ejit::detail
