// Writing through an advanced index (reading is AdvancedIndex, ndarray.h).
#pragma once

#include "absl/status/status.h"
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

}  // namespace ndjit
