#include "ndjit/runtime/shape.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ndjit {

absl::StatusOr<int64_t> CheckedSize(Dims shape, int64_t itemsize) {
  if (shape.size() > kMaxDims) {
    return absl::InvalidArgumentError(absl::StrCat("maximum supported dimension for an ndarray is ",
                                                   kMaxDims, ", found ", shape.size()));
  }
  // NumPy's rule: the product of the non-zero dims times the itemsize must
  // fit, even when a zero dim makes the array empty (so its strides do).
  int64_t size = 1;
  bool overflow = false, empty = false;
  for (int64_t d : shape) {
    if (d < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("negative dimensions are not allowed: shape ", ShapeString(shape)));
    }
    if (d == 0) {
      empty = true;
      continue;
    }
    // Keep going after an overflow: a later negative dimension is the better error.
    if (!overflow && __builtin_mul_overflow(size, d, &size)) overflow = true;
  }
  int64_t bytes;
  if (overflow || __builtin_mul_overflow(size, itemsize, &bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "array is too big; `arr.size * arr.dtype.itemsize` is larger than the maximum possible "
        "size: shape ",
        ShapeString(shape), " with itemsize ", itemsize));
  }
  return empty ? 0 : size;
}

Strides ContiguousStrides(Dims shape, int64_t itemsize, Order order) {
  const int n = static_cast<int>(shape.size());
  Strides strides(n);
  int64_t step = itemsize;
  for (int k = 0; k < n; ++k) {
    const int i = order == Order::kC ? n - 1 - k : k;
    strides[i] = step;
    // Size-0 arrays hold no data; keep their strides finite and well defined.
    step *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}

absl::StatusOr<ByteRange> ByteExtent(Dims shape, Dims strides, int64_t itemsize) {
  ByteRange r;
  for (int64_t d : shape) {
    if (d == 0) return r;
  }
  r.end = itemsize;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t span;
    bool overflow = __builtin_mul_overflow(shape[i] - 1, strides[i], &span);
    overflow = overflow || (span < 0 ? __builtin_add_overflow(r.begin, span, &r.begin)
                                     : __builtin_add_overflow(r.end, span, &r.end));
    if (overflow) {
      return absl::InvalidArgumentError(absl::StrCat("shape ", ShapeString(shape), " with strides ",
                                                     ShapeString(strides),
                                                     " spans more bytes than int64 can count"));
    }
  }
  return r;
}

absl::StatusOr<Shape> BroadcastShapes(Dims a, Dims b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t k = 0; k < n; ++k) {
    const int64_t da = k < a.size() ? a[a.size() - 1 - k] : 1;
    const int64_t db = k < b.size() ? b[b.size() - 1 - k] : 1;
    if (da != db && da != 1 && db != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("operands could not be broadcast together with shapes ", ShapeString(a), " ",
                       ShapeString(b)));
    }
    out[n - 1 - k] = da == 1 ? db : da;
  }
  return out;
}

absl::StatusOr<int> NormalizeAxis(int64_t axis, int ndim) {
  if (axis < -ndim || axis >= ndim) {
    return absl::OutOfRangeError(
        absl::StrCat("axis ", axis, " is out of bounds for array of dimension ", ndim));
  }
  return static_cast<int>(axis < 0 ? axis + ndim : axis);
}

std::string ShapeString(Dims shape) {
  if (shape.size() == 1) return absl::StrCat("(", shape[0], ",)");
  return absl::StrCat("(", absl::StrJoin(shape, ","), ")");
}

std::string ShapeRepr(Dims shape) {
  if (shape.size() == 1) return absl::StrCat("(", shape[0], ",)");
  return absl::StrCat("(", absl::StrJoin(shape, ", "), ")");
}

}  // namespace ndjit
