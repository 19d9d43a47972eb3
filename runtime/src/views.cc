// Views that rearrange, add or drop dimensions: transpose, swapaxes,
// moveaxis, squeeze, expand_dims, broadcast_to, diagonal, as_strided and
// sliding_window_view. None of them copies.
#include <algorithm>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ndjit/runtime/ndarray.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit {
namespace {

// Normalises a list of axes for an array of `ndim` dims; `what` names the
// argument in the error for a repeated axis.
absl::StatusOr<absl::InlinedVector<int, 6>> NormalizeAxes(Dims axes, int ndim,
                                                          absl::string_view what) {
  absl::InlinedVector<int, 6> out;
  absl::InlinedVector<bool, 6> seen(ndim, false);
  for (int64_t a : axes) {
    NDJIT_ASSIGN_OR_RETURN(int n, NormalizeAxis(a, ndim));
    if (seen[n]) return absl::InvalidArgumentError(absl::StrCat("repeated axis in ", what));
    seen[n] = true;
    out.push_back(n);
  }
  return out;
}

absl::Status CheckValid(const NDArray& a, absl::string_view op) {
  if (a.valid()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(op, "(): the array is null"));
}

}  // namespace

absl::StatusOr<NDArray> NDArray::Transpose(Dims axes) const {
  NDJIT_RETURN_IF_ERROR(CheckValid(*this, "transpose"));
  const int n = ndim();
  absl::InlinedVector<int, 6> perm(n);
  if (axes.empty()) {
    for (int i = 0; i < n; ++i) perm[i] = n - 1 - i;
  } else {
    if (static_cast<int>(axes.size()) != n) {
      return absl::InvalidArgumentError("axes don't match array");
    }
    absl::StatusOr<absl::InlinedVector<int, 6>> p = NormalizeAxes(axes, n, "transpose");
    if (!p.ok()) return p.status();
    perm = *std::move(p);
  }
  Shape shape(n);
  Strides strides(n);
  for (int i = 0; i < n; ++i) {
    shape[i] = shape_[perm[i]];
    strides[i] = strides_[perm[i]];
  }
  return View(offset_, std::move(shape), std::move(strides), writeable_);
}

NDArray NDArray::T() const {
  Shape shape(shape_.rbegin(), shape_.rend());
  Strides strides(strides_.rbegin(), strides_.rend());
  return View(offset_, std::move(shape), std::move(strides), writeable_);
}

absl::StatusOr<NDArray> NDArray::SwapAxes(int64_t axis1, int64_t axis2) const {
  NDJIT_RETURN_IF_ERROR(CheckValid(*this, "swapaxes"));
  NDJIT_ASSIGN_OR_RETURN(int a, NormalizeAxis(axis1, ndim()));
  NDJIT_ASSIGN_OR_RETURN(int b, NormalizeAxis(axis2, ndim()));
  Shape axes(ndim());
  std::iota(axes.begin(), axes.end(), 0);
  std::swap(axes[a], axes[b]);
  return Transpose(axes);
}

absl::StatusOr<NDArray> NDArray::MoveAxis(Dims source, Dims destination) const {
  NDJIT_RETURN_IF_ERROR(CheckValid(*this, "moveaxis"));
  if (source.size() != destination.size()) {
    return absl::InvalidArgumentError(
        "`source` and `destination` arguments must have the same number of elements");
  }
  absl::StatusOr<absl::InlinedVector<int, 6>> src =
      NormalizeAxes(source, ndim(), "`source` argument");
  if (!src.ok()) return src.status();
  absl::StatusOr<absl::InlinedVector<int, 6>> dst =
      NormalizeAxes(destination, ndim(), "`destination` argument");
  if (!dst.ok()) return dst.status();
  // The axes not moved keep their order and fill the places not named in
  // `destination`.
  Shape order;
  for (int i = 0; i < ndim(); ++i) {
    if (std::find(src->begin(), src->end(), i) == src->end()) order.push_back(i);
  }
  std::vector<std::pair<int, int>> placed;
  for (size_t k = 0; k < src->size(); ++k) placed.emplace_back((*dst)[k], (*src)[k]);
  std::sort(placed.begin(), placed.end());
  for (const auto& [d, s] : placed) order.insert(order.begin() + d, s);
  return Transpose(order);
}

