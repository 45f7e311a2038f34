#pragma once

// MA_RETURN_IF_ERROR / MA_ASSIGN_OR_RETURN: abseil 20220623 has neither, so the project carries
// prefixed equivalents that can be aliased to abseil's once Debian ships them.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define MA_STATUS_CONCAT_INNER_(a, b) a##b
#define MA_STATUS_CONCAT_(a, b) MA_STATUS_CONCAT_INNER_(a, b)

#define MA_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    if (::absl::Status ma_status_ = (expr); !ma_status_.ok()) { \
      return ma_status_;                         \
    }                                            \
  } while (false)

#define MA_ASSIGN_OR_RETURN(lhs, expr) \
  MA_ASSIGN_OR_RETURN_IMPL_(MA_STATUS_CONCAT_(ma_statusor_, __LINE__), lhs, expr)

#define MA_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) {                                \
    return std::move(statusor).status();               \
  }                                                    \
  lhs = *std::move(statusor)
