// load_compiled(): checks an exported library's file, maps its shared object with dlopen
// (from the checked bytes: a memfd, so that what runs is what was checked) and builds one
// step program per signature from its manifest.
#include "ejit/compiled_library.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>

#include "../core/file.h"
#include "../support/check.h"
#include "../support/text_io.h"
#include "../trace/dynamic_dims.h"
#include "cpu_features.h"
#include "ejit/format.h"
#include "ejit/device.h"
#include "exported_library.h"
#include "gpu_executor.h"
#include "packed_kernel.h"
#include "step_program.h"

namespace ejit {

namespace {

using detail::ExportManifest;

/// An exported library's shared object, mapped while any of its kernels lives. Its memory
/// file stays open as long: the dynamic loader knows objects by the name they were opened
/// under (/proc/self/fd/N), so a number reused by another library while this one is loaded
/// would hand that library this one's handle.
class LoadedObject final : public detail::KernelCode {
 public:
  LoadedObject(void* handle, int fd, size_t bytes) : handle_(handle), fd_(fd), bytes_(bytes) {}
  ~LoadedObject() override {
    dlclose(handle_);
    close(fd_);
  }
  size_t bytes() const override { return bytes_; }
  void* symbol(const std::string& name) const { return dlsym(handle_, name.c_str()); }

 private:
  void* handle_;
  int fd_;
  size_t bytes_;
};

constexpr uint64_t kMaxLibraryBytes = uint64_t{1} << 31;

std::shared_ptr<LoadedObject> map_object(std::string_view object, const std::string& path) {
#ifdef MFD_EXEC
  int fd = memfd_create("ejit-export", MFD_CLOEXEC | MFD_EXEC);  // kernels with vm.memfd_noexec need it said
  if (fd < 0 && errno == EINVAL) fd = memfd_create("ejit-export", MFD_CLOEXEC);
#else
  const int fd = memfd_create("ejit-export", MFD_CLOEXEC);
#endif
  if (fd < 0) fail("load_compiled", "{}: cannot create a memory file for its code", path);
  if (detail::write_all(fd, object.data(), object.size()) != 0) {
    close(fd);
    fail("load_compiled", "{}: cannot write its code to a memory file", path);
  }
  const std::string proc = fmt::format("/proc/self/fd/{}", fd);
  void* handle = dlopen(proc.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    close(fd);
    fail("load_compiled", "{}: its shared object does not load: {}", path, why ? why : "unknown error");
  }
  return std::make_shared<LoadedObject>(handle, fd, object.size());
}

std::string signature_text(const Trace& t) {
  std::string s = "(";
  for (size_t i = 0; i < t.inputs.size(); ++i) {
    const ValueType& v = t.values[t.inputs[i]];
    std::vector<std::string> dims;  // a dynamic dim as jit()'s logs write it
    for (int64_t d : v.shape) dims.push_back(d < 0 ? "?" : std::to_string(d));
    s += fmt::format("{}{}({}{})", i ? ", " : "", v.dtype, fmt::join(dims, ","), dims.size() == 1 ? "," : "");
  }
  return s + ")";
}

}  // namespace

struct CompiledLibrary::Impl {
  ExportManifest manifest;  // its entries' step plans moved into programs
  std::vector<std::unique_ptr<detail::Executable>> programs;
  std::vector<const Trace*> traces;  // per program: the one it holds
  std::vector<std::string> plans;
  std::shared_ptr<LoadedObject> object;
  /// The signatures in the order calls try them: static ones first (a call that fits a
  /// static and a dynamic one runs the static code, whatever order the file has), each
  /// with whether it has dynamic dims.
  std::vector<std::pair<size_t, bool>> try_order;

