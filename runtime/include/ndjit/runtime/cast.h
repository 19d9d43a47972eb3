// Element conversion between every pair of dtypes, NumPy's "unsafe" casting:
// the table every copy, astype, .npy load and item access goes through.
//
// Rules where C++ would be undefined or NumPy is platform-specific, fixed here:
// float -> integer truncates toward zero, as NumPy's C casts compile on
// x86-64: int32 and narrower go through int32 (NaN, infinities and values
// out of its range become INT32_MIN, then wrap to the width: 0 for int16,
// int8, uint16, uint8), int64 and uint32 through int64 (INT64_MIN), uint64
// takes [2**63, 2**64) as well. complex -> real drops the imaginary part. Any nonzero
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
