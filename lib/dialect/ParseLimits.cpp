// findExcessiveNesting: a linear scan of MLIR text for nesting deeper than its parser's stack allows.
#include "ParseLimits.h"

#include "llvm/ADT/StringExtras.h"

namespace mlir::ejit {
namespace {

bool isWordChar(char c) { return llvm::isAlnum(c) || c == '_' || c == '$' || c == '.'; }

/// Characters that may occur inside an affine expression (ids, numbers, %ssa values,
/// parentheses, operators, spaces); any other character ends the expression.
bool inExpression(char c) {
  return isWordChar(c) || c == '%' || c == '(' || c == ')' || c == '+' || c == '-' ||
         c == '*' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

} // namespace

std::optional<NestingExcess> findExcessiveNesting(llvm::StringRef text,
                                                  unsigned maxDepth) {
  enum class State { Code, String, Comment } state = State::Code;
  unsigned depth = 0, operators = 0, line = 1, column = 1;
  const size_t n = text.size();
  auto excess = [&](const char *what) {
    return NestingExcess{line, column,
                         std::string(what) + " " + std::to_string(maxDepth)};
  };
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    const char next = i + 1 < n ? text[i + 1] : '\0';
    const char prev = i > 0 ? text[i - 1] : '\0';
    // Advance the position past c (and past the rest of a word) after looking at it.
    size_t end = i + 1;
    if (state == State::Code && isWordChar(c) && !isWordChar(prev))
      while (end < n && isWordChar(text[end]))
        ++end;
    if (state == State::String && c == '\\' && next != '\n' && next != '\0')
      end = i + 2; // an escaped character
    auto advance = [&] {
      for (; i < end; ++i) {
        if (text[i] == '\n')
          ++line, column = 1;
        else
          ++column;
      }
      --i; // the loop's ++i
    };
    if (state == State::String) {
      if (end == i + 1 && (c == '"' || c == '\n'))
        state = State::Code;
      advance();
      continue;
    }
    if (state == State::Comment) {
      if (c == '\n')
        state = State::Code;
      advance();
      continue;
    }
    if (c == '"') {
      state = State::String;
    } else if (c == '/' && next == '/') {
      state = State::Comment;
    } else if (!inExpression(c)) {
      operators = 0;
    } else if (end > i + 1) {
      llvm::StringRef word = text.slice(i, end);
      if ((word == "mod" || word == "floordiv" || word == "ceildiv") &&
          ++operators > maxDepth)
        return excess("more operators in one expression than");
    } else if ((c == '+' || c == '*' || (c == '-' && next != '>')) &&
               ++operators > maxDepth) {
      return excess("more operators in one expression than");
    }
    const bool opener = c == '(' || c == '[' || c == '{' || (c == '<' && next != '=');
    const bool closer = c == ')' || c == ']' || c == '}' ||
                        (c == '>' && next != '=' && prev != '-');
    if (opener && ++depth > maxDepth)
      return excess("nesting deeper than");
    if (closer && depth > 0)
      --depth;
    advance();
  }
  return std::nullopt;
}

} // namespace mlir::ejit
