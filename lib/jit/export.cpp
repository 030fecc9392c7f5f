// export_library(): traces compiled for the CPU into one shared library (the kernels' object
// code linked by the system's C compiler driver, plus the manifest that load_compiled reads).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "../backend/cpu/cpu_steps.h"
#include "../backend/gpu/gpu_program.h"
#include "../runtime/exported_library.h"
#include "../core/file.h"
#include "../support/check.h"
#include "../support/options.h"
#include "ejit/compile.h"
#include "ejit/format.h"

extern char** environ;

namespace ejit {
namespace {

namespace fs = std::filesystem;

/// The system's temporary folder ($TMPDIR or /tmp), never an exception.
fs::path temp_folder() {
  std::error_code ec;
  fs::path p = fs::temp_directory_path(ec);
  return ec ? fs::path("/tmp") : p;
}

/// A folder of its own under the system's temporary folder, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (temp_folder() / "ejit-export-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) fail("export", "cannot create a temporary folder under {}", temp_folder().string());
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

std::string read_all(const fs::path& p) {
  const detail::InputFile in("export", p.string());
  return in.read(0, static_cast<size_t>(in.size()));
}


void write_file(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) fail("export", "cannot write {}", p.string());
}

/// "[jit] why" without its "[op] " prefix (export errors carry their own).
std::string without_op(const std::string& error) {
  if (error.starts_with("[")) {
    const size_t end = error.find("] ");
    if (end != std::string::npos) return error.substr(end + 2);
  }
  return error;
}

/// Runs `argv` (no shell); its exit status, with what it wrote to stderr in `log`.
int run_program(const std::vector<std::string>& argv, const fs::path& log_path, std::string& log) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    log = std::string("cannot start it: ") + std::strerror(rc);
    return -1;
  }
  int status = 0;
  pid_t waited;
  while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  std::error_code ec;
  log = fs::exists(log_path, ec) ? read_all(log_path) : "";
  if (waited < 0) {  // e.g. SIGCHLD ignored by the application: its status is lost
    log += fmt::format(" (its exit status is unknown: waitpid: {})", std::strerror(errno));
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/// The object code linked as a shared object (an empty one when no kernel compiled).
std::string link_shared_object(const std::string& object, const ScratchDir& dir) {
  const std::string linker = options::linker();
  const fs::path so = dir / "kernels.so", log = dir / "link.log";
  std::vector<std::string> argv = {linker, "-shared", "-o", so.string(), "-Wl,-z,noexecstack", "-Wl,-z,defs"};
  if (object.empty()) {
    write_file(dir / "empty.c", "");
    argv.push_back((dir / "empty.c").string());
  } else {
    write_file(dir / "kernels.o", object);
    argv.push_back((dir / "kernels.o").string());
  }
  argv.insert(argv.end(), {"-lm", "-lc"});
  std::string output;
  if (int rc = run_program(argv, log, output); rc != 0)
    fail("export", "linking the kernels with '{}' (EJIT_LINKER) failed (exit {}): {}", linker, rc, output);
  std::error_code ec;
  if (!fs::exists(so, ec)) fail("export", "'{}' (EJIT_LINKER) made no shared object: {}", linker, output);
  std::string bytes = read_all(so);
  if (bytes.size() < 64 || bytes.compare(0, 4, "\x7f" "ELF") != 0)
    fail("export", "'{}' (EJIT_LINKER) made something that is not a shared object", linker);
  return bytes;
}

}  // namespace

void export_library(const std::vector<Trace>& traces, const std::string& path, const ExportOptions& options) {
  if (traces.empty()) fail("export", "nothing to export: no traces");
  std::vector<const Trace*> ptrs;
  for (size_t i = 0; i < traces.size(); ++i) {
    const Trace& t = traces[i];
    if (!t.not_compilable.empty()) fail("export", "trace {} cannot be compiled: {}", i, t.not_compilable);
    for (const TraceNode& n : t.nodes)
      if (n.kind == NodeKind::HostCall)
        fail("export", "trace {} calls a host callback: a C++ function cannot be exported", i);
    for (size_t j = 0; j < i; ++j) {
      bool same = traces[j].inputs.size() == t.inputs.size();
      for (size_t k = 0; same && k < t.inputs.size(); ++k) same = traces[j].values[traces[j].inputs[k]] == t.values[t.inputs[k]];
      if (same) fail("export", "traces {} and {} have the same signature", j, i);
    }
    ptrs.push_back(&t);
  }
  detail::ExportManifest m;
  std::string object;
  const bool gpu = options.target == Target::CUDA;
  if (gpu && !options.cpu.empty())
    fail("export", "--cpu={} is for CPU libraries: a GPU library's chip comes from EJIT_CUDA_ARCH", options.cpu);
  const bool strict = options.strict.value_or(options::strict_numerics());
  if (gpu && strict) fail("export", "strict numerics are for CPU libraries (GPU programs are not strict yet)");
  const std::string error =
      gpu ? detail::compile_gpu_export(ptrs, m) : detail::compile_cpu_export(ptrs, options.cpu, strict, m, object);
  if (!error.empty()) fail("export", "{}", without_op(error));
  m.ejit_version = detail::ejit_version();
  m.target = gpu ? "cuda" : "cpu";
  m.name = options.name.value_or("fn");
  const std::string manifest = detail::write_manifest(m);
  try {
    detail::read_manifest(manifest);  // what load_compiled will check, checked now
  } catch (const Error& e) {
    fail("export", "internal: the manifest written does not read back: {}", e.what());
  }
  // A GPU library has no host code: its file is the manifest (PTX and plans) and the trailer,
  // with no shared object before them, so that writing one needs no C compiler driver.
  std::string shared_object;
  if (!gpu) {
    ScratchDir dir;
    shared_object = link_shared_object(object, dir);
  }
  const std::string file = detail::library_file(shared_object, manifest);
  if (std::string why = detail::write_file_atomically(path, {file}); !why.empty())
    fail("export", "cannot write {}: {}", path, why);
}

}  // namespace ejit