absl::StatusOr<NDArray> NDArray::Squeeze(std::optional<Dims> axes) const {
  NDJIT_RETURN_IF_ERROR(CheckValid(*this, "squeeze"));
  absl::InlinedVector<bool, 6> drop(ndim(), false);
  if (axes) {
    absl::StatusOr<absl::InlinedVector<int, 6>> norm = NormalizeAxes(*axes, ndim(), "squeeze");
    if (!norm.ok()) return norm.status();
    for (int a : *norm) {
      if (shape_[a] != 1) {
        return absl::InvalidArgumentError(
            "cannot select an axis to squeeze out which has size not equal to one");
      }
      drop[a] = true;
    }
  } else {
    for (int i = 0; i < ndim(); ++i) drop[i] = shape_[i] == 1;
  }
  Shape shape;
  Strides strides;
  for (int i = 0; i < ndim(); ++i) {
    if (drop[i]) continue;
    shape.push_back(shape_[i]);
    strides.push_back(strides_[i]);
  }
  return View(offset_, std::move(shape), std::move(strides), writeable_);
}

absl::StatusOr<NDArray> NDArray::ExpandDims(Dims axes) const {
  NDJIT_RETURN_IF_ERROR(CheckValid(*this, "expand_dims"));
  const int out_ndim = ndim() + static_cast<int>(axes.size());
  if (out_ndim > kMaxDims) {
    return absl::InvalidArgumentError(
        absl::StrCat("expand_dims(): ", out_ndim, " dimensions exceed the maximum of ", kMaxDims));
  }
  absl::StatusOr<absl::InlinedVector<int, 6>> norm = NormalizeAxes(axes, out_ndim, "expand_dims");
  if (!norm.ok()) return norm.status();
  absl::InlinedVector<bool, 6> inserted(out_ndim, false);
  for (int a : *norm) inserted[a] = true;
  Shape shape;
  Strides strides;
  int src = 0;
  for (int i = 0; i < out_ndim; ++i) {
    if (inserted[i]) {
      shape.push_back(1);
      strides.push_back(0);
    } else {
      shape.push_back(shape_[src]);
      strides.push_back(strides_[src]);
      ++src;
    }
  }
  return View(offset_, std::move(shape), std::move(strides), writeable_);
}

absl::StatusOr<NDArray> NDArray::BroadcastTo(Dims shape) const {
  NDJIT_RETURN_IF_ERROR(CheckValid(*this, "broadcast_to"));
  for (int64_t d : shape) {
    if (d < 0) {
      return absl::InvalidArgumentError("all elements of broadcast shape must be non-negative");
    }
  }
  if (absl::StatusOr<int64_t> n = CheckedSize(shape, itemsize()); !n.ok()) return n.status();
  const int out = static_cast<int>(shape.size());
  auto fail = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "operands could not be broadcast together with remapped shapes [original->remapped]: ",
        ShapeString(shape_), " and requested shape ", ShapeString(shape)));
  };
  if (out < ndim()) return fail();
  Strides strides(out, 0);
  for (int k = 0; k < ndim(); ++k) {
    const int64_t have = shape_[ndim() - 1 - k];
    const int64_t want = shape[out - 1 - k];
    if (have == want) {
      strides[out - 1 - k] = strides_[ndim() - 1 - k];
    } else if (have != 1) {
      return fail();
    }
  }
  return View(offset_, Shape(shape.begin(), shape.end()), std::move(strides), false);
}

