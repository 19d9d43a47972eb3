// Running reductions along an axis: np.cumsum, np.cumprod and the ufunc
// method accumulate (np.maximum.accumulate, ...). A scan reads its own
// previous result, so it runs on computed arrays, one sequential pass per
// line (NumPy's order, so its rounding).
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "ndjit/runtime/ndarray.h"

namespace ndjit {

enum class AccumulateOp { kAdd, kMultiply, kMaximum, kMinimum };

// A new C-ordered array of `a`'s shape in `dtype`: element i along `axis`
// (negative counts from the end) folds elements 0..i of `a` (converted to
// `dtype` first) with `op`. bool folds add as or, multiply as and; maximum
// and minimum propagate NaN and have no complex form.
absl::StatusOr<NDArray> Accumulate(const NDArray& a, AccumulateOp op, int64_t axis, DType dtype);

}  // namespace ndjit
