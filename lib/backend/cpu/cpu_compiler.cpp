// The CPU back end's compiler: a trace through the shared pipeline (lib/pipeline) to the
// LLVM dialect, then LLVM's optimizer and an ORC JIT; object code goes to the kernel cache.
#include "cpu_compiler.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
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
#include "llvm/ExecutionEngine/Orc/Shared/ExecutorSymbolDef.h"
#include "llvm/ExecutionEngine/SectionMemoryManager.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Transforms/Utils/Cloning.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/Parser/Parser.h"

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

/// The machine code of a module of kernels, shared by its kernels' executables: an MLIR
/// ExecutionEngine (just compiled) or an LLJIT (object code from the disk cache).
/// Counts the pages LLVM maps for a module's code and data.
class CountingMapper final : public llvm::SectionMemoryManager::MemoryMapper {
 public:
  llvm::sys::MemoryBlock allocateMappedMemory(llvm::SectionMemoryManager::AllocationPurpose, size_t bytes,
                                              const llvm::sys::MemoryBlock* const near, unsigned flags,
                                              std::error_code& ec) override {
    llvm::sys::MemoryBlock b = llvm::sys::Memory::allocateMappedMemory(bytes, near, flags, ec);
    mapped += b.allocatedSize();
    return b;
  }
  std::error_code protectMappedMemory(const llvm::sys::MemoryBlock& b, unsigned flags) override {
    return llvm::sys::Memory::protectMappedMemory(b, flags);
  }
  std::error_code releaseMappedMemory(llvm::sys::MemoryBlock& b) override {
    return llvm::sys::Memory::releaseMappedMemory(b);
  }
  size_t mapped = 0;
};

struct LoadedCode final : KernelCode {
  CountingMapper mapper;  // outlives the engine, which releases its memory through it
  std::unique_ptr<mlir::ExecutionEngine> engine;
  std::unique_ptr<llvm::orc::LLJIT> lljit;
  size_t object_bytes = 0;  // object code loaded from the disk cache

  size_t bytes() const override { return engine ? mapper.mapped : object_bytes; }

  /// The address of a symbol: a kernel's packed wrapper, or the row extents.
  llvm::Expected<void*> lookup(const std::string& name) const {
    if (engine) return engine->lookup(name);
    auto sym = lljit->lookup(name);
    if (!sym) return sym.takeError();
    return sym->toPtr<void*>();
  }
};

/// The wrapper that MLIR's ExecutionEngine makes for a kernel: void(void** args).
std::string packed_name(const std::string& kernel) { return "_mlir_" + kernel; }
/// A constant array in every module: the row extent of each kernel (see split_outer_loop),
/// so that object code from the disk cache says how to call its kernels.
constexpr const char* kExtentsSymbol = "ejit_row_extents";

/// Links object code from the disk cache; null (and `error`) when it cannot be linked.
std::shared_ptr<LoadedCode> load_object(const std::string& object, std::string& error) {
  auto fail = [&](llvm::Error e) {
    error = llvm::toString(std::move(e));
    return nullptr;
  };
  std::unique_ptr<llvm::MemoryBuffer> buffer = llvm::MemoryBuffer::getMemBufferCopy(object, "ejit-cached-kernel");
  auto jit = llvm::orc::LLJITBuilder().create();
  if (!jit) return fail(jit.takeError());
  llvm::orc::JITDylib& lib = (*jit)->getMainJITDylib();
  auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess((*jit)->getDataLayout().getGlobalPrefix());
  if (!process) return fail(process.takeError());
  lib.addGenerator(std::move(*process));
  llvm::orc::MangleAndInterner interner(lib.getExecutionSession(), (*jit)->getDataLayout());
  if (auto e = lib.define(llvm::orc::absoluteSymbols(allocator_symbols(interner)))) return fail(std::move(e));
  if (auto e = (*jit)->addObjectFile(std::move(buffer))) return fail(std::move(e));
  auto code = std::make_shared<LoadedCode>();
  code->lljit = std::move(*jit);
  code->object_bytes = object.size();
  return code;
}

