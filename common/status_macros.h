#ifndef RELAIS_COMMON_STATUS_MACROS_H_
#define RELAIS_COMMON_STATUS_MACROS_H_

// Debian's abseil ships neither RETURN_IF_ERROR nor ASSIGN_OR_RETURN; these are
// the project's only definitions of them.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define RELAIS_CONCAT_INNER_(a, b) a##b
#define RELAIS_CONCAT_(a, b) RELAIS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the caller if not ok.
#define RETURN_IF_ERROR(expr)                                         \
  do {                                                                \
    if (absl::Status relais_status_ = (expr); !relais_status_.ok()) { \
      return relais_status_;                                          \
    }                                                                 \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on error
// returns its status, otherwise move-assigns the value to `lhs` (which may be a
// declaration such as `auto x`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  RELAIS_ASSIGN_OR_RETURN_IMPL_(RELAIS_CONCAT_(relais_statusor_, __LINE__), lhs, expr)

#define RELAIS_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = *std::move(statusor)

#endif  // RELAIS_COMMON_STATUS_MACROS_H_
