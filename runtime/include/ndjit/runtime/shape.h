// Shapes, byte strides and the arithmetic on them that must never overflow.
#pragma once

#include <cstdint>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ndjit {

// NumPy allows 64 dimensions; shapes of up to 6 dims live inline.
inline constexpr int kMaxDims = 64;
using Shape = absl::InlinedVector<int64_t, 6>;
using Strides = absl::InlinedVector<int64_t, 6>;
using Dims = absl::Span<const int64_t>;

// NumPy's `order`: C (last index fastest), F (Fortran: first index fastest),
// A (F if the source is F-contiguous and not C-contiguous, else C), K (keep
// the source's layout as closely as possible). New empty arrays take C or F.
enum class Order { kC, kF, kA, kK };

// The number of elements, or NumPy's errors for a negative dimension, too
// many dimensions, or a product (times `itemsize`) that overflows int64.
absl::StatusOr<int64_t> CheckedSize(Dims shape, int64_t itemsize = 1);

// a == b, inline: what replaying a Program compares for every operand on
// every call, where a call to memcmp costs more than the loop.
inline bool SameDims(Dims a, Dims b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// Strides of a freshly allocated contiguous array (kF is Fortran, else C).
Strides ContiguousStrides(Dims shape, int64_t itemsize, Order order);

// The bytes an array's elements span, relative to its first element:
// [begin, end). Both are 0 when the array has no elements. Fails if the
// extent overflows int64.
struct ByteRange {
  int64_t begin = 0, end = 0;
};
absl::StatusOr<ByteRange> ByteExtent(Dims shape, Dims strides, int64_t itemsize);

// NumPy's broadcasting of two shapes (align right; 1 stretches).
absl::StatusOr<Shape> BroadcastShapes(Dims a, Dims b);

// Maps a possibly negative axis into [0, ndim), or NumPy's AxisError text.
absl::StatusOr<int> NormalizeAxis(int64_t axis, int ndim);

// "(3,4)" and "(5,)": the compact form NumPy's error messages use.
std::string ShapeString(Dims shape);
// "(3, 4)" and "(5,)": Python's repr of the shape tuple (the .npy header form).
std::string ShapeRepr(Dims shape);

}  // namespace ndjit
