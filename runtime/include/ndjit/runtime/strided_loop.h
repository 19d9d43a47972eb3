// Walking N strided operands of one shape, a row at a time. Used by copies
// and casts here, and by the eager evaluator: the innermost row is handed to
// a kernel that loops with fixed strides.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>

#include "absl/container/inlined_vector.h"
#include "ndjit/runtime/shape.h"

namespace ndjit {

// Calls fn(ptrs, n, inner_strides) once per innermost row, where ptrs[k]
// points at operand k's first element of the row. Dims of size 1 are
// dropped, the remaining ones are ordered by operand 0's stride (largest
// outside) and adjacent dims that are contiguous for every operand are
// merged, so a contiguous copy is a single call.
template <size_t N, typename Fn>
void ForEachRow(Dims shape, std::array<char*, N> base, const std::array<Dims, N>& strides,
                Fn&& fn) {
  struct Dim {
    int64_t size;
    std::array<int64_t, N> stride;
  };
  absl::InlinedVector<Dim, 8> dims;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) return;
    if (shape[i] == 1) continue;
    Dim d{shape[i], {}};
    for (size_t k = 0; k < N; ++k) d.stride[k] = strides[k][i];
    dims.push_back(d);
  }
  std::stable_sort(dims.begin(), dims.end(), [](const Dim& a, const Dim& b) {
    return std::abs(a.stride[0]) > std::abs(b.stride[0]);
  });
  absl::InlinedVector<Dim, 8> merged;
  for (const Dim& d : dims) {
    if (!merged.empty()) {
      Dim& outer = merged.back();
      bool contiguous = true;
      for (size_t k = 0; k < N; ++k) contiguous &= outer.stride[k] == d.stride[k] * d.size;
      if (contiguous) {
        outer.size *= d.size;
        outer.stride = d.stride;
        continue;
      }
    }
    merged.push_back(d);
  }
  if (merged.empty()) merged.push_back(Dim{1, {}});
  const Dim inner = merged.back();
  merged.pop_back();
  absl::InlinedVector<int64_t, 8> counter(merged.size(), 0);
  std::array<char*, N> ptrs = base;
  while (true) {
    fn(ptrs, inner.size, inner.stride);
    // Odometer increment over the outer dims, innermost of them first.
    int axis = static_cast<int>(merged.size()) - 1;
    // Pointers only ever move between elements, never past the last one.
    for (; axis >= 0; --axis) {
      const Dim& d = merged[axis];
      if (++counter[axis] < d.size) {
        for (size_t k = 0; k < N; ++k) ptrs[k] += d.stride[k];
        break;
      }
      for (size_t k = 0; k < N; ++k) ptrs[k] -= d.stride[k] * (d.size - 1);
      counter[axis] = 0;
    }
    if (axis < 0) return;
  }
}

}  // namespace ndjit
