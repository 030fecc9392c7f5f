// Command-line parsing for the ejit tool.
#include "args.h"

#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

namespace ejit::tool {

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = options.find(name);
  return it == options.end() ? fallback : it->second;
}

int64_t Args::get_int(const std::string& name, int64_t fallback, int64_t min_value) const {
  if (!has(name)) return fallback;
  const std::string& s = options.at(name);
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end || errno || v < min_value)
    throw UsageError(fmt::format("--{}: '{}' is not an integer >= {}", name, s, min_value));
  return v;
}

double Args::get_double(const std::string& name, double fallback) const {
  if (!has(name)) return fallback;
  const std::string& s = options.at(name);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end || !(v >= 0)) throw UsageError(fmt::format("--{}: '{}' is not a number >= 0", name, s));
  return v;
}

const std::string& Args::file() const {
  if (positional.empty()) throw UsageError(fmt::format("'ejit {}' needs a trace file (see ejit {} --help)", command, command));
  if (positional.size() > 1)
    throw UsageError(fmt::format("'ejit {}' takes one trace file, got '{}' and '{}'", command, positional[0], positional[1]));
  return positional[0];
}

Args parse_args(const std::string& command, int argc, char** argv, int first, const std::set<std::string>& known) {
  Args a;
  a.command = command;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      a.help = true;
      continue;
    }
    if (arg == "-o" && known.count("output")) arg = "--output";  // the one short option: ejit export ... -o FILE
    if (arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
      if (arg.size() > 1 && arg[0] == '-')
        throw UsageError(fmt::format("unknown option '{}' for 'ejit {}' (see ejit {} --help)", arg, command, command));
      a.positional.push_back(arg);
      continue;
    }
    size_t eq = arg.find('=');
    std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (!known.count(name))
      throw UsageError(fmt::format("unknown option '--{}' for 'ejit {}' (see ejit {} --help)", name, command, command));
    std::string value;
    if (eq != std::string::npos) value = arg.substr(eq + 1);
    else if (i + 1 < argc) value = argv[++i];
    else throw UsageError(fmt::format("option '--{}' needs a value", name));
    a.options[name] = value;
  }
  return a;
}

}  // namespace ejit::tool