  void order_signatures() {
    for (bool dynamic : {false, true})
      for (size_t k = 0; k < traces.size(); ++k)
        if (detail::has_dynamic_dims(*traces[k]) == dynamic) try_order.emplace_back(k, dynamic);
  }
};

CompiledLibrary load_compiled(const std::string& path) {
  detail::InputFile in("load_compiled", path);
  if (in.size() > kMaxLibraryBytes) fail("load_compiled", "{}: {} bytes is too large for an exported library", path, in.size());
  const std::string file = in.read(0, static_cast<size_t>(in.size()));
  const auto [object, manifest_bytes] = detail::split_library_file(file, path);
  auto impl = std::make_shared<CompiledLibrary::Impl>();
  ExportManifest& m = impl->manifest;
  try {
    m = detail::read_manifest(manifest_bytes);
  } catch (const Error& e) {
    std::string_view what = e.what();  // "[load_compiled] manifest ...": the path goes first
    if (what.starts_with("[load_compiled] ")) what.remove_prefix(16);
    fail("load_compiled", "{}: {}", path, what);
  }
  if (m.ejit_version != detail::ejit_version())
    fail("load_compiled", "{}: written by ejit {}, and this is ejit {}: export it again with this version", path,
                 m.ejit_version, detail::ejit_version());
  if (m.target == "cuda") {  // PTX for the driver to load on the first call; the shared object holds no code
    for (detail::ExportedEntry& e : m.entries) {
      std::vector<detail::GpuStep> steps;
      size_t kernels = 0;
      for (detail::ExportedGpuStep& s : e.gpu_steps) {
        detail::GpuStep step;
        step.kind = static_cast<detail::GpuStep::Kind>(s.kind);
        step.nodes = s.nodes, step.inputs = s.inputs, step.outputs = s.outputs, step.what = s.what;
        if (!s.kernels.empty() && !detail::deserialize(s.kernels, step.kernels))
          fail("load_compiled", "{}: a GPU step's kernels do not parse", path);
        kernels += step.kernels.launches.size();
        steps.push_back(std::move(step));
      }
      impl->plans.push_back(fmt::format("{} GPU steps, {} kernel launches", steps.size(), kernels));
      auto program = std::make_unique<detail::GpuProgram>(std::move(e.trace), std::move(steps));
      impl->traces.push_back(&program->trace());
      impl->programs.push_back(std::move(program));
    }
    m.entries.clear();  // now in the programs
    impl->order_signatures();
    CompiledLibrary lib;
    lib.impl_ = std::move(impl);
    return lib;
  }
  if (m.target != "cpu") fail("load_compiled", "{}: its target is '{}'; this build loads cpu and cuda libraries", path, m.target);
  if (auto missing = detail::missing_cpu_features(m.features); !missing.empty())
    fail("load_compiled", "{}: compiled for CPU {}, whose features {} this CPU lacks: export it for this CPU "
                 "(or for an older one, e.g. --cpu=x86-64-v2)", path, m.cpu, fmt::join(missing, ", "));
  impl->object = map_object(object, path);
  std::vector<detail::PackedFn> kernels;
  for (const std::string& s : m.kernel_symbols) {
    void* fn = impl->object->symbol(s);
    if (!fn) fail("load_compiled", "{}: its shared object has no kernel '{}'", path, s);
    kernels.push_back(reinterpret_cast<detail::PackedFn>(fn));
  }
  impl->object->kernels = std::max<size_t>(1, kernels.size());
  for (detail::ExportedEntry& e : m.entries) {
    std::vector<detail::Step> steps;
    size_t compiled = 0;
    for (detail::ExportedStep& s : e.steps) {
      detail::Step step{s.compiled, s.nodes, nullptr, s.inputs, s.outputs, {}, {}};
      if (s.compiled) {
        ++compiled;
        step.kernel = std::make_unique<detail::PackedKernel>(impl->object, kernels[s.kernel], s.sub, s.extent);
        step.sub = std::move(s.sub);
      }
      steps.push_back(std::move(step));
    }
    impl->plans.push_back(fmt::format("{} kernel{}, {} interpreter step{}", compiled, compiled == 1 ? "" : "s",
                                      steps.size() - compiled, steps.size() - compiled == 1 ? "" : "s"));
    auto program = std::make_unique<detail::StepProgram>(std::move(e.trace), std::move(steps), std::move(e.folded_from));
    impl->traces.push_back(&program->trace());
    impl->programs.push_back(std::move(program));
  }
  m.entries.clear();  // now in the programs
  impl->order_signatures();
  CompiledLibrary lib;
  lib.impl_ = std::move(impl);
  return lib;
}

namespace {

/// Throws unless `inputs` are on the library's kind of device.
void check_devices(const ExportManifest& m, const std::vector<Tensor>& inputs) {
  const bool gpu = m.target == "cuda";
  if (gpu && !cuda_available()) fail(m.name, "a GPU library ({}) needs a CUDA device: {}", m.cpu, cuda_unavailable_reason());
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].defined() || inputs[i].device().is_cpu() == gpu)
      fail(m.name, "input {} is {}: this library runs on {} tensors", i,
           inputs[i].defined() ? "on " + inputs[i].device().str() : std::string("undefined"), gpu ? "CUDA" : "CPU");
}

