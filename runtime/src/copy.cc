// Copies and casts: copy, astype, copyto, ascontiguousarray, asfortranarray,
// take.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ndjit/runtime/cast.h"
#include "ndjit/runtime/ndarray.h"
#include "ndjit/runtime/status_macros.h"
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
    NDJIT_ASSIGN_OR_RETURN(NDArray tmp, src.Copy(Order::kK));
    from = tmp.BroadcastTo(dst.shape());
    if (!from.ok()) return from.status();
  }
  CastInto(dst, *from);
  return absl::OkStatus();
}

absl::StatusOr<NDArray> Take(const NDArray& a, const NDArray& indices, int64_t axis) {
  if (!a.valid() || !indices.valid()) {
    return absl::FailedPreconditionError("take(): an argument is a null array");
  }
  if (!IsInteger(indices.dtype())) {
    return absl::InvalidArgumentError(
        absl::StrCat("take(): indices must be integers, not ", Name(indices.dtype())));
  }
  NDJIT_ASSIGN_OR_RETURN(int ax, NormalizeAxis(axis, a.ndim()));
  NDJIT_ASSIGN_OR_RETURN(NDArray idx, indices.AsType(DType::kInt64, Casting::kUnsafe, Order::kC));
  const int64_t extent = a.shape()[ax];
  std::vector<int64_t> rows(static_cast<size_t>(idx.size()));
  for (size_t j = 0; j < rows.size(); ++j) {
    int64_t i = reinterpret_cast<const int64_t*>(idx.data())[j];
    // uint64 indices above INT64_MAX arrive negative: out of bounds either way.
    if (indices.dtype() == DType::kUInt64 && i < 0) i = extent;
    if (i < -extent || i >= extent) {
      return absl::OutOfRangeError(
          absl::StrCat("index ", i, " is out of bounds for axis ", ax, " with size ", extent));
    }
    rows[j] = i < 0 ? i + extent : i;
  }
  // Gathered as (before..., len(indices), after...), then shaped.
  Shape flat(a.shape().begin(), a.shape().end());
  flat[ax] = static_cast<int64_t>(rows.size());
  NDJIT_ASSIGN_OR_RETURN(NDArray out, NDArray::Empty(flat, a.dtype()));
  // Rows of a C-contiguous layout (a batch of records from a dataset) are
  // one memcpy each; anything else copies a view per index.
  const Strides row_strides = ContiguousStrides(a.shape().subspan(1), a.itemsize(), Order::kC);
  if (ax == 0 && absl::MakeConstSpan(row_strides) == a.strides().subspan(1)) {
    const int64_t row_bytes = rows.empty() ? 0 : out.nbytes() / static_cast<int64_t>(rows.size());
    for (size_t j = 0; j < rows.size(); ++j) {
      std::memcpy(out.data() + static_cast<int64_t>(j) * row_bytes,
                  a.data() + rows[j] * a.strides()[0], static_cast<size_t>(row_bytes));
    }
  } else {
    std::vector<IndexItem> pick(ax, Slice{});
    pick.push_back(int64_t{0});
    for (size_t j = 0; j < rows.size(); ++j) {
      pick.back() = static_cast<int64_t>(j);
      absl::StatusOr<NDArray> dst = out.Index(pick);
      pick.back() = rows[j];
      absl::StatusOr<NDArray> src = a.Index(pick);
      if (!dst.ok() || !src.ok()) return absl::InternalError("take(): a row view failed");
      CastInto(*dst, *src);
    }
  }
  Shape shape(a.shape().begin(), a.shape().begin() + ax);
  shape.insert(shape.end(), indices.shape().begin(), indices.shape().end());
  shape.insert(shape.end(), a.shape().begin() + ax + 1, a.shape().end());
  return out.Reshape(shape);
}

}  // namespace ndjit
