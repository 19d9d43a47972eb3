// Advanced indexing: integer arrays and boolean masks beside basic items,
// NumPy's rules for where the indexed dimensions go. The result is a copy.
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ndjit/runtime/cast.h"
#include "ndjit/runtime/ndarray.h"

namespace ndjit {
namespace {

// One item after masks became integer arrays: a basic item, or an int64
// array indexing one dimension.
struct Item {
  std::optional<IndexItem> basic;
  NDArray array;  // int64, when !basic
};

absl::Status IndexError(const std::string& text) { return absl::OutOfRangeError(text); }

// The positions where `mask` is true, one int64 array per dimension
// (np.nonzero), in C order.
absl::StatusOr<std::vector<NDArray>> NonZero(const NDArray& mask) {
  std::vector<std::vector<int64_t>> where(mask.ndim());
  Shape idx(mask.ndim(), 0);
  for (int64_t flat = 0; flat < mask.size(); ++flat) {
    int64_t off = 0;
    for (int d = 0; d < mask.ndim(); ++d) off += idx[d] * mask.strides()[d];
    if (*(mask.data() + off) != 0) {
      for (int d = 0; d < mask.ndim(); ++d) where[d].push_back(idx[d]);
    }
    for (int d = mask.ndim() - 1; d >= 0; --d) {
      if (++idx[d] < mask.shape()[d]) break;
      idx[d] = 0;
    }
  }
  std::vector<NDArray> out;
  for (const std::vector<int64_t>& w : where) {
    const int64_t n = static_cast<int64_t>(w.size());
    absl::StatusOr<NDArray> a = NDArray::FromValues<int64_t>({n}, w);
    if (!a.ok()) return a.status();
    out.push_back(*std::move(a));
  }
  return out;
}

// Element `flat` (C order over `shape`) of the int64 array `a` broadcast to
// `shape`.
int64_t Element(const NDArray& a, Dims shape, int64_t flat) {
  int64_t off = 0;
  const int lead = static_cast<int>(shape.size()) - a.ndim();
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    const int64_t i = flat % shape[d];
    flat /= shape[d];
    if (d >= lead && a.shape()[d - lead] != 1) off += i * a.strides()[d - lead];
  }
  int64_t v;
  std::memcpy(&v, a.data() + off, sizeof v);
  return v;
}

}  // namespace

