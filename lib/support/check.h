// fail(): throws ejit::Error with "[op] message" formatted by fmt; shape/dtype formatters.
#pragma once

#include <fmt/format.h>

#include <string_view>

#include "ejit/dtype.h"
#include "ejit/error.h"
#include "ejit/format.h"
#include "ejit/shape.h"

namespace ejit {

/// Throws Error("[op] " + formatted message).
template <class... Args>
[[noreturn]] void fail(std::string_view op, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format("[{}] ", op) + fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace ejit
