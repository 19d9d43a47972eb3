// Basic indexing: integers, slices, newaxis and ellipsis, as views.
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ndjit/runtime/ndarray.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit {
namespace {

struct SliceBounds {
  int64_t start, step, length;
};

// Python's slice.indices(): clamps start and stop into the axis, then counts
// the elements. Written to avoid overflow for any int64 inputs.
absl::StatusOr<SliceBounds> ResolveSlice(const Slice& s, int64_t n) {
  int64_t step = s.step.value_or(1);
  if (step == 0) return absl::InvalidArgumentError("slice step cannot be zero");
  // As in Python, the most negative step behaves as -INT64_MAX (negatable).
  if (step == INT64_MIN) step = -INT64_MAX;
  auto clamp = [&](std::optional<int64_t> v, int64_t if_absent) -> int64_t {
    if (!v) return if_absent;
    int64_t x = *v;
    if (x < 0) {
      x = x < -n ? (step < 0 ? -1 : 0) : x + n;
    } else if (x >= n) {
      x = step < 0 ? n - 1 : n;
    }
    return x;
  };
  const int64_t start = clamp(s.start, step < 0 ? n - 1 : 0);
  const int64_t stop = clamp(s.stop, step < 0 ? -1 : n);
  int64_t length = 0;
  if (step > 0 && stop > start) length = (stop - start - 1) / step + 1;
  if (step < 0 && start > stop) length = (start - stop - 1) / -step + 1;
  return SliceBounds{start, step, length};
}

}  // namespace

absl::StatusOr<NDArray> NDArray::Index(absl::Span<const IndexItem> items) const {
  if (!valid()) return absl::FailedPreconditionError("indexing a null array");
  int consumed = 0;  // how many existing dims the items address
  int ellipses = 0;
  for (const IndexItem& item : items) {
    if (std::holds_alternative<Ellipsis>(item)) {
      ++ellipses;
    } else if (!std::holds_alternative<NewAxis>(item)) {
      ++consumed;
    }
  }
  if (ellipses > 1) {
    return absl::InvalidArgumentError("an index can only have a single ellipsis ('...')");
  }
  if (consumed > ndim()) {
    return absl::OutOfRangeError(absl::StrCat("too many indices for array: array is ", ndim(),
                                              "-dimensional, but ", consumed, " were indexed"));
  }
  Shape shape;
  Strides strides;
  int64_t offset = offset_;
  int axis = 0;
  auto keep_axis = [&](int a) {
    shape.push_back(shape_[a]);
    strides.push_back(strides_[a]);
  };
  for (const IndexItem& item : items) {
    if (const auto* i = std::get_if<int64_t>(&item)) {
      const int64_t n = shape_[axis];
      if (*i < -n || *i >= n) {
        return absl::OutOfRangeError(
            absl::StrCat("index ", *i, " is out of bounds for axis ", axis, " with size ", n));
      }
      offset += (*i < 0 ? *i + n : *i) * strides_[axis];
      ++axis;
    } else if (const auto* s = std::get_if<Slice>(&item)) {
      NDJIT_ASSIGN_OR_RETURN(SliceBounds b, ResolveSlice(*s, shape_[axis]));
      // An empty slice keeps the offset: it must stay inside the buffer even
      // though nothing is read through it.
      if (b.length > 0) offset += b.start * strides_[axis];
      shape.push_back(b.length);
      // With one element or none the stride is never used; keeping the old
      // one avoids overflow for huge steps.
      strides.push_back(b.length > 1 ? strides_[axis] * b.step : strides_[axis]);
      ++axis;
    } else if (std::holds_alternative<NewAxis>(item)) {
      shape.push_back(1);
      strides.push_back(0);
    } else {
      const int skipped = ndim() - consumed;
      for (int k = 0; k < skipped; ++k) keep_axis(axis++);
    }
  }
  if (shape.size() + (ndim() - axis) > kMaxDims) {
    return absl::InvalidArgumentError(
        absl::StrCat("number of dimensions must be within [0, ", kMaxDims, "]"));
  }
  while (axis < ndim()) keep_axis(axis++);
  return View(offset, std::move(shape), std::move(strides), writeable_);
}

}  // namespace ndjit
