// The public API's error channel. Inside the engine errors are absl::Status;
// where a C++ operator cannot return one, the DSL throws ndjit::Error with
// the same NumPy-like text.
#pragma once

#include <stdexcept>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ndjit {

class Error : public std::runtime_error {
 public:
  explicit Error(const absl::Status& status);
  absl::StatusCode code() const { return code_; }

 private:
  absl::StatusCode code_;
};

// Throws Error unless `status` is OK.
void ThrowIfError(const absl::Status& status);

// The value, or throws Error with the status's text.
template <typename T>
T ValueOrThrow(absl::StatusOr<T> v) {
  if (!v.ok()) throw Error(v.status());
  return *std::move(v);
}

}  // namespace ndjit
