// Command-line parsing for the ejit tool: positionals and --name=value / --name value options.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace ejit::tool {

/// A usage error (unknown option, missing value...); main prints it as one line, exit 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The arguments of one subcommand.
struct Args {
  std::string command;                        // "dump", "run"
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // without the leading "--"
  bool help = false;

  bool has(const std::string& name) const { return options.count(name) != 0; }
  std::string get(const std::string& name, const std::string& fallback) const;
  int64_t get_int(const std::string& name, int64_t fallback, int64_t min_value) const;
  double get_double(const std::string& name, double fallback) const;
  /// The one positional argument (the trace file); a UsageError when there is none or more.
  const std::string& file() const;
};

/// Parses argv[first..] for `command`; every option takes a value and must be in `known`.
Args parse_args(const std::string& command, int argc, char** argv, int first, const std::set<std::string>& known);

}  // namespace ejit::tool
