// NDArray: NumPy's array model. A dtype, a shape, byte strides and a byte
// offset into a refcounted buffer. Views share the buffer and never copy.
//
// Invariant (checked whenever a view is made): every element any index can
// reach lies inside the buffer, so no view can read or write out of bounds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ndjit/runtime/buffer.h"
#include "ndjit/runtime/dtype.h"
#include "ndjit/runtime/shape.h"

namespace ndjit {

// Index items of basic indexing, as in a[1, 2:, ::-1, np.newaxis, ...].
struct Slice {
  std::optional<int64_t> start, stop, step;
};
struct NewAxis {};
struct Ellipsis {};
using IndexItem = std::variant<int64_t, Slice, NewAxis, Ellipsis>;

class NDArray {
 public:
  NDArray() = default;  // a null array; valid() is false

  // --- Creation ---------------------------------------------------------
  static absl::StatusOr<NDArray> Empty(Dims shape, DType dtype, Order order = Order::kC);
  static absl::StatusOr<NDArray> Zeros(Dims shape, DType dtype, Order order = Order::kC);
  // Every element is `value` converted with the unsafe casting rules.
  static absl::StatusOr<NDArray> Full(Dims shape, DType dtype, double value);
  // 0, 1, ..., n-1 (np.arange(n)).
  static absl::StatusOr<NDArray> Arange(int64_t n, DType dtype = DType::kInt64);
  // n values start + i * step as `dtype` (NumPy's arange once its length is
  // known): integers exactly in int64, otherwise in float64, then cast.
  static absl::StatusOr<NDArray> Range(int64_t start, int64_t step, int64_t n, DType dtype);
  static absl::StatusOr<NDArray> Range(double start, double step, int64_t n, DType dtype);
  // A C-ordered array holding `values`, which must number prod(shape).
  template <typename V>
  static absl::StatusOr<NDArray> FromValues(Dims shape, absl::Span<const V> values);
  // A view of `buffer`; fails unless every element lies inside it.
  static absl::StatusOr<NDArray> FromBuffer(BufferPtr buffer, int64_t offset, DType dtype,
                                            Dims shape, Dims strides, bool writeable = true);

