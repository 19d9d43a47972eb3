// NDArray creation, metadata, contiguity flags and element access.
#include "ndjit/runtime/ndarray.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ndjit/runtime/cast.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit {

NDArray NDArray::View(int64_t offset, Shape shape, Strides strides, bool writeable) const {
  NDArray v;
  v.buffer_ = buffer_;
  v.offset_ = offset;
  v.dtype_ = dtype_;
  v.size_ = 1;
  for (int64_t d : shape) v.size_ *= d;
  v.shape_ = std::move(shape);
  v.strides_ = std::move(strides);
  v.writeable_ = writeable;
  return v;
}

namespace {

absl::Status AllocationError(Dims shape, DType dtype, int64_t nbytes) {
  return absl::ResourceExhaustedError(
      absl::StrCat("Unable to allocate ", nbytes, " bytes for an array with shape ",
                   ShapeRepr(shape), " and data type ", Name(dtype)));
}

}  // namespace

absl::Status CheckAllocatable(Dims shape, DType dtype) {
  NDJIT_ASSIGN_OR_RETURN(int64_t size, CheckedSize(shape, ItemSize(dtype)));
  const int64_t nbytes = size * ItemSize(dtype);
  if (static_cast<uint64_t>(nbytes) > PoolMaxRequest())
    return AllocationError(shape, dtype, nbytes);
  return absl::OkStatus();
}

absl::StatusOr<NDArray> NDArray::Empty(Dims shape, DType dtype, Order order) {
  if (order != Order::kC && order != Order::kF) {
    return absl::InvalidArgumentError("empty(): only 'C' or 'F' order is permitted");
  }
  NDJIT_ASSIGN_OR_RETURN(int64_t size, CheckedSize(shape, ItemSize(dtype)));
  absl::StatusOr<BufferPtr> buffer = Buffer::Allocate(size * ItemSize(dtype));
  if (!buffer.ok()) return AllocationError(shape, dtype, size * ItemSize(dtype));
  NDArray a;
  a.buffer_ = *std::move(buffer);
  a.dtype_ = dtype;
  a.shape_.assign(shape.begin(), shape.end());
  a.strides_ = ContiguousStrides(shape, ItemSize(dtype), order);
  a.size_ = size;
  a.writeable_ = true;
  return a;
}

absl::StatusOr<NDArray> NDArray::Zeros(Dims shape, DType dtype, Order order) {
  absl::StatusOr<NDArray> a = Empty(shape, dtype, order);
  if (a.ok()) std::memset(a->data(), 0, static_cast<size_t>(a->nbytes()));
  return a;
}

absl::StatusOr<NDArray> NDArray::Full(Dims shape, DType dtype, double value) {
  absl::StatusOr<NDArray> a = Empty(shape, dtype);
  if (!a.ok()) return a;
  GetCastFn(DType::kFloat64, dtype)(reinterpret_cast<const char*>(&value), 0, a->data(),
                                    a->itemsize(), a->size());
  return a;
}

namespace {

// n values start + i * step, made in `From` (int64: exact; float64) a chunk
// at a time and cast into `dtype` in place: no whole intermediate array.
template <typename From>
absl::StatusOr<NDArray> FillRange(From start, From step, int64_t n, DType dtype) {
  absl::StatusOr<NDArray> a = NDArray::Empty({std::max<int64_t>(n, 0)}, dtype);
  if (!a.ok()) return a;
  constexpr DType kFrom = std::is_same_v<From, int64_t> ? DType::kInt64 : DType::kFloat64;
  const CastFn cast = GetCastFn(kFrom, dtype);
  constexpr int64_t kChunk = 2048;
  From chunk[kChunk];
  const int64_t item = ItemSize(dtype);
  for (int64_t done = 0; done < a->size(); done += kChunk) {
    const int64_t m = std::min(kChunk, a->size() - done);
    for (int64_t i = 0; i < m; ++i) {
      // Integers wrap as NumPy's int64 fill does; the caller bounds n.
      chunk[i] =
          std::is_same_v<From, int64_t>
              ? static_cast<From>(static_cast<uint64_t>(start) +
                                  static_cast<uint64_t>(done + i) * static_cast<uint64_t>(step))
          : done + i == 0 ? start  // not start + 0 * step: NaN for an infinite step
                          : start + static_cast<From>(done + i) * step;
    }
    cast(reinterpret_cast<const char*>(chunk), sizeof(From), a->data() + done * item, item, m);
  }
  return a;
}

}  // namespace

absl::StatusOr<NDArray> NDArray::Arange(int64_t n, DType dtype) {
  return FillRange<int64_t>(0, 1, n, dtype);
}

