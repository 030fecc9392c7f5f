// Helpers of the fork() tests: run a check in a child process, and compare tensors there
// (Catch2's assertions do not reach back from a child).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>

#include <ejit/tensor.h>

namespace ejit::test {

/// Runs body in a fork()ed child under a 30 s alarm: "" when it returned true, else what
/// went wrong (a hang shows as SIGALRM, a crash as its signal). With exit_normally the child
/// leaves through exit() (atexit handlers and static destructors run), else _exit().
inline std::string run_in_child(const std::function<bool()>& body, bool exit_normally = false) {
  pid_t pid = fork();
  if (pid == 0) {
    alarm(30);
    bool ok = false;
    try {
      ok = body();
    } catch (...) {
    }
    if (exit_normally) std::exit(ok ? 0 : 1);
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return "fork or waitpid failed";
  if (WIFSIGNALED(status)) return "child killed by signal " + std::to_string(WTERMSIG(status));
  return WEXITSTATUS(status) == 0 ? "" : "child failed a check";
}

/// Same shape and values within rel (relative to 1 + |b|).
inline bool same(const Tensor& a, const Tensor& b, double rel = 1e-5) {
  auto x = a.to_vector<double>(), y = b.to_vector<double>();
  if (x.size() != y.size()) return false;
  for (size_t i = 0; i < x.size(); ++i)
    if (std::fabs(x[i] - y[i]) > rel * (1 + std::fabs(y[i]))) return false;
  return true;
}

}  // namespace ejit::test
