// The CPU back end's compiler: a trace through the shared pipeline (lib/pipeline) to the
// LLVM dialect, then LLVM's optimizer and code generator; the object code goes to the kernel
// cache and an ORC LLJIT links it in memory.
#include "cpu_compiler.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "../../core/allocator.h"
#include "../../pipeline/CpuPipeline.h"
#include "../../pipeline/Pipeline.h"
#include "../../trace/dynamic_dims.h"
#include "../../support/check.h"
#include "../../support/options.h"
#include "../../support/profiler.h"
#include "../common/kernel_cache.h"
#include "../../runtime/cpu_features.h"
#include "../../runtime/packed_kernel.h"
#include "llvm_optimizer.h"
#include "EjitToLinalg.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/ExecutionEngine/Orc/RTDyldObjectLinkingLayer.h"
#include "llvm/ExecutionEngine/Orc/Shared/ExecutorSymbolDef.h"
#include "llvm/ExecutionEngine/SectionMemoryManager.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Transforms/Utils/Cloning.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Target/LLVMIR/Export.h"

namespace ejit::detail {

namespace {

/// The host assembly of an optimized module, as the JIT's code generator would emit it.
/// Code generation rewrites IR, so it runs on a copy; `error` says why when it fails.
std::string emit_assembly(const llvm::Module& module, llvm::TargetMachine& tm, std::string& error) {
  std::unique_ptr<llvm::Module> copy = llvm::CloneModule(module);
  llvm::SmallString<0> text;
  llvm::raw_svector_ostream os(text);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile)) {
    error = "the target cannot emit assembly";
    return "";
  }
  pm.run(*copy);
  return std::string(text.str());
}

/// Buffers that compiled code allocates (temporaries) come from ejit's caching allocator:
/// fresh memory costs a page fault per 4 KiB here. Compiled code calls aligned_alloc (a
/// pointer straight from an allocation function, which LLVM knows overlaps no other buffer:
/// malloc plus alignment arithmetic hid that). The 64 bytes before a pointer hold the
/// block's capacity and where the block starts.
void* jit_aligned_alloc(size_t alignment, size_t n) {
  const size_t align = std::max<size_t>(alignment, 64);  // blocks are 64-byte aligned
  size_t capacity;
  char* block = static_cast<char*>(cpu_allocate(n + align + 64, &capacity));
  const uintptr_t start = reinterpret_cast<uintptr_t>(block) + 64;
  char* p = reinterpret_cast<char*>((start + align - 1) / align * align);
  reinterpret_cast<size_t*>(p - 64)[0] = capacity;
  reinterpret_cast<size_t*>(p - 64)[1] = static_cast<size_t>(p - block);
  return p;
}
void* jit_malloc(size_t n) { return jit_aligned_alloc(64, n); }
void jit_free(void* ptr) {
  if (!ptr) return;
  const size_t* header = reinterpret_cast<size_t*>(static_cast<char*>(ptr) - 64);
  cpu_deallocate(static_cast<char*>(ptr) - header[1], header[0]);
}

llvm::orc::SymbolMap allocator_symbols(llvm::orc::MangleAndInterner& interner) {
  llvm::orc::SymbolMap map;
  map[interner("malloc")] = {llvm::orc::ExecutorAddr::fromPtr(&jit_malloc), llvm::JITSymbolFlags::Exported};
  map[interner("aligned_alloc")] = {llvm::orc::ExecutorAddr::fromPtr(&jit_aligned_alloc), llvm::JITSymbolFlags::Exported};
  map[interner("free")] = {llvm::orc::ExecutorAddr::fromPtr(&jit_free), llvm::JITSymbolFlags::Exported};
  return map;
}

