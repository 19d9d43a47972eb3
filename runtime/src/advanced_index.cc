// Advanced indexing: integer arrays and boolean masks beside basic items,
// NumPy's rules for where the indexed dimensions go. Reading copies what the
// index selects (AdvancedIndex); writing (AdvancedAssign) stores a value
// into it.
#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ndjit/runtime/advanced_index.h"
#include "ndjit/runtime/cast.h"
#include "ndjit/runtime/status_macros.h"

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
    NDJIT_ASSIGN_OR_RETURN(NDArray a, NDArray::FromValues<int64_t>({n}, w));
    out.push_back(std::move(a));
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

// An index resolved against its array: the view its basic items select,
// each index array's dim in that view, the arrays' broadcast shape `b`, and
// the selection's shape (the rest of the view's dims around `b`).
struct Selection {
  NDArray view;
  std::vector<Item> norm;  // owns the int64 arrays `arrays` points into
  std::vector<int> array_dims;
  std::vector<const NDArray*> arrays;
  Shape b;
  int64_t count = 0;  // index tuples: b's size
  int before = 0;     // the view's other dims ahead of b in the selection
  Shape rest_shape;   // the view's dims no array indexes
  Strides rest_strides;
  Shape shape;  // the selection's

  // The byte offset in `view` of index tuple `flat`'s block; NumPy's
  // IndexError for an index out of range.
  absl::StatusOr<int64_t> Source(int64_t flat) const {
    int64_t src = 0;
    for (size_t k = 0; k < arrays.size(); ++k) {
      const int64_t n = view.shape()[array_dims[k]];
      int64_t i = Element(*arrays[k], b, flat);
      if (i < -n || i >= n) {
        return IndexError(absl::StrCat("index ", i, " is out of bounds for axis ", array_dims[k],
                                       " with size ", n));
      }
      if (i < 0) i += n;
      src += i * view.strides()[array_dims[k]];
    }
    return src;
  }

  // The block of index tuple `flat` in an array of the selection's shape
  // (`sel`), and in the view at byte offset `src`: rest-shaped views.
  // The byte offset of index tuple `flat`'s block in an array of the
  // selection's shape: its b-coordinates are at dims [before, before + nb).
  int64_t Dest(const NDArray& sel, int64_t flat) const {
    int64_t dst = 0;
    for (int d = static_cast<int>(b.size()) - 1; d >= 0; --d) {
      dst += (flat % b[d]) * sel.strides()[before + d];
      flat /= b[d];
    }
    return dst;
  }

  absl::StatusOr<std::pair<NDArray, NDArray>> Blocks(const NDArray& sel, int64_t flat,
                                                     int64_t src) const {
    const int nb = static_cast<int>(b.size());
    const int64_t dst = Dest(sel, flat);
    Strides dst_strides(sel.strides().begin(), sel.strides().begin() + before);
    dst_strides.insert(dst_strides.end(), sel.strides().begin() + before + nb, sel.strides().end());
    absl::StatusOr<NDArray> in_view =
        NDArray::FromBuffer(view.buffer(), view.offset() + src, view.dtype(), rest_shape,
                            rest_strides, view.writeable());
    absl::StatusOr<NDArray> in_sel = NDArray::FromBuffer(
        sel.buffer(), sel.offset() + dst, sel.dtype(), rest_shape, dst_strides, sel.writeable());
    if (!in_view.ok()) return in_view.status();
    if (!in_sel.ok()) return in_sel.status();
    return std::pair{*std::move(in_sel), *std::move(in_view)};
  }
};

