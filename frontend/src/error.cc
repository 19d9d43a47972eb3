#include "ndjit/error.h"

#include <string>

namespace ndjit {

Error::Error(const absl::Status& status)
    : std::runtime_error(std::string(status.message())), code_(status.code()) {}

void ThrowIfError(const absl::Status& status) {
  if (!status.ok()) throw Error(status);
}

}  // namespace ndjit