/// The process's one LLJIT, made at the first link (under the compiler lock) and never
/// destroyed, as the compiler's other statics; its JITDylib "ejit-runtime" holds what kernels
/// call (the allocator functions, and the process's symbols). Every module's object is linked
/// into a JITDylib of its own. Null (and `error`) when LLVM cannot make one.
///
/// An LLJIT per module kept about 0.1 MB and built a TargetMachine (for its data layout) at
/// every link: 2M instructions per compile and per disk cache hit. RuntimeDyld links, as MLIR's
/// ExecutionEngine did. Kernels are not registered with GDB's JIT interface: its listener is a
/// static that can be destroyed at exit before a jitted function held in a static is.
llvm::orc::LLJIT* shared_jit(llvm::orc::JITDylib*& runtime_lib, std::string& error) {
  static llvm::orc::LLJIT* jit = nullptr;
  static llvm::orc::JITDylib* runtime_dylib = nullptr;
  if (jit) return runtime_lib = runtime_dylib, jit;
  // Linking on the caller's thread (no ORC threads: fork() copies no lock of theirs), no
  // platform (kernels have no initializers; its per-JITDylib records would outlive removal).
  auto made = llvm::orc::LLJITBuilder()
                  .setSupportConcurrentCompilation(false)
                  .setPlatformSetUp(llvm::orc::setUpInactivePlatform)
                  .setLinkProcessSymbolsByDefault(false)
                  .setObjectLinkingLayerCreator([](llvm::orc::ExecutionSession& session, const llvm::Triple&) {
                    return llvm::Expected<std::unique_ptr<llvm::orc::ObjectLayer>>(
                        std::make_unique<llvm::orc::RTDyldObjectLinkingLayer>(
                            session, [] { return std::make_unique<llvm::SectionMemoryManager>(); }));
                  })
                  .create();
  if (!made) return error = llvm::toString(made.takeError()), nullptr;
  llvm::orc::JITDylib& runtime = (*made)->getExecutionSession().createBareJITDylib("ejit-runtime");
  auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess((*made)->getDataLayout().getGlobalPrefix());
  if (!process) return error = llvm::toString(process.takeError()), nullptr;
  runtime.addGenerator(std::move(*process));
  llvm::orc::MangleAndInterner interner(runtime.getExecutionSession(), (*made)->getDataLayout());
  if (auto e = runtime.define(llvm::orc::absoluteSymbols(allocator_symbols(interner))))
    return error = llvm::toString(std::move(e)), nullptr;
  runtime_lib = runtime_dylib = &runtime;
  return jit = made->release();
}

/// JITDylibs whose executables are gone. The next link removes them (freeing their memory)
/// under the compiler lock, as every other use of the session: fork() takes that lock, so a
/// child never gets the session half changed. A lock-free list, because an executable may go
/// on any thread, and a lock taken there and at fork would have to be ordered with the
/// compiler's.
struct RetiredLib {
  llvm::orc::JITDylib* lib;
  RetiredLib* next;
};
std::atomic<RetiredLib*> retired_libs{nullptr};

void retire(llvm::orc::JITDylib* lib) {
  auto* r = new RetiredLib{lib, retired_libs.load(std::memory_order_relaxed)};
  while (!retired_libs.compare_exchange_weak(r->next, r, std::memory_order_release, std::memory_order_relaxed)) {
  }
}

void remove_retired(llvm::orc::ExecutionSession& session) {
  for (RetiredLib* r = retired_libs.exchange(nullptr, std::memory_order_acquire); r;) {
    llvm::consumeError(session.removeJITDylib(*r->lib));
    RetiredLib* next = r->next;
    delete r;
    r = next;
  }
}

/// The machine code of a module of kernels, shared by its kernels' executables: its object
/// code (just compiled, or from the disk cache) linked into a JITDylib of the shared LLJIT,
/// retired when the last executable goes.
struct LoadedCode final : KernelCode {
  llvm::orc::LLJIT* jit = nullptr;
  llvm::orc::JITDylib* lib = nullptr;
  size_t object_bytes = 0;

  ~LoadedCode() override {
    if (lib) retire(lib);
  }
  size_t bytes() const override { return object_bytes; }