absl::StatusOr<Selection> Select(const NDArray& a, absl::Span<const AdvancedItem> items) {
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
  Selection sel;
  std::vector<Item>& norm = sel.norm;
  int dim = 0;  // the dim of `a` the next item addresses
  for (const AdvancedItem& it : items) {
    if (const auto* basic = std::get_if<IndexItem>(&it)) {
      if (std::holds_alternative<Ellipsis>(*basic)) {
        for (int k = 0; k < a.ndim() - consumed; ++k) norm.push_back({Slice{}, NDArray()});
        dim += a.ndim() - consumed;
      } else if (any_array && std::holds_alternative<int64_t>(*basic)) {
        NDJIT_ASSIGN_OR_RETURN(NDArray zero_d,
                               NDArray::FromValues<int64_t>({}, {std::get<int64_t>(*basic)}));
        norm.push_back({std::nullopt, std::move(zero_d)});
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
      NDJIT_ASSIGN_OR_RETURN(std::vector<NDArray> nz, NonZero(mask));
      for (NDArray& w : nz) norm.push_back({std::nullopt, std::move(w)});
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
  std::vector<int>& array_dims = sel.array_dims;
  std::vector<const NDArray*>& arrays = sel.arrays;
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
  NDJIT_ASSIGN_OR_RETURN(NDArray view, a.Index(basic));
  sel.view = view;
  if (arrays.empty()) {
    sel.shape.assign(view.shape().begin(), view.shape().end());
    return sel;
  }
  bool adjacent = true;
  for (int k = first; k <= last; ++k) adjacent &= !norm[k].basic.has_value();
  // The arrays broadcast together; out-of-range entries are IndexErrors.
  Shape& b = sel.b;
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
  NDJIT_ASSIGN_OR_RETURN(int64_t count, CheckedSize(b));
  sel.count = count;
  // The rest of the view (dims no array indexes), and the result's shape.
  Shape& rest_shape = sel.rest_shape;
  Strides& rest_strides = sel.rest_strides;
  std::vector<bool> indexed(view.ndim(), false);
  for (int d : array_dims) indexed[d] = true;
  for (int d = 0; d < view.ndim(); ++d) {
    if (indexed[d]) continue;
    rest_shape.push_back(view.shape()[d]);
    rest_strides.push_back(view.strides()[d]);
  }
  sel.before = adjacent ? array_dims[0] : 0;
  sel.shape.assign(rest_shape.begin(), rest_shape.begin() + sel.before);
  sel.shape.insert(sel.shape.end(), b.begin(), b.end());
  sel.shape.insert(sel.shape.end(), rest_shape.begin() + sel.before, rest_shape.end());
  return sel;
}

}  // namespace

absl::StatusOr<NDArray> AdvancedIndex(const NDArray& a, absl::Span<const AdvancedItem> items) {
  NDJIT_ASSIGN_OR_RETURN(Selection sel, Select(a, items));
  if (sel.arrays.empty()) return sel.view.Copy();
  NDJIT_ASSIGN_OR_RETURN(NDArray out, NDArray::Empty(sel.shape, a.dtype()));
  // Gather: for each index tuple, one block of the rest's dims.
  for (int64_t flat = 0; flat < sel.count; ++flat) {
    NDJIT_ASSIGN_OR_RETURN(int64_t src, sel.Source(flat));
    if (sel.rest_shape.empty()) {  // one element
      std::memcpy(out.data() + sel.Dest(out, flat), sel.view.data() + src, a.itemsize());
      continue;
    }
    absl::StatusOr<std::pair<NDArray, NDArray>> blocks = sel.Blocks(out, flat, src);
    if (!blocks.ok()) return blocks.status();
    NDJIT_RETURN_IF_ERROR(CopyTo(blocks->first, blocks->second, Casting::kNo));
  }
  return out;
}

absl::Status AdvancedAssign(const NDArray& a, absl::Span<const AdvancedItem> items,
                            const NDArray& value) {
  if (!a.writeable()) return absl::InvalidArgumentError("assignment destination is read-only");
  NDJIT_ASSIGN_OR_RETURN(Selection sel, Select(a, items));
  // The value as the selection: cast as NumPy's setitem casts (unsafe), and
  // broadcast to the selection's shape.
  absl::StatusOr<NDArray> v = value.AsType(a.dtype(), Casting::kUnsafe);
  if (!v.ok()) return v.status();
  if (MayShareMemory(*v, a)) v = v->Copy();  // a[idx] = a[::-1] reads what it writes
  if (!v.ok()) return v.status();
  absl::StatusOr<NDArray> full = v->BroadcastTo(sel.shape);
  if (!full.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shape mismatch: value array of shape ", ShapeString(value.shape()),
        " could not be broadcast to indexing result of shape ", ShapeString(sel.shape)));
  }
  if (sel.arrays.empty()) return CopyTo(sel.view, *full, Casting::kNo);
  // Every index is checked before anything is written: a bad index leaves
  // the array as it was.
  std::vector<int64_t> src(sel.count);
  for (int64_t flat = 0; flat < sel.count; ++flat) {
    NDJIT_ASSIGN_OR_RETURN(int64_t s, sel.Source(flat));
    src[flat] = s;
  }
  // In index order: a repeated index keeps the last value written, as NumPy.
  for (int64_t flat = 0; flat < sel.count; ++flat) {
    if (sel.rest_shape.empty()) {  // one element
      std::memcpy(sel.view.data() + src[flat], full->data() + sel.Dest(*full, flat), a.itemsize());
      continue;
    }
    absl::StatusOr<std::pair<NDArray, NDArray>> blocks = sel.Blocks(*full, flat, src[flat]);
    if (!blocks.ok()) return blocks.status();
    NDJIT_RETURN_IF_ERROR(CopyTo(blocks->second, blocks->first, Casting::kNo));
  }
  return absl::OkStatus();
}

