// Element conversion between every pair of dtypes, NumPy's "unsafe" casting:
// the table every copy, astype, .npy load and item access goes through.
//
// Rules where C++ would be undefined or NumPy is platform-specific, fixed here:
// float -> integer truncates toward zero; NaN, infinities and values out of
// the int64 range become INT64_MIN, then wrap to the target width, matching
// NumPy on x86-64. complex -> real drops the imaginary part. Any nonzero
// value (NaN included) -> bool is true; bool bytes other than 0 read as true.
#pragma once

#include <cstdint>

#include "ndjit/runtime/dtype.h"

namespace ndjit {

// Converts n elements from `src` (stepping src_stride bytes) into `dst`
// (stepping dst_stride bytes). Strides may be zero or negative.
using CastFn = void (*)(const char* src, int64_t src_stride, char* dst, int64_t dst_stride,
                        int64_t n);

CastFn GetCastFn(DType from, DType to);

}  // namespace ndjit
