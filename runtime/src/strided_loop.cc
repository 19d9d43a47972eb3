#include "ndjit/runtime/strided_loop.h"

namespace ndjit {

CoalescedDims CoalesceDims(Dims shape, absl::Span<const Dims> strides) {
  const size_t n = strides.size();
  struct Dim {
    int64_t size;
    absl::InlinedVector<int64_t, 4> stride;
  };
  CoalescedDims out;
  out.strides.resize(n);
  absl::InlinedVector<Dim, 8> dims;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) out.empty = true;
    if (shape[i] <= 1) continue;
    Dim d{shape[i], {}};
    for (size_t k = 0; k < n; ++k) d.stride.push_back(strides[k][i]);
    dims.push_back(std::move(d));
  }
  if (out.empty) return out;
  std::stable_sort(dims.begin(), dims.end(), [](const Dim& a, const Dim& b) {
    return std::abs(a.stride[0]) > std::abs(b.stride[0]);
  });
  absl::InlinedVector<Dim, 8> merged;
  for (Dim& d : dims) {
    if (!merged.empty()) {
      Dim& outer = merged.back();
      bool contiguous = true;
      for (size_t k = 0; k < n; ++k) contiguous &= outer.stride[k] == d.stride[k] * d.size;
      if (contiguous) {
        outer.size *= d.size;
        outer.stride = d.stride;
        continue;
      }
    }
    merged.push_back(std::move(d));
  }
  for (const Dim& d : merged) {
    out.sizes.push_back(d.size);
    for (size_t k = 0; k < n; ++k) out.strides[k].push_back(d.stride[k]);
  }
  return out;
}

}  // namespace ndjit
