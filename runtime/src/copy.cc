// Copies and casts: copy, astype, copyto, ascontiguousarray, asfortranarray.
#include <algorithm>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ndjit/runtime/cast.h"
#include "ndjit/runtime/ndarray.h"
#include "ndjit/runtime/strided_loop.h"

namespace ndjit {
namespace {

// The layout a copy in `order` gets: kK keeps the source's axis order by
// stride size (with every stride made positive), kA picks F for arrays that
// are F- but not C-contiguous.
Strides CopyStrides(const NDArray& src, DType dtype, Order order) {
  const int64_t itemsize = ItemSize(dtype);
  if (order == Order::kA) {
    order = src.IsFContiguous() && !src.IsCContiguous() ? Order::kF : Order::kC;
  }
  if (order != Order::kK) return ContiguousStrides(src.shape(), itemsize, order);
  const int n = src.ndim();
  absl::InlinedVector<int, 6> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  std::stable_sort(perm.begin(), perm.end(), [&](int a, int b) {
    return std::abs(src.strides()[a]) > std::abs(src.strides()[b]);
  });
  Shape permuted(n);
  for (int i = 0; i < n; ++i) permuted[i] = src.shape()[perm[i]];
  Strides c = ContiguousStrides(permuted, itemsize, Order::kC);
  Strides strides(n);
  for (int i = 0; i < n; ++i) strides[perm[i]] = c[i];
  return strides;
}

absl::StatusOr<NDArray> NewLike(const NDArray& src, DType dtype, Order order) {
  absl::StatusOr<NDArray> out = NDArray::Empty(src.shape(), dtype);
  if (!out.ok()) return out;
  const Strides strides = CopyStrides(src, dtype, order);
  return NDArray::FromBuffer(out->buffer(), 0, dtype, src.shape(), strides);
}

// Casts every element of `src` (already of dst's shape) into `dst`.
void CastInto(const NDArray& dst, const NDArray& src) {
  const CastFn cast = GetCastFn(src.dtype(), dst.dtype());
  ForEachRow<2>(dst.shape(), {dst.data(), src.data()}, {dst.strides(), src.strides()},
                [&](const std::array<char*, 2>& p, int64_t n, const std::array<int64_t, 2>& s) {
                  cast(p[1], s[1], p[0], s[0], n);
                });
}

}  // namespace

absl::StatusOr<NDArray> NDArray::Copy(Order order) const {
  return AsType(dtype_, Casting::kUnsafe, order);
}

absl::StatusOr<NDArray> NDArray::AsType(DType dtype, Casting casting, Order order) const {
  if (!valid()) return absl::FailedPreconditionError("astype(): the array is null");
  if (!CanCast(dtype_, dtype, casting)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Cannot cast array data from dtype('", Name(dtype_), "') to dtype('",
                     Name(dtype), "') according to the rule '", CastingName(casting), "'"));
  }
  absl::StatusOr<NDArray> out = NewLike(*this, dtype, order);
  if (out.ok()) CastInto(*out, *this);
  return out;
}

absl::StatusOr<NDArray> AsContiguousArray(const NDArray& a) {
  if (a.valid() && a.IsCContiguous()) return a;
  return a.Copy(Order::kC);
}

absl::StatusOr<NDArray> AsFortranArray(const NDArray& a) {
  if (a.valid() && a.IsFContiguous()) return a;
  return a.Copy(Order::kF);
}

bool MayShareMemory(const NDArray& a, const NDArray& b) {
  if (!a.valid() || !b.valid() || a.size() == 0 || b.size() == 0) return false;
  // Both extents are known to fit: the arrays exist.
  const ByteRange ra = *ByteExtent(a.shape(), a.strides(), a.itemsize());
  const ByteRange rb = *ByteExtent(b.shape(), b.strides(), b.itemsize());
  const auto a0 = reinterpret_cast<uintptr_t>(a.data());
  const auto b0 = reinterpret_cast<uintptr_t>(b.data());
  return a0 + ra.begin < b0 + rb.end && b0 + rb.begin < a0 + ra.end;
}

absl::Status CopyTo(const NDArray& dst, const NDArray& src, Casting casting) {
  if (!dst.valid() || !src.valid()) {
    return absl::FailedPreconditionError("copyto(): an argument is a null array");
  }
  if (!dst.writeable()) return absl::InvalidArgumentError("assignment destination is read-only");
  if (!CanCast(src.dtype(), dst.dtype(), casting)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "copyto(): Cannot cast array data from dtype('", Name(src.dtype()), "') to dtype('",
        Name(dst.dtype()), "') according to the rule '", CastingName(casting), "'"));
  }
  absl::StatusOr<NDArray> from = src.BroadcastTo(dst.shape());
  if (!from.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("could not broadcast input array from shape ",
                                                   ShapeString(src.shape()), " into shape ",
                                                   ShapeString(dst.shape())));
  }
  if (MayShareMemory(dst, src)) {
    // Reading while writing the same bytes in a different order would mix old
    // and new values: read everything first.
    absl::StatusOr<NDArray> tmp = src.Copy(Order::kK);
    if (!tmp.ok()) return tmp.status();
    from = tmp->BroadcastTo(dst.shape());
    if (!from.ok()) return from.status();
  }
  CastInto(dst, *from);
  return absl::OkStatus();
}

}  // namespace ndjit
