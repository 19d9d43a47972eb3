// reshape and ravel: a view whenever the existing strides can express the new
// shape (NumPy's rule), a copy otherwise.
#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ndjit/runtime/ndarray.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit {
namespace {

// Resolves one -1 entry; checks that the element count is unchanged.
absl::StatusOr<Shape> ResolveShape(Dims requested, int64_t size) {
  Shape shape(requested.begin(), requested.end());
  int unknown = -1;
  int64_t known = 1;
  bool overflow = false;
  for (int i = 0; i < static_cast<int>(shape.size()); ++i) {
    if (shape[i] == -1) {
      if (unknown >= 0) return absl::InvalidArgumentError("can only specify one unknown dimension");
      unknown = i;
    } else if (shape[i] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("negative dimensions not allowed: shape ", ShapeString(requested)));
    } else {
      overflow = overflow || __builtin_mul_overflow(known, shape[i], &known);
    }
  }
  auto mismatch = [&] {
    return absl::InvalidArgumentError(absl::StrCat("cannot reshape array of size ", size,
                                                   " into shape ", ShapeString(requested)));
  };
  if (shape.size() > kMaxDims) {
    return absl::InvalidArgumentError(
        absl::StrCat("number of dimensions must be within [0, ", kMaxDims, "]"));
  }
  if (overflow && known != 0) return mismatch();
  if (unknown >= 0) {
    if (known == 0 || size % known != 0) return mismatch();
    shape[unknown] = size / known;
  } else if (known != size) {
    return mismatch();
  }
  return shape;
}

// Strides for `to` that address the same elements, in C index order, as
// (from, from_strides) — or nothing if no such strides exist. Works group by
// group: a run of old dims and a run of new dims with equal products can be
// re-split only if the old run is itself contiguous in C order.
std::optional<Strides> NoCopyStridesC(Dims from_shape, Dims from_strides, Dims to,
                                      int64_t itemsize) {
  Shape old_shape;
  Strides old_strides;
  for (size_t i = 0; i < from_shape.size(); ++i) {
    if (from_shape[i] == 1) continue;
    old_shape.push_back(from_shape[i]);
    old_strides.push_back(from_strides[i]);
  }
  Strides strides(to.size(), itemsize);
  size_t oi = 0, ni = 0;
  while (oi < old_shape.size() && ni < to.size()) {
    int64_t op = old_shape[oi], np = to[ni];
    size_t oj = oi + 1, nj = ni + 1;
    while (op != np) {
      if (np < op) {
        np *= to[nj++];
      } else {
        op *= old_shape[oj++];
      }
    }
    for (size_t k = oi; k + 1 < oj; ++k) {
      if (old_strides[k] != old_shape[k + 1] * old_strides[k + 1]) return std::nullopt;
    }
    strides[nj - 1] = old_strides[oj - 1];
    for (size_t k = nj - 1; k > ni; --k) strides[k - 1] = strides[k] * to[k];
    oi = oj;
    ni = nj;
  }
  // Whatever is left of `to` has size 1; its strides are never used.
  return strides;
}

std::optional<Strides> NoCopyStrides(const NDArray& a, Dims to, Order order) {
  if (a.size() == 0) return ContiguousStrides(to, a.itemsize(), order);
  if (order == Order::kC) return NoCopyStridesC(a.shape(), a.strides(), to, a.itemsize());
  // Fortran order is C order on the reversed dims.
  Shape rs(a.shape().rbegin(), a.shape().rend());
  Strides rst(a.strides().rbegin(), a.strides().rend());
  Shape rto(to.rbegin(), to.rend());
  std::optional<Strides> r = NoCopyStridesC(rs, rst, rto, a.itemsize());
  if (!r) return std::nullopt;
  return Strides(r->rbegin(), r->rend());
}

absl::Status CheckOrder(Order order, absl::string_view op) {
  if (order == Order::kC || order == Order::kF) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(op, "(): order must be 'C' or 'F'"));
}

}  // namespace

absl::StatusOr<NDArray> NDArray::ReshapeView(Dims shape, Order order) const {
  if (!valid()) return absl::FailedPreconditionError("reshape(): the array is null");
  NDJIT_RETURN_IF_ERROR(CheckOrder(order, "reshape"));
  NDJIT_ASSIGN_OR_RETURN(Shape resolved, ResolveShape(shape, size_));
  std::optional<Strides> strides = NoCopyStrides(*this, resolved, order);
  if (!strides) {
    return absl::InvalidArgumentError(absl::StrCat(
        "reshape(): cannot reshape array of shape ", ShapeString(shape_), " and strides ",
        ShapeString(strides_), " into shape ", ShapeString(resolved), " without copying"));
  }
  return View(offset_, std::move(resolved), *std::move(strides), writeable_);
}

absl::StatusOr<NDArray> NDArray::Reshape(Dims shape, Order order) const {
  if (!valid()) return absl::FailedPreconditionError("reshape(): the array is null");
  NDJIT_RETURN_IF_ERROR(CheckOrder(order, "reshape"));
  NDJIT_ASSIGN_OR_RETURN(Shape resolved, ResolveShape(shape, size_));
  if (std::optional<Strides> strides = NoCopyStrides(*this, resolved, order)) {
    return View(offset_, std::move(resolved), *std::move(strides), writeable_);
  }
  // A copy laid out in `order` reads the elements in that index order, and is
  // then trivially viewable with the new shape.
  NDJIT_ASSIGN_OR_RETURN(NDArray copy, Copy(order));
  return copy.ReshapeView(resolved, order);
}

absl::StatusOr<NDArray> NDArray::Ravel(Order order) const { return Reshape({-1}, order); }

}  // namespace ndjit