absl::StatusOr<NDArray> NDArray::Diagonal(int64_t offset, int64_t axis1, int64_t axis2) const {
  NDJIT_RETURN_IF_ERROR(CheckValid(*this, "diagonal"));
  if (ndim() < 2) {
    return absl::InvalidArgumentError("diag requires an array of at least two dimensions");
  }
  NDJIT_ASSIGN_OR_RETURN(int a1, NormalizeAxis(axis1, ndim()));
  NDJIT_ASSIGN_OR_RETURN(int a2, NormalizeAxis(axis2, ndim()));
  if (a1 == a2) return absl::InvalidArgumentError("axis1 and axis2 cannot be the same");
  const int64_t n1 = shape_[a1];
  const int64_t n2 = shape_[a2];
  // Element k of the diagonal is [k, k + offset] (offset >= 0) or
  // [k - offset, k]; clamp the length before moving the start so that an
  // empty diagonal never points outside the buffer.
  int64_t length = 0;
  int64_t start = offset_;
  if (offset >= 0 && offset < n2) {
    length = std::min(n1, n2 - offset);
    start += offset * strides_[a2];
  } else if (offset < 0 && offset > -n1) {
    length = std::min(n1 + offset, n2);
    start -= offset * strides_[a1];
  }
  if (length <= 0) {
    length = 0;
    start = offset_;
  }
  Shape shape;
  Strides strides;
  for (int i = 0; i < ndim(); ++i) {
    if (i == a1 || i == a2) continue;
    shape.push_back(shape_[i]);
    strides.push_back(strides_[i]);
  }
  shape.push_back(length);
  strides.push_back(strides_[a1] + strides_[a2]);
  return View(start, std::move(shape), std::move(strides), false);
}

absl::StatusOr<NDArray> AsStrided(const NDArray& a, Dims shape, Dims strides, bool writeable) {
  NDJIT_RETURN_IF_ERROR(CheckValid(a, "as_strided"));
  absl::StatusOr<NDArray> v = NDArray::FromBuffer(a.buffer(), a.offset(), a.dtype(), shape, strides,
                                                  writeable && a.writeable());
  if (!v.ok())
    return absl::Status(v.status().code(), absl::StrCat("as_strided(): ", v.status().message()));
  return v;
}

absl::StatusOr<NDArray> SlidingWindowView(const NDArray& a, Dims window_shape,
                                          std::optional<Dims> axes) {
  NDJIT_RETURN_IF_ERROR(CheckValid(a, "sliding_window_view"));
  Shape axis_list;
  if (axes) {
    if (axes->size() != window_shape.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Must provide matching length window_shape and axis; got ", window_shape.size(),
          " window_shape elements and ", axes->size(), " axes elements."));
    }
    for (int64_t ax : *axes) {
      NDJIT_ASSIGN_OR_RETURN(int n, NormalizeAxis(ax, a.ndim()));
      axis_list.push_back(n);
    }
  } else {
    if (static_cast<int>(window_shape.size()) != a.ndim()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Since axis is `None`, must provide window_shape for all dimensions of `x`; got ",
          window_shape.size(), " window_shape elements and `x.ndim` is ", a.ndim(), "."));
    }
    for (int i = 0; i < a.ndim(); ++i) axis_list.push_back(i);
  }
  Shape shape(a.shape().begin(), a.shape().end());
  Strides strides(a.strides().begin(), a.strides().end());
  for (size_t k = 0; k < window_shape.size(); ++k) {
    const int64_t w = window_shape[k];
    if (w < 0) return absl::InvalidArgumentError("`window_shape` cannot contain negative values");
    const int ax = static_cast<int>(axis_list[k]);
    if (shape[ax] < w) {
      return absl::InvalidArgumentError("window shape cannot be larger than input array shape");
    }
    shape[ax] -= w - 1;
    shape.push_back(w);
    strides.push_back(a.strides()[ax]);
  }
  return NDArray::FromBuffer(a.buffer(), a.offset(), a.dtype(), shape, strides, false);
}

}  // namespace ndjit
