// Internal to ir/: arrays that have a layout and an address but no memory.
// Planners put them where a value exists only when the Program runs (a
// reference step's inputs, a chunk loop's outer slots); nothing reads or
// writes through them, and their addresses lie far above user space
// (x86-64 ends at 2^47), apart from Schedule's slot placeholders (2^56 on).
#pragma once

#include <algorithm>
#include <cstdint>

#include "ndjit/runtime/ndarray.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit::ir {

// An array of this layout whose lowest byte is at `base`.
inline absl::StatusOr<NDArray> StandIn(uintptr_t base, DType dtype, Dims shape, Dims strides,
                                       bool writeable) {
  NDJIT_ASSIGN_OR_RETURN(ByteRange extent, ByteExtent(shape, strides, ItemSize(dtype)));
  return NDArray::FromBuffer(
      Buffer::WrapExternal(reinterpret_cast<void*>(base),
                           std::max<int64_t>(extent.end - extent.begin, 1), nullptr),
      -extent.begin, dtype, shape, strides, writeable);
}

}  // namespace ndjit::ir