  /// The address of a symbol: a kernel's packed wrapper, or the row extents.
  llvm::Expected<void*> lookup(const std::string& name) const {
    auto sym = jit->lookup(*lib, name);
    if (!sym) return sym.takeError();
    return sym->toPtr<void*>();
  }
};

/// A kernel's packed wrapper: void(void** args), one pointer per argument of @kernel.
std::string packed_name(const std::string& kernel) { return "_mlir_" + kernel; }
/// A constant array in every module: the row extent of each kernel (see split_outer_loop),
/// so that object code from the disk cache says how to call its kernels.
constexpr const char* kExtentsSymbol = "ejit_row_extents";

/// Links object code (compiled now or read from the disk cache); null (and `error`) when it
/// cannot be linked.
std::shared_ptr<LoadedCode> load_object(const std::string& object, std::string& error) {
  auto fail = [&](llvm::Error e) {
    error = llvm::toString(std::move(e));
    return nullptr;
  };
  llvm::orc::JITDylib* runtime = nullptr;
  llvm::orc::LLJIT* jit = shared_jit(runtime, error);
  if (!jit) return nullptr;
  static uint64_t modules = 0;  // JITDylib names are unique in a session
  llvm::orc::ExecutionSession& session = jit->getExecutionSession();
  remove_retired(session);
  auto code = std::make_shared<LoadedCode>();
  code->jit = jit;
  code->lib = &session.createBareJITDylib("ejit-module-" + std::to_string(modules++));  // removed by ~LoadedCode
  code->lib->addToLinkOrder(*runtime);
  code->object_bytes = object.size();
  std::unique_ptr<llvm::MemoryBuffer> buffer = llvm::MemoryBuffer::getMemBufferCopy(object, "ejit-kernels");
  if (auto e = jit->addObjectFile(*code->lib, std::move(buffer))) return fail(std::move(e));
  return code;
}

/// Each @kernel gets a packed wrapper (void** arguments, add_packed_wrappers). @kernel
/// becomes internal and is never inlined into its wrapper: LLVM optimizes and emits its body
/// once (inlined, the body was emitted three times: kernel, C interface and wrapper). Every buffer's aligned pointer is noalias: outputs are fresh allocations and
/// inputs are only read, so LLVM vectorizes without run-time overlap checks, whose number
/// grows with the number of buffers (and noalias arguments of an inlined call would become
/// scope lists on every access, quadratic in the number of buffers).
void prepare_kernels(mlir::ModuleOp module, const std::vector<const Trace*>& traces, const std::vector<int64_t>& extents) {
  mlir::UnitAttr unit = mlir::UnitAttr::get(module.getContext());
  for (size_t k = 0; k < traces.size(); ++k) {
    auto kernel = module.lookupSymbol<mlir::LLVM::LLVMFuncOp>(kernel_name(k, traces.size()));
    if (!kernel) continue;
    kernel.setLinkage(mlir::LLVM::Linkage::Internal);
    kernel.setNoInline(true);
    unsigned arg = 2;  // after lo and hi: each buffer's fields, its aligned pointer second
    for (const std::vector<int>* values : {&traces[k]->inputs, &traces[k]->outputs})
      for (int v : *values) {
        if (arg + 1 < kernel.getNumArguments()) kernel.setArgAttr(arg + 1, mlir::LLVM::LLVMDialect::getNoAliasAttrName(), unit);
        arg += memref_fields(traces[k]->values[v].shape.rank());
      }
  }
  mlir::OpBuilder b(module.getBodyRegion());
  b.create<mlir::LLVM::GlobalOp>(module.getLoc(), mlir::LLVM::LLVMArrayType::get(b.getI64Type(), extents.size()),
                                 /*isConstant=*/true, mlir::LLVM::Linkage::External, kExtentsSymbol,
                                 b.getI64TensorAttr(extents));
}

