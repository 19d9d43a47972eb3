#include "ndjit/runtime/dlpack.h"

#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit {
namespace {

// What a DLManagedTensor made by ToDLPack owns: the array (so its buffer)
// and the shape and strides the tensor points into.
struct Exported {
  DLManagedTensor tensor;
  NDArray array;
  Shape shape;
  Strides strides;  // in elements
};

void DeleteExported(DLManagedTensor* t) { delete static_cast<Exported*>(t->manager_ctx); }

DLDataType DLTypeOf(DType t) {
  const uint8_t bits = static_cast<uint8_t>(ItemSize(t) * 8);
  switch (Kind(t)) {
    case DTypeKind::kBool:
      return {kDLBool, 8, 1};
    case DTypeKind::kInt:
      return {kDLInt, bits, 1};
    case DTypeKind::kUInt:
      return {kDLUInt, bits, 1};
    case DTypeKind::kFloat:
      return {kDLFloat, bits, 1};
    case DTypeKind::kComplex:
      return {kDLComplex, bits, 1};
  }
  return {kDLOpaqueHandle, bits, 1};
}

std::optional<DType> DTypeOfDL(DLDataType t) {
  if (t.lanes != 1) return std::nullopt;
  for (int i = 0; i < kNumDTypes; ++i) {
    const DType d = static_cast<DType>(i);
    const DLDataType want = DLTypeOf(d);
    if (want.code == t.code && want.bits == t.bits) return d;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<DLManagedTensor*> ToDLPack(const NDArray& a) {
  if (!a.valid()) return absl::InvalidArgumentError("ToDLPack: a null array");
  auto e = std::make_unique<Exported>();
  e->array = a;
  e->shape = Shape(a.shape().begin(), a.shape().end());
  for (int64_t s : a.strides()) {
    if (s % a.itemsize() != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("ToDLPack: DLPack only supports strides which are a multiple of the "
                       "itemsize (",
                       a.itemsize(), " bytes); this array has strides ", ShapeString(a.strides())));
    }
    e->strides.push_back(s / a.itemsize());
  }
  DLTensor& t = e->tensor.dl_tensor;
  t.data = a.data();
  t.device = {kDLCPU, 0};
  t.ndim = a.ndim();
  t.dtype = DLTypeOf(a.dtype());
  t.shape = e->shape.data();
  t.strides = e->strides.data();
  t.byte_offset = 0;
  e->tensor.manager_ctx = e.get();
  e->tensor.deleter = DeleteExported;
  return &e.release()->tensor;
}

absl::StatusOr<NDArray> FromDLPack(DLManagedTensor* t, bool writeable) {
  if (t == nullptr) return absl::InvalidArgumentError("FromDLPack: a null tensor");
  // Until an array holds it, an early return must still release it.
  std::unique_ptr<DLManagedTensor, void (*)(DLManagedTensor*)> owned(t, [](DLManagedTensor* m) {
    if (m->deleter != nullptr) m->deleter(m);
  });
  const DLTensor& d = t->dl_tensor;
  if (d.device.device_type != kDLCPU && d.device.device_type != kDLCUDAHost) {
    return absl::InvalidArgumentError(absl::StrCat("FromDLPack: the tensor is on device type ",
                                                   d.device.device_type,
                                                   "; ndjit reads CPU memory only"));
  }
  const std::optional<DType> dtype = DTypeOfDL(d.dtype);
  if (!dtype.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("FromDLPack: no ndjit dtype for DLPack type code ", d.dtype.code, ", ",
                     d.dtype.bits, " bits, ", d.dtype.lanes, " lanes"));
  }
  if (d.ndim < 0 || (d.ndim > 0 && d.shape == nullptr)) {
    return absl::InvalidArgumentError(absl::StrCat("FromDLPack: bad ndim ", d.ndim));
  }
  const int64_t itemsize = ItemSize(*dtype);
  Shape shape(d.shape, d.shape + d.ndim);
  for (int64_t n : shape) {
    if (n < 0) return absl::InvalidArgumentError("FromDLPack: negative dimension");
  }
  Strides strides;
  if (d.strides == nullptr) {
    strides = ContiguousStrides(shape, itemsize, Order::kC);
  } else {
    for (int i = 0; i < d.ndim; ++i) {
      int64_t bytes = 0;
      if (__builtin_mul_overflow(d.strides[i], itemsize, &bytes)) {
        return absl::InvalidArgumentError("FromDLPack: a stride overflows");
      }
      strides.push_back(bytes);
    }
  }
  NDJIT_ASSIGN_OR_RETURN(ByteRange extent, ByteExtent(shape, strides, itemsize));
  char* first = static_cast<char*>(d.data) + d.byte_offset;
  DLManagedTensor* raw = owned.release();
  BufferPtr buffer =
      Buffer::WrapExternal(first + extent.begin, extent.end - extent.begin, [raw](void*, int64_t) {
        if (raw->deleter != nullptr) raw->deleter(raw);
      });
  return NDArray::FromBuffer(std::move(buffer), -extent.begin, *dtype, shape, strides, writeable);
}

}  // namespace ndjit