/// Whether `inputs` fit signature `t` (no text is made: this runs on every call).
bool fits(const Trace& t, bool dynamic, const std::vector<Tensor>& inputs) {
  if (dynamic) return detail::dynamic_mismatch(t, inputs).empty();
  if (inputs.size() != t.inputs.size()) return false;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].shape() != t.values[t.inputs[i]].shape || inputs[i].dtype() != t.values[t.inputs[i]].dtype) return false;
  return true;
}

std::string types_text(const std::vector<Tensor>& inputs) {
  std::string s = "(";
  for (size_t i = 0; i < inputs.size(); ++i) s += fmt::format("{}{}{}", i ? ", " : "", inputs[i].dtype(), inputs[i].shape());
  return s + ")";
}

}  // namespace

std::vector<Tensor> CompiledLibrary::operator()(const std::vector<Tensor>& inputs) const {
  check_devices(impl_->manifest, inputs);
  for (const auto& [k, dynamic] : impl_->try_order)
    if (fits(*impl_->traces[k], dynamic, inputs)) return impl_->programs[k]->run(inputs);
  std::string have;  // and why a dynamic signature does not take them
  for (size_t i = 0; i < signatures(); ++i) {
    have += (i ? ", " : "") + signature(i);
    if (detail::has_dynamic_dims(*impl_->traces[i])) have += " (" + detail::dynamic_mismatch(*impl_->traces[i], inputs) + ")";
  }
  fail(impl_->manifest.name, "no exported signature takes {}: it was exported for {}", types_text(inputs), have);
}

std::vector<Tensor> CompiledLibrary::run_signature(size_t i, const std::vector<Tensor>& inputs) const {
  const Trace& t = trace(i);
  check_devices(impl_->manifest, inputs);
  if (std::string why = detail::dynamic_mismatch(t, inputs); !why.empty())
    fail(impl_->manifest.name, "signature {} {} does not take {}: {}", i, signature(i), types_text(inputs), why);
  return impl_->programs[i]->run(inputs);
}

const std::string& CompiledLibrary::name() const { return impl_->manifest.name; }
size_t CompiledLibrary::signatures() const { return impl_->programs.size(); }
std::string CompiledLibrary::signature(size_t i) const { return signature_text(trace(i)); }
const Trace& CompiledLibrary::trace(size_t i) const {
  if (i >= impl_->programs.size()) fail("CompiledLibrary::trace", "no signature {} (it has {})", i, impl_->programs.size());
  return *impl_->traces[i];
}
bool CompiledLibrary::on_gpu() const { return impl_->manifest.target == "cuda"; }
std::string CompiledLibrary::target() const {
  if (on_gpu()) return "cuda " + impl_->manifest.cpu;
  return fmt::format("{} {} ({})", impl_->manifest.target, impl_->manifest.cpu, fmt::join(impl_->manifest.features, ","));
}
const std::string& CompiledLibrary::ejit_version() const { return impl_->manifest.ejit_version; }
std::string CompiledLibrary::plan(size_t i) const {
  trace(i);
  return impl_->plans[i];
}
size_t CompiledLibrary::code_bytes() const {
  if (impl_->object) return impl_->object->bytes();
  size_t n = 0;
  for (const auto& p : impl_->programs) n += p->code_bytes();
  return n;
}

}  // namespace ejit