/// Defines _mlir_<kernel>(ptr args) for each kernel of the module: it loads argument i of
/// @kernel through the pointer args[i] and calls it (the calling convention of PackedFn, as
/// MLIR's ExecutionEngine wraps functions). "" on success, else which kernel is missing.
std::string add_packed_wrappers(llvm::Module& module, size_t kernels) {
  llvm::IRBuilder<> b(module.getContext());
  for (size_t k = 0; k < kernels; ++k) {
    llvm::Function* kernel = module.getFunction(kernel_name(k, kernels));
    if (!kernel || kernel->isDeclaration()) return "the module has no @" + kernel_name(k, kernels);
    auto* type = llvm::FunctionType::get(b.getVoidTy(), b.getPtrTy(), /*isVarArg=*/false);
    auto* wrapper = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage, packed_name(kernel->getName().str()), module);
    b.SetInsertPoint(llvm::BasicBlock::Create(module.getContext(), "entry", wrapper));
    llvm::Value* list = wrapper->getArg(0);
    std::vector<llvm::Value*> args;
    for (llvm::Argument& arg : kernel->args()) {
      llvm::Value* slot = b.CreateConstGEP1_64(b.getPtrTy(), list, arg.getArgNo());
      args.push_back(b.CreateLoad(arg.getType(), b.CreateLoad(b.getPtrTy(), slot)));
    }
    b.CreateCall(kernel, args);
    b.CreateRetVoid();
  }
  return "";
}

/// The module's relocatable object code; "" (and `error`) when the target cannot emit it.
std::string emit_object(llvm::Module& module, llvm::TargetMachine& tm, std::string& error) {
  llvm::SmallString<0> object;
  llvm::raw_svector_ostream os(object);
  llvm::legacy::PassManager pm;
  llvm::MCContext* mc = nullptr;
  if (tm.addPassesToEmitMC(pm, mc, os, /*DisableVerify=*/true)) {
    error = "the target cannot emit object code";
    return "";
  }
  pm.run(module);
  return std::string(object.str());
}

/// This machine's target machine, made once per code generation level (optimizing, or fast:
/// CompileOptions::fast_codegen) and reused by every compile (they hold the compiler lock): a
/// new one per compile built its subtarget (X86's lowering tables) twice, about 6% of a W1
/// chain's compile. Null (and `error`) when LLVM cannot describe the host.
llvm::TargetMachine* host_target_machine(bool fast_codegen, std::string& error) {
  static llvm::TargetMachine* machines[2] = {};  // leaked, as every static the compiler reads
  llvm::TargetMachine*& host = machines[fast_codegen];
  if (host) return host;
  // The host's CPU and features: without them LLVM's vectorizers see no vector registers.
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder) return error = "[jit] cannot detect the host CPU: " + llvm::toString(builder.takeError()), nullptr;
  // None: FastISel and the fast register allocator (the IR is optimized either way).
  builder->setCodeGenOptLevel(fast_codegen ? llvm::CodeGenOptLevel::None : llvm::CodeGenOptLevel::Aggressive);
  auto tm = builder->createTargetMachine();
  if (!tm) return error = "[jit] cannot create a target machine: " + llvm::toString(tm.takeError()), nullptr;
  return host = tm->release();
}

/// A target machine for a shared library's object code: position-independent, for `cpu` (an
/// LLVM CPU name, "" for this machine's). Null (and `error`) for a CPU LLVM does not know.
std::unique_ptr<llvm::TargetMachine> export_target_machine(const std::string& cpu, std::string& error) {
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder) return error = "[jit] cannot detect the host CPU: " + llvm::toString(builder.takeError()), nullptr;
  builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  builder->setRelocationModel(llvm::Reloc::PIC_);
  if (!cpu.empty()) {
    const std::string triple = builder->getTargetTriple().str();
    std::string lookup_error;  // a CPU name LLVM does not know: an error, not LLVM's warning on stderr
    const llvm::Target* target = llvm::TargetRegistry::lookupTarget(triple, lookup_error);
    std::unique_ptr<llvm::MCSubtargetInfo> sti(target ? target->createMCSubtargetInfo(triple, "", "") : nullptr);
    if (!sti || !sti->isCPUStringValid(cpu)) return error = "[export] LLVM knows no CPU '" + cpu + "' for " + triple, nullptr;
    builder->setCPU(cpu);
    builder->setFeatures("");
  }
  auto tm = builder->createTargetMachine();
  if (!tm) return error = "[jit] cannot create a target machine: " + llvm::toString(tm.takeError()), nullptr;
  return std::move(*tm);
}

