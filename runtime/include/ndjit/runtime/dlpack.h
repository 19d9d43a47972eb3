// Arrays in and out through DLPack, the tensor exchange ABI of NumPy
// (np.from_dlpack, ndarray.__dlpack__), PyTorch, JAX, CuPy and TVM: a
// DLManagedTensor describes memory (CPU only here), dtype, shape and strides
// in elements; whoever holds it calls its deleter once when done.
//
// Both directions share memory: ToDLPack hands out a view of the array's
// buffer (kept alive until the deleter runs), FromDLPack wraps the
// producer's memory (its deleter runs when the last ndjit view goes).
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "ndjit/runtime/ndarray.h"

// The ABI structs as the DLPack specification (v0.8) defines them, under
// its header's guard: whichever of the two a program includes first defines
// them, with the same layout.
#ifndef DLPACK_DLPACK_H_
#define DLPACK_DLPACK_H_
extern "C" {
typedef enum {
  kDLCPU = 1,
  kDLCUDA = 2,
  kDLCUDAHost = 3,
} DLDeviceType;

typedef struct {
  DLDeviceType device_type;
  int32_t device_id;
} DLDevice;

typedef enum {
  kDLInt = 0U,
  kDLUInt = 1U,
  kDLFloat = 2U,
  kDLOpaqueHandle = 3U,
  kDLBfloat = 4U,
  kDLComplex = 5U,
  kDLBool = 6U,
} DLDataTypeCode;

typedef struct {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
} DLDataType;

typedef struct {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;  // in elements; null means C-contiguous
  uint64_t byte_offset;
} DLTensor;

typedef struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(struct DLManagedTensor* self);
} DLManagedTensor;
}  // extern "C"
#endif  // DLPACK_DLPACK_H_

namespace ndjit {

// A DLPack view of `a` (the caller owns it: call its deleter once). Strides
// must be multiples of the item size (DLPack counts elements): other views
// are an error, as in NumPy.
absl::StatusOr<DLManagedTensor*> ToDLPack(const NDArray& a);
// Takes `t`: an array over its memory, whose deleter runs when the last
// view goes (on error, at once). CPU tensors of ndjit's dtypes, one lane.
// `writeable`: DLPack carries no read-only flag; the producer says.
absl::StatusOr<NDArray> FromDLPack(DLManagedTensor* t, bool writeable = true);

}  // namespace ndjit
