// Writing through an advanced index (reading is AdvancedIndex, ndarray.h).
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ndjit/runtime/ndarray.h"

namespace ndjit {

// NumPy's a[items] = value: `value` cast to a's dtype (unsafe, as NumPy's
// setitem) and broadcast to the shape a[items] would have, then stored into
// the elements the index selects, in index order (a repeated index keeps
// the last value). Every index is checked before anything is written, so
// an error (an index out of range, a mask of the wrong shape, a value that
// does not broadcast, a read-only `a`) leaves `a` as it was.
absl::Status AdvancedAssign(const NDArray& a, absl::Span<const AdvancedItem> items,
                            const NDArray& value);

// The elements a[items] selects, as byte offsets from a.data(), in C order
// of the selection's shape `shape` (a repeated index repeats its offsets):
// where NumPy's ufunc.at applies its op, one element after another. Every
// index is checked here, before anything is read or written.
struct SelectedElements {
  Shape shape;
  std::vector<int64_t> offsets;
};
absl::StatusOr<SelectedElements> SelectElements(const NDArray& a,
                                                absl::Span<const AdvancedItem> items);

}  // namespace ndjit
