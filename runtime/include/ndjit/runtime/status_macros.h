// Early returns on absl::Status / absl::StatusOr, for the sources of every
// layer (exceptions are thrown only at the public API).
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define NDJIT_CONCAT_INNER_(a, b) a##b
#define NDJIT_CONCAT_(a, b) NDJIT_CONCAT_INNER_(a, b)

// Returns the status of `expr` (a Status or StatusOr) when it is not ok.
#define NDJIT_RETURN_IF_ERROR(expr)                                                         \
  do {                                                                                      \
    if (const absl::Status ndjit_status_ = ::ndjit::ToStatus_(expr); !ndjit_status_.ok()) { \
      return ndjit_status_;                                                                 \
    }                                                                                       \
  } while (false)

// `lhs = *expr` (a StatusOr), or returns its status. `lhs` may declare a
// variable: NDJIT_ASSIGN_OR_RETURN(NDArray a, NDArray::Empty(...)).
#define NDJIT_ASSIGN_OR_RETURN(lhs, expr) \
  NDJIT_ASSIGN_OR_RETURN_(NDJIT_CONCAT_(ndjit_statusor_, __LINE__), lhs, expr)
#define NDJIT_ASSIGN_OR_RETURN_(tmp, lhs, expr) \
  auto tmp = (expr);                            \
  if (!tmp.ok()) return tmp.status();           \
  lhs = *std::move(tmp)

namespace ndjit {
inline const absl::Status& ToStatus_(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& ToStatus_(const absl::StatusOr<T>& s) {
  return s.status();
}
}  // namespace ndjit