/// Each kernel's executable from the loaded code: "" on success, else why.
/// Why a compiled kernel cannot run its trace as planned, or "".
std::string kernel_problem(const Trace& trace, int64_t extent) {
  if (has_unsourced_symbols(trace)) return "a dynamic dim that no input of the kernel has";
  return check_row_extent(trace, extent);
}

std::string link_kernels(const std::shared_ptr<LoadedCode>& code, const std::vector<const Trace*>& traces,
                         const std::vector<int64_t>& extents, std::vector<CompileResult>& results) {
  code->kernels = traces.size();
  for (size_t k = 0; k < traces.size(); ++k) {
    auto fn = code->lookup(packed_name(kernel_name(k, traces.size())));
    if (!fn) return llvm::toString(fn.takeError());
    if (std::string why = kernel_problem(*traces[k], extents[k]); !why.empty()) return why;
    results[k].executable =
        std::make_unique<PackedKernel>(code, reinterpret_cast<PackedFn>(*fn), *traces[k], extents[k]);
  }
  return "";
}

/// The kernels of a module from a disk cache entry (object code and its row extents): ""
/// on success, else why the entry cannot serve.
std::string load_cached(const std::string& object, const std::vector<const Trace*>& traces,
                        std::vector<CompileResult>& results) {
  std::string error;
  std::shared_ptr<LoadedCode> code = load_object(object, error);
  if (!code) return error;
  auto table = code->lookup(kExtentsSymbol);
  if (!table) return llvm::toString(table.takeError());
  const int64_t* e = static_cast<const int64_t*>(*table);
  const std::vector<int64_t> extents(e, e + traces.size());
  return link_kernels(code, traces, extents, results);
}

/// The host CPU and its features, as LLVM sees them (part of the disk cache key).
const std::string& host_target() {
  static const std::string& t = *new std::string([] {
    auto b = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!b) return std::string("unknown-host");
    return b->getTargetTriple().str() + "|" + b->getCPU() + "|" + b->getFeatures().getString();
  }());
  return t;
}

}  // namespace

