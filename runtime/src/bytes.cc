// Arrays of bytes (NumPy's 'S<n>'): items, construction, comparisons and
// numexpr's contains().
// Their layout, views, copies and files are the record array's.
#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ndjit/runtime/record.h"
#include "ndjit/runtime/status_macros.h"
#include "ndjit/runtime/strided_loop.h"

namespace ndjit {
namespace {

absl::Status NotBytes(absl::string_view op, const RecordArray& a) {
  return absl::InvalidArgumentError(absl::StrCat(
      op, ": expected an array of bytes, not ",
      a.valid() ? absl::StrCat("records of ", a.type()->Repr()) : std::string("a null array")));
}

// memcmp's sign over the items with the shorter padded by NULs: NumPy's
// order of fixed-width bytes.
int CompareItems(const unsigned char* a, int64_t wa, const unsigned char* b, int64_t wb) {
  const int64_t n = std::min(wa, wb);
  if (const int c = std::memcmp(a, b, static_cast<size_t>(n)); c != 0) return c;
  for (int64_t i = n; i < wa; ++i) {
    if (a[i] != 0) return 1;
  }
  for (int64_t i = n; i < wb; ++i) {
    if (b[i] != 0) return -1;
  }
  return 0;
}

bool Holds(Comparison op, int c) {
  switch (op) {
    case Comparison::kEqual:
      return c == 0;
    case Comparison::kNotEqual:
      return c != 0;
    case Comparison::kLess:
      return c < 0;
    case Comparison::kLessEqual:
      return c <= 0;
    case Comparison::kGreater:
      return c > 0;
    case Comparison::kGreaterEqual:
      return c >= 0;
  }
  return false;
}

const char* Symbol(Comparison op) {
  static const char* const kSymbols[] = {"==", "!=", "<", "<=", ">", ">="};
  return kSymbols[static_cast<int>(op)];
}

// The items' strides once broadcast to `shape` (0 along stretched dims).
absl::StatusOr<Shape> BroadcastStrides(const RecordArray& a, Dims shape) {
  Shape bytes_shape(shape.begin(), shape.end());
  bytes_shape.push_back(a.itemsize());
  NDJIT_ASSIGN_OR_RETURN(NDArray view, a.bytes().BroadcastTo(bytes_shape));
  return Shape(view.strides().begin(), view.strides().end() - 1);
}

// out[i] = pred(a[i], b[i]) over the broadcast shape of two bytes arrays,
// the items passed whole (NUL padding included) with their widths.
template <typename Pred>
absl::StatusOr<NDArray> BytesPredicate(const std::string& what, const RecordArray& a,
                                       const RecordArray& b, Pred pred) {
  if (!a.valid() || !a.type()->is_bytes()) return NotBytes(what, a);
  if (!b.valid() || !b.type()->is_bytes()) return NotBytes(what, b);
  absl::StatusOr<Shape> shape = BroadcastShapes(a.shape(), b.shape());
  if (!shape.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", shape.status().message()));
  }
  NDJIT_ASSIGN_OR_RETURN(NDArray out, NDArray::Empty(*shape, DType::kBool));
  NDJIT_ASSIGN_OR_RETURN(Shape sa, BroadcastStrides(a, *shape));
  NDJIT_ASSIGN_OR_RETURN(Shape sb, BroadcastStrides(b, *shape));
  const int64_t wa = a.itemsize(), wb = b.itemsize();
  ForEachRow<3>(*shape, {out.data(), a.data(), b.data()}, {out.strides(), Dims(sa), Dims(sb)},
                [&](const std::array<char*, 3>& p, int64_t n, const std::array<int64_t, 3>& s) {
                  for (int64_t i = 0; i < n; ++i) {
                    p[0][i * s[0]] = pred(p[1] + i * s[1], wa, p[2] + i * s[2], wb);
                  }
                });
  return out;
}

}  // namespace

absl::string_view BytesItem(const char* item, int64_t width) {
  while (width > 0 && item[width - 1] == '\0') --width;
  return absl::string_view(item, static_cast<size_t>(width));
}

absl::StatusOr<NDArray> CompareBytes(Comparison op, const RecordArray& a, const RecordArray& b) {
  return BytesPredicate(absl::StrCat("bytes comparison ", Symbol(op)), a, b,
                        [op](const char* x, int64_t wx, const char* y, int64_t wy) {
                          return Holds(op,
                                       CompareItems(reinterpret_cast<const unsigned char*>(x), wx,
                                                    reinterpret_cast<const unsigned char*>(y), wy));
                        });
}

absl::StatusOr<NDArray> ContainsBytes(const RecordArray& haystack, const RecordArray& needle) {
  return BytesPredicate("contains", haystack, needle,
                        [](const char* x, int64_t wx, const char* y, int64_t wy) {
                          return BytesItem(x, wx).find(BytesItem(y, wy)) != absl::string_view::npos;
                        });
}

absl::StatusOr<RecordArray> BytesArray(absl::Span<const std::string> items, Dims shape,
                                       int64_t width) {
  NDJIT_ASSIGN_OR_RETURN(const int64_t count, CheckedSize(shape));
  if (count != static_cast<int64_t>(items.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bytes array: ", items.size(), " items do not fill the shape ", ShapeRepr(shape)));
  }
  if (width == 0) {
    width = 1;
    for (const std::string& s : items) width = std::max<int64_t>(width, s.size());
  }
  NDJIT_ASSIGN_OR_RETURN(RecordTypePtr type, RecordType::Bytes(width));
  NDJIT_ASSIGN_OR_RETURN(RecordArray out, RecordArray::Zeros(shape, std::move(type)));
  for (size_t i = 0; i < items.size(); ++i) {
    std::memcpy(out.data() + static_cast<int64_t>(i) * width, items[i].data(),
                std::min<size_t>(items[i].size(), static_cast<size_t>(width)));
  }
  return out;
}

}  // namespace ndjit
