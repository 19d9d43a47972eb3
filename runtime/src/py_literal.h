// Internal to the runtime: Python literals, the notation of .npy headers and
// of record dtype descriptions ({'descr': [('t', '<u8'), ('pos', '<f4', (3,))],
// 'fortran_order': False, 'shape': (4,), }).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ndjit/runtime/record.h"

namespace ndjit::internal {

struct PyLiteral {
  enum Kind { kString, kInt, kBool, kNone, kTuple, kList, kDict };
  Kind kind = kNone;
  std::string text;  // kString
  int64_t i = 0;     // kInt, kBool
  // kTuple, kList: the elements; kDict: keys and values alternating.
  std::vector<PyLiteral> items;
};

// Parses one literal spanning all of `text` (surrounding space allowed).
// Errors read "<context>: <what went wrong>".
absl::StatusOr<PyLiteral> ParsePyLiteral(absl::string_view text, absl::string_view context);

// A record dtype from its descr list (the .npy reader's and
// ndjit::RecordTypeFromDescr's); errors start with `context`.
absl::StatusOr<RecordTypePtr> RecordTypeFromDescr(const PyLiteral& descr,
                                                  absl::string_view context);

}  // namespace ndjit::internal