namespace {

std::vector<CompileResult> compile_module(const std::vector<const Trace*>& traces, bool keep_ir, bool keep_asm,
                                          bool fast_codegen, ObjectCode* export_object) {
  auto t0 = std::chrono::steady_clock::now();
  const size_t n = traces.size();
  std::vector<CompileResult> results(n);
  CompileResult& result = results.at(0);  // the module's IR, times and error
  mlir::MLIRContext& context = compiler_context();
  std::lock_guard lock(compiler_mutex());
  CollectDiagnostics collected(context);
  std::string& diagnostics = collected.text;
  std::string timings;  // EJIT_LOG=compile: milliseconds per stage
  auto last = std::chrono::steady_clock::now();
  auto ms_since = [](auto t) { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count(); };
  auto stage_done = [&](Stage s, mlir::Operation* op) {
    const double ms = ms_since(last);
    result.stage_milliseconds[static_cast<int>(s)] += ms;
    timings += fmt::format(" {}={:.1f}", stage_name(s), ms);
    last = std::chrono::steady_clock::now();
    bool want = dump_requested(s);
    if (!keep_ir && !want) return;
    std::string text = print(op);
    if (want) dump_stage(s, text);
    if (keep_ir) result.ir[static_cast<int>(s)] = std::move(text);
  };
  auto fail_with = [&](std::string what) {  // keeps the IR of the stages that worked (ejit dump prints it)
    const std::string error = what + (diagnostics.empty() ? "" : ": " + diagnostics);
    std::vector<CompileResult> all(n);
    all[0].ir = std::move(result.ir);
    all[0].stage_milliseconds = result.stage_milliseconds;
    for (CompileResult& r : all) r.error = error;
    return all;
  };
  size_t ops = 0;
  for (const Trace* t : traces) ops += t->nodes.size();
  const std::string text = module_text(traces);
  const unsigned opt_level = options::opt_level();
  // The disk cache serves calls that want no IR (IR is only made by compiling).
  const bool use_disk = !export_object && !keep_ir && !keep_asm && !options::dump_any() && !disk_cache_dir().empty();
  const std::string key = use_disk ? KernelKey{"cpu", text, host_target(), opt_level}.digest() : "";
  if (use_disk)
    if (std::optional<DiskEntry> entry = disk_cache_read(key)) {
      const std::string error = load_cached(entry->payload, traces, results);
      if (error.empty()) {
        for (CompileResult& r : results) r.from_disk_cache = true;
        result.milliseconds = ms_since(t0);
        return results;
      }
      for (CompileResult& r : results) r.executable.reset();
      if (options::log("cache")) fmt::print(stderr, "[ejit cache] ignoring a bad disk cache entry {}: {}\n", key, error);
    }

  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  if (!module) return fail_with("[jit] the recorded trace did not parse as ejit IR");
  if (options::codegen_matmul()) (*module)->setAttr(mlir::ejit::kCodegenMatmulAttr, mlir::UnitAttr::get(&context));
  std::vector<int64_t> extents(n, 0);
  {
    auto done = [&](Stage s, mlir::Operation* op) {
      if (s == Stage::Loops) {
        const std::map<std::string, int64_t> by_name = take_row_extents(*module);
        for (size_t k = 0; k < n; ++k)
          if (auto it = by_name.find(kernel_name(k, n)); it != by_name.end()) extents[k] = it->second;
      }
      stage_done(s, op);
    };
    std::string error;
    if (!run_stages(*module, PipelineOptions{}, Stage::Ejit, Stage::LLVMDialect, done, error)) return fail_with(error);
  }

  std::string llvm_ir, assembly;
  bool want_llvm = keep_ir || dump_requested(Stage::LLVM);
  bool want_asm = keep_asm || dump_requested(Stage::Asm);
  std::unique_ptr<llvm::TargetMachine> export_machine;  // an export's: PIC, perhaps for another CPU
  llvm::TargetMachine* machine = nullptr;
  if (export_object) {
    std::string error;
    export_machine = export_target_machine(export_object->cpu, error);
    if (!export_machine) return fail_with(error);
    machine = export_machine.get();
    const llvm::MCSubtargetInfo* sti = machine->getMCSubtargetInfo();
    export_object->cpu_name = std::string(machine->getTargetCPU());
    export_object->features.clear();
    for (const CpuFeature& f : known_cpu_features())
      if (sti->checkFeatures(std::string("+") + f.name)) export_object->features.push_back(f.name);
  } else {
    std::string error;
    machine = host_target_machine(fast_codegen, error);
    if (!machine) return fail_with(error);
  }
  prepare_kernels(*module, traces, extents);
  llvm::LLVMContext llvm_context;
  std::unique_ptr<llvm::Module> llvm_module = mlir::translateModuleToLLVMIR(*module, llvm_context);
  if (!llvm_module) return fail_with("[jit] the LLVM dialect did not translate to LLVM IR");
  llvm_module->setDataLayout(machine->createDataLayout());
  llvm_module->setTargetTriple(machine->getTargetTriple().str());
  if (std::string missing = add_packed_wrappers(*llvm_module, n); !missing.empty()) return fail_with("[jit] " + missing);
  if (std::string e = optimize_llvm(*llvm_module, *machine, opt_level, fast_codegen); !e.empty()) return fail_with(e);
  result.stage_milliseconds[static_cast<int>(Stage::LLVM)] = ms_since(last);
  last = std::chrono::steady_clock::now();
  if (want_llvm) {
    llvm::raw_string_ostream os(llvm_ir);
    llvm_module->print(os, nullptr);
  }
  if (want_asm) {  // before the object: code generation rewrites the module
    std::string asm_error;
    assembly = emit_assembly(*llvm_module, *machine, asm_error);
    if (!asm_error.empty()) return fail_with("[jit] cannot emit host assembly: " + asm_error);
  }
  std::string codegen_error;
  std::string object = emit_object(*llvm_module, *machine, codegen_error);
  if (object.empty()) return fail_with("[jit] LLVM code generation failed: " + codegen_error);
  if (!export_object) {
    std::shared_ptr<LoadedCode> code = load_object(object, codegen_error);
    if (!code) return fail_with("[jit] the compiled kernels do not link: " + codegen_error);
    if (std::string error = link_kernels(code, traces, extents, results); !error.empty())
      return fail_with("[jit] the compiled kernel does not link: " + error);
  }
  if (dump_requested(Stage::LLVM)) dump_stage(Stage::LLVM, llvm_ir);
  if (keep_ir) result.ir[static_cast<int>(Stage::LLVM)] = std::move(llvm_ir);
  if (want_asm) {
    if (dump_requested(Stage::Asm)) dump_stage(Stage::Asm, assembly);
    if (keep_ir || keep_asm) result.ir[static_cast<int>(Stage::Asm)] = std::move(assembly);
  }
  result.stage_milliseconds[static_cast<int>(Stage::Asm)] = ms_since(last);
  if (export_object) {
    for (size_t k = 0; k < n; ++k)  // what link_kernels checks of a JIT compile
      if (std::string why = kernel_problem(*traces[k], extents[k]); !why.empty()) return fail_with("[export] " + why);
    export_object->object = std::move(object);
    export_object->extents = extents;
    export_object->symbols.clear();
    for (size_t k = 0; k < n; ++k) export_object->symbols.push_back(packed_name(kernel_name(k, n)));
  } else if (use_disk && !fast_codegen && disk_cache_writable()) {  // the cache holds optimized code only
    disk_cache_store(key, 0, object);
  }
  result.milliseconds = ms_since(t0);
  if (options::log("compile"))
    fmt::print(stderr, "[ejit compile] {} ops in {} kernel{}, {:.1f} ms; ms per stage:{} llvm={:.1f} {}codegen={:.1f}\n",
               ops, n, n == 1 ? "" : "s", result.milliseconds, timings, result.stage_milliseconds[static_cast<int>(Stage::LLVM)],
               fast_codegen ? "fast " : "", result.stage_milliseconds[static_cast<int>(Stage::Asm)]);
  return results;
}

}  // namespace

std::vector<CompileResult> compile_for_cpu(const std::vector<const Trace*>& traces, bool keep_ir, bool keep_asm,
                                           bool fast_codegen) {
  return compile_module(traces, keep_ir, keep_asm, fast_codegen, nullptr);
}

std::string compile_cpu_object(const std::vector<const Trace*>& traces, ObjectCode& out) {
  try {
    std::vector<CompileResult> r = compile_module(traces, false, false, /*fast_codegen=*/false, &out);
    if (!r.at(0).error.empty()) return r.at(0).error;
    return out.object.empty() ? "[export] no object code was made" : "";
  } catch (const std::exception& e) {
    return std::string("[export] ") + e.what();
  }
}

CompileResult compile_for_cpu(const Trace& trace, bool keep_ir, bool keep_asm) {
  return std::move(compile_for_cpu(std::vector<const Trace*>{&trace}, keep_ir, keep_asm)[0]);
}

}  // namespace ejit::detail
