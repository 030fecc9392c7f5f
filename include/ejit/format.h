// fmt formatters for Tensor, Shape and DType: fmt::print("{}", t) prints NumPy-like text.
#pragma once

#include <fmt/format.h>

#include <string_view>

#include "ejit/tensor.h"

template <> struct fmt::formatter<ejit::Shape> : fmt::formatter<std::string_view> {
  auto format(const ejit::Shape& s, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(s.str(), ctx);
  }
};
template <> struct fmt::formatter<ejit::DType> : fmt::formatter<std::string_view> {
  auto format(ejit::DType t, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(ejit::name(t), ctx);
  }
};
template <> struct fmt::formatter<ejit::Tensor> : fmt::formatter<std::string_view> {
  auto format(const ejit::Tensor& t, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(t.str(), ctx);
  }
};
