// Bounds the fuzzers share.
#pragma once

#include <algorithm>

#include "ndjit/runtime/record.h"

namespace ndjit::fuzz {

// How many values a record prints: a sub-array's dims multiply even past a
// zero-length dim ((90, 15, 500, 0) prints 675000 empty lists, in NumPy
// too), so a record is printed only when that count is small.
inline double Printed(const ndjit::RecordType& t) {
  double n = 0;
  for (const ndjit::RecordField& f : t.fields()) {
    double k = 1;
    for (int64_t d : f.format.subshape) k *= static_cast<double>(std::max<int64_t>(d, 1));
    n += k * (f.format.record ? Printed(*f.format.record) : 1.0);
  }
  return n;
}

}  // namespace ndjit::fuzz