absl::StatusOr<NDArray> AdvancedIndex(const NDArray& a, absl::Span<const AdvancedItem> items) {
  if (!a.valid()) return absl::FailedPreconditionError("indexing a null array");
  bool any_array = false;
  for (const AdvancedItem& it : items) any_array |= std::holds_alternative<NDArray>(it);
  // How many dims of `a` the items address (a mask: as many as it has).
  int consumed = 0;
  for (const AdvancedItem& it : items) {
    if (const auto* basic = std::get_if<IndexItem>(&it)) {
      consumed +=
          !std::holds_alternative<NewAxis>(*basic) && !std::holds_alternative<Ellipsis>(*basic);
      continue;
    }
    const NDArray& arr = std::get<NDArray>(it);
    if (arr.dtype() == DType::kBool && arr.ndim() == 0) {
      return IndexError("a 0-d boolean index (a[True]) is not supported");
    }
    if (arr.dtype() != DType::kBool && !IsInteger(arr.dtype())) {
      return IndexError("arrays used as indices must be of integer (or boolean) type, not " +
                        std::string(Name(arr.dtype())));
    }
    consumed += arr.dtype() == DType::kBool ? arr.ndim() : 1;
  }
  if (consumed > a.ndim()) {
    return IndexError(absl::StrCat("too many indices for array: array is ", a.ndim(),
                                   "-dimensional, but ", consumed, " were indexed"));
  }
  // In order: expand the ellipsis and the masks (whose dims are known now),
  // cast integer arrays to int64; with arrays present, integers index as 0-d
  // arrays (NumPy's rule for where the indexed dims go).
  std::vector<Item> norm;
  int dim = 0;  // the dim of `a` the next item addresses
  for (const AdvancedItem& it : items) {
    if (const auto* basic = std::get_if<IndexItem>(&it)) {
      if (std::holds_alternative<Ellipsis>(*basic)) {
        for (int k = 0; k < a.ndim() - consumed; ++k) norm.push_back({Slice{}, NDArray()});
        dim += a.ndim() - consumed;
      } else if (any_array && std::holds_alternative<int64_t>(*basic)) {
        absl::StatusOr<NDArray> zero_d =
            NDArray::FromValues<int64_t>({}, {std::get<int64_t>(*basic)});
        if (!zero_d.ok()) return zero_d.status();
        norm.push_back({std::nullopt, *std::move(zero_d)});
        ++dim;
      } else {
        norm.push_back({*basic, NDArray()});
        if (!std::holds_alternative<NewAxis>(*basic)) ++dim;
      }
      continue;
    }
    const NDArray& arr = std::get<NDArray>(it);
    if (arr.dtype() == DType::kBool) {
      const NDArray& mask = arr;
      for (int d = 0; d < mask.ndim(); ++d) {
        if (mask.shape()[d] != a.shape()[dim + d]) {
          return IndexError(
              absl::StrCat("boolean index did not match indexed array along dimension ", dim + d,
                           "; dimension is ", a.shape()[dim + d],
                           " but corresponding boolean dimension is ", mask.shape()[d]));
        }
      }
      absl::StatusOr<std::vector<NDArray>> nz = NonZero(mask);
      if (!nz.ok()) return nz.status();
      for (NDArray& w : *nz) norm.push_back({std::nullopt, std::move(w)});
      dim += mask.ndim();
      continue;
    }
    absl::StatusOr<NDArray> i64 = arr.AsType(DType::kInt64, Casting::kSafe);
    if (!i64.ok()) {
      return IndexError(absl::StrCat("index array of ", Name(arr.dtype()),
                                     " cannot be read as int64 (values above 2**63)"));
    }
    norm.push_back({std::nullopt, *std::move(i64)});
    ++dim;
  }
  // The basic part as a view, each array's dim kept whole; where each array
  // landed in the view; whether the arrays are adjacent in the index.
  std::vector<IndexItem> basic;
  std::vector<int> array_dims;
  std::vector<const NDArray*> arrays;
  int view_dim = 0;
  int first = -1, last = -1;
  for (size_t k = 0; k < norm.size(); ++k) {
    if (norm[k].basic.has_value()) {
      basic.push_back(*norm[k].basic);
      if (std::holds_alternative<Slice>(*norm[k].basic) ||
          std::holds_alternative<NewAxis>(*norm[k].basic)) {
        ++view_dim;
      }
      continue;
    }
    basic.push_back(Slice{});
    array_dims.push_back(view_dim++);
    arrays.push_back(&norm[k].array);
    if (first < 0) first = static_cast<int>(k);
    last = static_cast<int>(k);
  }
  absl::StatusOr<NDArray> view = a.Index(basic);
  if (!view.ok()) return view.status();
  if (arrays.empty()) return view->Copy();
  bool adjacent = true;
  for (int k = first; k <= last; ++k) adjacent &= !norm[k].basic.has_value();
  // The arrays broadcast together; out-of-range entries are IndexErrors.
  Shape b;
  for (const NDArray* x : arrays) {
    absl::StatusOr<Shape> s = BroadcastShapes(b, x->shape());
    if (!s.ok()) {
      std::string shapes;
      for (const NDArray* y : arrays) absl::StrAppend(&shapes, " ", ShapeString(y->shape()));
      return IndexError(
          "shape mismatch: indexing arrays could not be broadcast together with "
          "shapes" +
          shapes);
    }
    b = *s;
  }
  absl::StatusOr<int64_t> count = CheckedSize(b);
  if (!count.ok()) return count.status();
  // The rest of the view (dims no array indexes), and the result's shape.
  Shape rest_shape;
  Strides rest_strides;
  std::vector<bool> indexed(view->ndim(), false);
  for (int d : array_dims) indexed[d] = true;
  for (int d = 0; d < view->ndim(); ++d) {
    if (indexed[d]) continue;
    rest_shape.push_back(view->shape()[d]);
    rest_strides.push_back(view->strides()[d]);
  }
  const int before = adjacent ? array_dims[0] : 0;  // rest dims ahead of the array dims
  Shape out_shape(rest_shape.begin(), rest_shape.begin() + before);
  out_shape.insert(out_shape.end(), b.begin(), b.end());
  out_shape.insert(out_shape.end(), rest_shape.begin() + before, rest_shape.end());
  absl::StatusOr<NDArray> out = NDArray::Empty(out_shape, a.dtype());
  if (!out.ok()) return out.status();
  // Gather: for each index tuple, one block of the rest's dims.
  const int64_t item = a.itemsize();
  Shape block_shape(rest_shape);
  const int nb = static_cast<int>(b.size());
  for (int64_t flat = 0; flat < *count; ++flat) {
    int64_t src = 0;
    for (size_t k = 0; k < arrays.size(); ++k) {
      const int64_t n = view->shape()[array_dims[k]];
      int64_t i = Element(*arrays[k], b, flat);
      if (i < -n || i >= n) {
        return IndexError(absl::StrCat("index ", i, " is out of bounds for axis ", array_dims[k],
                                       " with size ", n));
      }
      if (i < 0) i += n;
      src += i * view->strides()[array_dims[k]];
    }
    // Where this index tuple's block goes in `out`: its b-coordinates at
    // dims [before, before + nb).
    int64_t dst = 0;
    int64_t f = flat;
    for (int d = nb - 1; d >= 0; --d) {
      dst += (f % b[d]) * out->strides()[before + d];
      f /= b[d];
    }
    if (rest_shape.empty()) {
      std::memcpy(out->data() + dst, view->data() + src, item);
      continue;
    }
    Strides dst_strides(out->strides().begin(), out->strides().begin() + before);
    dst_strides.insert(dst_strides.end(), out->strides().begin() + before + nb,
                       out->strides().end());
    absl::StatusOr<NDArray> from = NDArray::FromBuffer(view->buffer(), view->offset() + src,
                                                       a.dtype(), block_shape, rest_strides, false);
    absl::StatusOr<NDArray> to = NDArray::FromBuffer(out->buffer(), out->offset() + dst, a.dtype(),
                                                     block_shape, dst_strides);
    if (!from.ok()) return from.status();
    if (!to.ok()) return to.status();
    if (absl::Status s = CopyTo(*to, *from, Casting::kNo); !s.ok()) return s;
  }
  return out;
}

}  // namespace ndjit