  // --- Metadata ---------------------------------------------------------
  bool valid() const { return buffer_ != nullptr; }
  DType dtype() const { return dtype_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  Dims shape() const { return shape_; }
  Dims strides() const { return strides_; }
  int64_t size() const { return size_; }
  int64_t itemsize() const { return ItemSize(dtype_); }
  int64_t nbytes() const { return size_ * itemsize(); }
  int64_t offset() const { return offset_; }
  const BufferPtr& buffer() const { return buffer_; }
  // Address of element [0, ..., 0].
  char* data() const { return buffer_->data() + offset_; }
  bool writeable() const { return writeable_; }
  // NumPy's flags: dims of size 1 do not count; size-0 arrays are both.
  bool IsCContiguous() const;
  bool IsFContiguous() const;
  // "float32 (3, 4) strides (16, 4) offset 0 C" : for logs and the demo.
  std::string Describe() const;

  // --- Elements (checked; values convert with the unsafe casting rules) ---
  template <typename V>
  absl::StatusOr<V> Item(Dims index) const;
  template <typename V>
  absl::Status SetItem(Dims index, V value) const;

  // --- Views: never copy --------------------------------------------------
  absl::StatusOr<NDArray> Index(absl::Span<const IndexItem> items) const;
  // `axes` empty reverses the dimensions.
  absl::StatusOr<NDArray> Transpose(Dims axes = {}) const;
  NDArray T() const;
  absl::StatusOr<NDArray> SwapAxes(int64_t axis1, int64_t axis2) const;
  absl::StatusOr<NDArray> MoveAxis(Dims source, Dims destination) const;
  // Without axes, removes every dimension of size 1.
  absl::StatusOr<NDArray> Squeeze(std::optional<Dims> axes = std::nullopt) const;
  absl::StatusOr<NDArray> ExpandDims(Dims axes) const;
  // Read-only, as in NumPy: broadcast elements alias each other.
  absl::StatusOr<NDArray> BroadcastTo(Dims shape) const;
  // Read-only, as in NumPy.
  absl::StatusOr<NDArray> Diagonal(int64_t offset = 0, int64_t axis1 = 0, int64_t axis2 = 1) const;

  // --- Reshape: a view when the strides allow, else a copy (NumPy's rule) --
  // One entry may be -1 (inferred). `order` is kC or kF: the index order in
  // which elements are read and placed.
  absl::StatusOr<NDArray> Reshape(Dims shape, Order order = Order::kC) const;
  // Only the view; fails where Reshape would copy.
  absl::StatusOr<NDArray> ReshapeView(Dims shape, Order order = Order::kC) const;
  absl::StatusOr<NDArray> Ravel(Order order = Order::kC) const;

  // --- Copies -------------------------------------------------------------
  absl::StatusOr<NDArray> Copy(Order order = Order::kC) const;
  absl::StatusOr<NDArray> AsType(DType dtype, Casting casting = Casting::kUnsafe,
                                 Order order = Order::kK) const;

 private:
  // A view of the same buffer. Callers guarantee the bounds invariant.
  NDArray View(int64_t offset, Shape shape, Strides strides, bool writeable) const;
  absl::StatusOr<char*> ElementPointer(Dims index) const;
  absl::Status ReadItem(Dims index, DType as, void* out) const;
  absl::Status WriteItem(Dims index, DType from, const void* value) const;

  BufferPtr buffer_;
  int64_t offset_ = 0;
  DType dtype_ = DType::kFloat64;
  Shape shape_;
  Strides strides_;
  int64_t size_ = 0;
  bool writeable_ = false;
};

// The error NDArray::Empty gives for `shape` and `dtype` when no allocation
// of that size can succeed (an invalid shape, or more than the pool ever
// asks the system for); OK otherwise. Planners that allocate later check
// with it up front.
absl::Status CheckAllocatable(Dims shape, DType dtype);

// --- NumPy's free functions ---------------------------------------------
// A view with any shape and strides over `a`'s buffer, starting at `a`'s first
// element; fails if any element would lie outside the buffer.
absl::StatusOr<NDArray> AsStrided(const NDArray& a, Dims shape, Dims strides,
                                  bool writeable = true);
// Read-only windows: the result has `a`'s shape (each windowed axis shortened
// by window - 1) followed by the window's dims. Without `axes`, one window
// size per dimension.
absl::StatusOr<NDArray> SlidingWindowView(const NDArray& a, Dims window_shape,
                                          std::optional<Dims> axes = std::nullopt);
// `a` itself when already C- (resp. F-) contiguous, else a contiguous copy.
absl::StatusOr<NDArray> AsContiguousArray(const NDArray& a);
absl::StatusOr<NDArray> AsFortranArray(const NDArray& a);
// Writes `src`, broadcast to `dst`'s shape and cast under `casting`, into
// `dst` (np.copyto). Safe when the two overlap in memory.
absl::Status CopyTo(const NDArray& dst, const NDArray& src, Casting casting = Casting::kSameKind);
// np.take(a, indices, axis): a new array of `a`'s elements at the integer
// `indices` (any shape; negative counts from the end) along `axis`; shape
// a.shape[:axis] + indices.shape + a.shape[axis+1:]. Out-of-range indices
// are NumPy's IndexError text.
absl::StatusOr<NDArray> Take(const NDArray& a, const NDArray& indices, int64_t axis = 0);
// NumPy's advanced indexing, a[[0, 2]], a[mask], a[:, idx, 1:], a[i, j]: an
// item is a basic one or an array, integers indexing one dim (negative from
// the end), booleans as many dims as they have (their true positions). The
// arrays broadcast together; their dims replace the indexed ones in place
// when the arrays are adjacent in the index, else come first. A new array;
// NumPy's IndexError texts for a mask of the wrong shape and for indices out
// of range.
using AdvancedItem = std::variant<IndexItem, NDArray>;
absl::StatusOr<NDArray> AdvancedIndex(const NDArray& a, absl::Span<const AdvancedItem> items);
// Whether the byte ranges the two arrays span overlap (np.may_share_memory).
bool MayShareMemory(const NDArray& a, const NDArray& b);
// NumPy's repr: "array([[0, 1],\n       [2, 3]], dtype=int32)".
std::string ArrayRepr(const NDArray& a);

// --- Template definitions -------------------------------------------------
template <typename V>
absl::StatusOr<NDArray> NDArray::FromValues(Dims shape, absl::Span<const V> values) {
  absl::StatusOr<NDArray> a = Empty(shape, kDTypeOf<V>);
  if (!a.ok()) return a.status();
  if (static_cast<int64_t>(values.size()) != a->size()) {
    return absl::InvalidArgumentError("FromValues(): " + std::to_string(values.size()) +
                                      " values do not fill shape " + ShapeString(shape));
  }
  for (int64_t i = 0; i < a->size(); ++i) {
    reinterpret_cast<V*>(a->data())[i] = values[i];
  }
  return a;
}

template <typename V>
absl::StatusOr<V> NDArray::Item(Dims index) const {
  V out{};
  absl::Status s = ReadItem(index, kDTypeOf<V>, &out);
  if (!s.ok()) return s;
  return out;
}

template <typename V>
absl::Status NDArray::SetItem(Dims index, V value) const {
  return WriteItem(index, kDTypeOf<V>, &value);
}

}  // namespace ndjit