absl::StatusOr<SelectedElements> SelectElements(const NDArray& a,
                                                absl::Span<const AdvancedItem> items) {
  NDJIT_ASSIGN_OR_RETURN(Selection sel, Select(a, items));
  SelectedElements out;
  out.shape = sel.shape;
  NDJIT_ASSIGN_OR_RETURN(int64_t n, CheckedSize(sel.shape));
  out.offsets.resize(n);
  const int64_t base = sel.view.data() - a.data();
  // Without index arrays the selection is the view itself.
  const bool whole_view = sel.arrays.empty();
  const int64_t tuples = whole_view ? 1 : sel.count;
  const Dims rest = whole_view ? sel.view.shape() : Dims(sel.rest_shape);
  const Dims rest_strides = whole_view ? sel.view.strides() : Dims(sel.rest_strides);
  // Where each rest dim steps in the selection's C order (in elements).
  Strides c_strides(out.shape.size(), 1);
  for (int d = static_cast<int>(out.shape.size()) - 2; d >= 0; --d) {
    c_strides[d] = c_strides[d + 1] * out.shape[d + 1];
  }
  Strides rest_steps;
  const int nb = whole_view ? 0 : static_cast<int>(sel.b.size());
  for (int d = 0; d < static_cast<int>(out.shape.size()); ++d) {
    if (d < sel.before || d >= sel.before + nb) rest_steps.push_back(c_strides[d]);
  }
  std::vector<int64_t> at(rest.size());
  for (int64_t flat = 0; flat < tuples; ++flat) {
    int64_t src = 0, dst = 0;
    if (!whole_view) {
      NDJIT_ASSIGN_OR_RETURN(int64_t s, sel.Source(flat));
      src = s;
      int64_t f = flat;
      for (int d = nb - 1; d >= 0; --d) {
        dst += (f % sel.b[d]) * c_strides[sel.before + d];
        f /= sel.b[d];
      }
    }
    // Every element of the rest's dims, odometer order.
    std::fill(at.begin(), at.end(), 0);
    const int64_t block = *CheckedSize(rest);
    for (int64_t e = 0; e < block; ++e) {
      int64_t s = src, t = dst;
      for (size_t d = 0; d < rest.size(); ++d) {
        s += at[d] * rest_strides[d];
        t += at[d] * rest_steps[d];
      }
      out.offsets[t] = base + s;
      for (int d = static_cast<int>(rest.size()) - 1; d >= 0 && ++at[d] == rest[d]; --d) at[d] = 0;
    }
  }
  return out;
}

}  // namespace ndjit
