// Walking N strided operands of one shape, a row at a time. Used by copies
// and casts here, and by the eager evaluator: the innermost row is handed to
// a kernel that loops with fixed strides.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"
#include "ndjit/runtime/shape.h"

namespace ndjit {

// The loop nest a strided walk of several operands over `shape` needs: dims
// of size 1 dropped, the rest ordered by operand 0's stride (largest
// outside), and adjacent dims that are contiguous for every operand merged,
// so a contiguous array of any rank becomes one dim. Empty `sizes` means one
// element; `empty` means a size of 0 somewhere.
struct CoalescedDims {
  bool empty = false;
  absl::InlinedVector<int64_t, 6> sizes;
  std::vector<absl::InlinedVector<int64_t, 6>> strides;  // [operand][dim]
};
CoalescedDims CoalesceDims(Dims shape, absl::Span<const Dims> strides);

// Calls fn(ptrs, n, inner_strides) once per innermost row of the coalesced
// loop nest, where ptrs[k] points at operand k's first element of the row.
template <size_t N, typename Fn>
void ForEachRow(Dims shape, std::array<char*, N> base, const std::array<Dims, N>& strides,
                Fn&& fn) {
  const CoalescedDims c = CoalesceDims(shape, absl::MakeConstSpan(strides));
  if (c.empty) return;
  if (c.sizes.empty()) {
    fn(base, int64_t{1}, std::array<int64_t, N>{});
    return;
  }
  const int outer = static_cast<int>(c.sizes.size()) - 1;
  const int64_t inner_size = c.sizes[outer];
  std::array<int64_t, N> inner_stride;
  for (size_t k = 0; k < N; ++k) inner_stride[k] = c.strides[k][outer];
  absl::InlinedVector<int64_t, 8> counter(outer, 0);
  std::array<char*, N> ptrs = base;
  while (true) {
    fn(ptrs, inner_size, inner_stride);
    // Odometer over the outer dims, innermost of them first. Pointers only
    // ever move between elements, never past the last one.
    int axis = outer - 1;
    for (; axis >= 0; --axis) {
      if (++counter[axis] < c.sizes[axis]) {
        for (size_t k = 0; k < N; ++k) ptrs[k] += c.strides[k][axis];
        break;
      }
      for (size_t k = 0; k < N; ++k) ptrs[k] -= c.strides[k][axis] * (c.sizes[axis] - 1);
      counter[axis] = 0;
    }
    if (axis < 0) return;
  }
}

}  // namespace ndjit