absl::StatusOr<NDArray> NDArray::Range(int64_t start, int64_t step, int64_t n, DType dtype) {
  return FillRange<int64_t>(start, step, n, dtype);
}

absl::StatusOr<NDArray> NDArray::Range(double start, double step, int64_t n, DType dtype) {
  return FillRange<double>(start, step, n, dtype);
}

absl::StatusOr<NDArray> NDArray::FromBuffer(BufferPtr buffer, int64_t offset, DType dtype,
                                            Dims shape, Dims strides, bool writeable) {
  if (buffer == nullptr) return absl::InvalidArgumentError("FromBuffer(): null buffer");
  if (shape.size() != strides.size()) {
    return absl::InvalidArgumentError(absl::StrCat("FromBuffer(): shape ", ShapeString(shape),
                                                   " and strides ", ShapeString(strides),
                                                   " differ in length"));
  }
  NDJIT_ASSIGN_OR_RETURN(int64_t size, CheckedSize(shape, ItemSize(dtype)));
  NDJIT_ASSIGN_OR_RETURN(ByteRange extent, ByteExtent(shape, strides, ItemSize(dtype)));
  if (offset < 0 || offset > buffer->size()) {
    return absl::OutOfRangeError(
        absl::StrCat("offset ", offset, " is outside the buffer of ", buffer->size(), " bytes"));
  }
  if (size > 0 && (offset + extent.begin < 0 || offset > buffer->size() - extent.end)) {
    return absl::OutOfRangeError(
        absl::StrCat("shape ", ShapeString(shape), " with strides ", ShapeString(strides),
                     " spans bytes [", extent.begin, ", ", extent.end, ") around offset ", offset,
                     ", outside the buffer of ", buffer->size(), " bytes"));
  }
  NDArray a;
  a.buffer_ = std::move(buffer);
  a.offset_ = offset;
  a.dtype_ = dtype;
  a.shape_.assign(shape.begin(), shape.end());
  a.strides_.assign(strides.begin(), strides.end());
  a.size_ = size;
  a.writeable_ = writeable;
  return a;
}

namespace {
bool IsContiguous(Dims shape, Dims strides, int64_t itemsize, bool c_order) {
  int64_t expected = itemsize;
  const int n = static_cast<int>(shape.size());
  for (int k = 0; k < n; ++k) {
    const int i = c_order ? n - 1 - k : k;
    if (shape[i] == 0) return true;
    if (shape[i] == 1) continue;
    if (strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}
}  // namespace

bool NDArray::IsCContiguous() const { return IsContiguous(shape_, strides_, itemsize(), true); }
bool NDArray::IsFContiguous() const { return IsContiguous(shape_, strides_, itemsize(), false); }

std::string NDArray::Describe() const {
  if (!valid()) return "<null array>";
  std::string flags;
  if (IsCContiguous()) flags += "C";
  if (IsFContiguous()) flags += "F";
  if (!writeable_) flags += "R";
  return absl::StrCat(Name(dtype_), " ", ShapeRepr(shape_), " strides ", ShapeRepr(strides_),
                      " offset ", offset_, flags.empty() ? "" : " ", flags);
}

absl::StatusOr<char*> NDArray::ElementPointer(Dims index) const {
  if (!valid()) return absl::FailedPreconditionError("item access on a null array");
  if (static_cast<int>(index.size()) != ndim()) {
    return absl::InvalidArgumentError(
        absl::StrCat("incorrect number of indices for array: array is ", ndim(),
                     "-dimensional, but ", index.size(), " were given"));
  }
  char* p = data();
  for (int i = 0; i < ndim(); ++i) {
    int64_t k = index[i];
    if (k < -shape_[i] || k >= shape_[i]) {
      return absl::OutOfRangeError(
          absl::StrCat("index ", k, " is out of bounds for axis ", i, " with size ", shape_[i]));
    }
    if (k < 0) k += shape_[i];
    p += k * strides_[i];
  }
  return p;
}

absl::Status NDArray::ReadItem(Dims index, DType as, void* out) const {
  NDJIT_ASSIGN_OR_RETURN(char* p, ElementPointer(index));
  GetCastFn(dtype_, as)(p, 0, static_cast<char*>(out), 0, 1);
  return absl::OkStatus();
}

absl::Status NDArray::WriteItem(Dims index, DType from, const void* value) const {
  if (valid() && !writeable_)
    return absl::InvalidArgumentError("assignment destination is read-only");
  NDJIT_ASSIGN_OR_RETURN(char* p, ElementPointer(index));
  GetCastFn(from, dtype_)(static_cast<const char*>(value), 0, p, 0, 1);
  return absl::OkStatus();
}

}  // namespace ndjit
