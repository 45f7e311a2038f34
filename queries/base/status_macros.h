#pragma once

// MA_RETURN_IF_ERROR / MA_ASSIGN_OR_RETURN: abseil 20220623 has neither, so the project carries
// prefixed equivalents that can be aliased to abseil's once Debian ships them.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define MA_INTERNAL_CONCAT_INNER(a, b) a##b
#define MA_INTERNAL_CONCAT(a, b) MA_INTERNAL_CONCAT_INNER(a, b)

#define MA_RETURN_IF_ERROR(expr)                                \
  do {                                                          \
    if (::absl::Status ma_status_ = (expr); !ma_status_.ok()) { \
      return ma_status_;                                        \
    }                                                           \
  } while (false)

#define MA_ASSIGN_OR_RETURN(lhs, expr) \
  MA_INTERNAL_ASSIGN_OR_RETURN(MA_INTERNAL_CONCAT(ma_statusor_, __LINE__), lhs, expr)

// statusor is an identifier and lhs a declaration or an lvalue: neither can be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define MA_INTERNAL_ASSIGN_OR_RETURN(statusor, lhs, expr) \
  auto statusor = (expr);                                 \
  if (!statusor.ok()) {                                   \
    return std::move(statusor).status();                  \
  }                                                       \
  lhs = *std::move(statusor)
// NOLINTEND(bugprone-macro-parentheses)