/// MLIR's ExecutionEngine wraps every function it is given in a packed wrapper (void**
/// arguments). @kernel becomes internal and is never inlined into its wrapper: LLVM optimizes
/// and emits its body once (inlined, the body was emitted three times: kernel, C interface
/// and wrapper). Every buffer's aligned pointer is noalias: outputs are fresh allocations and
/// inputs are only read, so LLVM vectorizes without run-time overlap checks, whose number
/// grows with the number of buffers (and noalias arguments of an inlined call would become
/// scope lists on every access, quadratic in the number of buffers).
void prepare_for_engine(mlir::ModuleOp module, const std::vector<const Trace*>& traces, const std::vector<int64_t>& extents) {
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

/// Each kernel's executable from the loaded code: "" on success, else why.
std::string link_kernels(const std::shared_ptr<LoadedCode>& code, const std::vector<const Trace*>& traces,
                         const std::vector<int64_t>& extents, std::vector<CompileResult>& results) {
  code->kernels = traces.size();
  for (size_t k = 0; k < traces.size(); ++k) {
    auto fn = code->lookup(packed_name(kernel_name(k, traces.size())));
    if (!fn) return llvm::toString(fn.takeError());
    if (has_unsourced_symbols(*traces[k])) return "a dynamic dim that no input of the kernel has";
    if (std::string why = check_row_extent(*traces[k], extents[k]); !why.empty()) return why;
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

/// The engine's object code (once its kernels were looked up, i.e. compiled), through the
/// file `path`, which is removed; nullopt when it cannot be read back.
std::optional<std::string> object_code(mlir::ExecutionEngine& engine, const std::string& path) {
  engine.dumpToObjectFile(path);
  auto object = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (!object) return std::nullopt;
  return std::string((*object)->getBuffer());
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
                                          ObjectCode* export_object) {
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

  std::string llvm_ir, assembly, asm_error;
  bool want_llvm = keep_ir || dump_requested(Stage::LLVM);
  bool want_asm = keep_asm || dump_requested(Stage::Asm);
  // The host's CPU and features: without them LLVM's vectorizers see no vector registers.
  auto tm_builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!tm_builder) return fail_with("[jit] cannot detect the host CPU: " + llvm::toString(tm_builder.takeError()));
  tm_builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  if (export_object) {  // code for a shared library, perhaps for another CPU
    tm_builder->setRelocationModel(llvm::Reloc::PIC_);
    if (!export_object->cpu.empty()) {
      std::string lookup_error;  // a CPU name LLVM does not know: an error, not LLVM's warning on stderr
      const llvm::Target* target = llvm::TargetRegistry::lookupTarget(tm_builder->getTargetTriple().str(), lookup_error);
      std::unique_ptr<llvm::MCSubtargetInfo> sti(
          target ? target->createMCSubtargetInfo(tm_builder->getTargetTriple().str(), "", "") : nullptr);
      if (!sti || !sti->isCPUStringValid(export_object->cpu))
        return fail_with("[export] LLVM knows no CPU '" + export_object->cpu + "' for " + tm_builder->getTargetTriple().str());
      tm_builder->setCPU(export_object->cpu);
      tm_builder->setFeatures("");
    }
  }
  auto tm = tm_builder->createTargetMachine();
  if (!tm) return fail_with("[jit] cannot create a target machine: " + llvm::toString(tm.takeError()));
  llvm::TargetMachine* host = tm->get();
  if (export_object) {
    const llvm::MCSubtargetInfo* sti = host->getMCSubtargetInfo();
    export_object->cpu_name = std::string(host->getTargetCPU());
    export_object->features.clear();
    for (const CpuFeature& f : known_cpu_features())
      if (sti->checkFeatures(std::string("+") + f.name)) export_object->features.push_back(f.name);
  }
  auto transformer = [&](llvm::Module* m) -> llvm::Error {
    if (std::string e = optimize_llvm(*m, *host, opt_level); !e.empty())
      return llvm::make_error<llvm::StringError>(e, llvm::inconvertibleErrorCode());
    result.stage_milliseconds[static_cast<int>(Stage::LLVM)] = ms_since(last);
    if (want_llvm) {
      llvm::raw_string_ostream os(llvm_ir);
      m->print(os, nullptr);
    }
    if (want_asm) assembly = emit_assembly(*m, *host, asm_error);
    return llvm::Error::success();
  };
  prepare_for_engine(*module, traces, extents);
  auto code = std::make_shared<LoadedCode>();
  mlir::ExecutionEngineOptions options;
  options.sectionMemoryMapper = &code->mapper;
  options.transformer = transformer;
  options.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  options.enableObjectDump = use_disk || export_object;
  auto engine = mlir::ExecutionEngine::create(*module, options, std::move(*tm));
  if (!engine) {
    std::string err = llvm::toString(engine.takeError());
    return fail_with("[jit] LLVM code generation failed: " + err);
  }
  code->engine = std::move(*engine);
  code->engine->registerSymbols([](llvm::orc::MangleAndInterner interner) { return allocator_symbols(interner); });
  if (std::string error = link_kernels(code, traces, extents, results); !error.empty())
    return fail_with("[jit] the compiled kernel does not link: " + error);
  if (dump_requested(Stage::LLVM)) dump_stage(Stage::LLVM, llvm_ir);
  if (keep_ir) result.ir[static_cast<int>(Stage::LLVM)] = std::move(llvm_ir);
  if (want_asm) {
    if (!asm_error.empty()) return fail_with("[jit] cannot emit host assembly: " + asm_error);
    if (dump_requested(Stage::Asm)) dump_stage(Stage::Asm, assembly);
    if (keep_ir || keep_asm) result.ir[static_cast<int>(Stage::Asm)] = std::move(assembly);
  }
  result.stage_milliseconds[static_cast<int>(Stage::Asm)] =
      ms_since(last) - result.stage_milliseconds[static_cast<int>(Stage::LLVM)];
  if (export_object) {
    std::error_code tmp_ec;
    const std::filesystem::path tmp_dir = std::filesystem::temp_directory_path(tmp_ec);
    std::string tmp = ((tmp_ec ? std::filesystem::path("/tmp") : tmp_dir) / "ejit-export-XXXXXX.o").string();
    const int tmp_fd = mkstemps(tmp.data(), 2);  // a name no other process or thread uses
    if (tmp_fd < 0) return fail_with("[export] cannot create a temporary file for the object code");
    close(tmp_fd);
    std::optional<std::string> object = object_code(*code->engine, tmp);
    if (!object) return fail_with("[export] cannot read the object code back from " + tmp);
    export_object->object = std::move(*object);
    export_object->extents = extents;
    export_object->symbols.clear();
    for (size_t k = 0; k < n; ++k) export_object->symbols.push_back(packed_name(kernel_name(k, n)));
  }
  if (use_disk && disk_cache_writable()) {  // the object exists once the kernels were looked up (compiled)
    const std::string tmp = fmt::format("{}/{}.entry.tmp-{}-object", disk_cache_dir(), key, static_cast<long>(getpid()));
    if (std::optional<std::string> object = object_code(*code->engine, tmp)) {
      disk_cache_store(key, 0, *object);
      // The kernels run from the object itself: an LLJIT holding it keeps about 0.1 MB where
      // the ExecutionEngine, with its LLVM context, keeps about 0.6 MB (jit_bench's RSS over
      // cached signatures). The engine goes when its executables do.
      std::vector<CompileResult> relinked(n);
      if (load_cached(*object, traces, relinked).empty())
        for (size_t k = 0; k < n; ++k) results[k].executable = std::move(relinked[k].executable);
    }
  }
  result.milliseconds = ms_since(t0);
  if (options::log("compile"))
    fmt::print(stderr, "[ejit compile] {} ops in {} kernel{}, {:.1f} ms; ms per stage:{} llvm={:.1f} codegen={:.1f}\n",
               ops, n, n == 1 ? "" : "s", result.milliseconds, timings,
               result.stage_milliseconds[static_cast<int>(Stage::LLVM)], result.stage_milliseconds[static_cast<int>(Stage::Asm)]);
  return results;
}

}  // namespace

std::vector<CompileResult> compile_for_cpu(const std::vector<const Trace*>& traces, bool keep_ir, bool keep_asm) {
  return compile_module(traces, keep_ir, keep_asm, nullptr);
}

std::string compile_cpu_object(const std::vector<const Trace*>& traces, ObjectCode& out) {
  try {
    std::vector<CompileResult> r = compile_module(traces, false, false, &out);
    if (!r.at(0).executable) return r.at(0).error;
    return out.object.empty() ? "[export] no object code was made" : "";
  } catch (const std::exception& e) {
    return std::string("[export] ") + e.what();
  }
}

CompileResult compile_for_cpu(const Trace& trace, bool keep_ir, bool keep_asm) {
  return std::move(compile_for_cpu(std::vector<const Trace*>{&trace}, keep_ir, keep_asm)[0]);
}

}  // namespace ejit::detail
