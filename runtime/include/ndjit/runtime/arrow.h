// Arrays in and out through the Arrow C Data Interface, the ABI that Arrow
// libraries in every language (pyarrow, arrow-rs, DuckDB, Polars) exchange
// columns through, with no Arrow library needed on either side.
//
// Export makes Arrow arrays of NDArrays without copying where Arrow's layout
// is the array's: 1-D contiguous arrays become primitive arrays; n-D arrays
// become `arrow.fixed_shape_tensor` extension arrays (one tensor of shape
// a.shape[1:] per row, over a fixed_size_list); record arrays become struct
// arrays of their fields. Import wraps an Arrow primitive array (or a
// fixed_size_list / fixed_shape_tensor of one) as an NDArray that reads the
// producer's memory in place and releases it when the last view goes.
//
// Ownership follows the specification exactly: a struct whose `release` is
// non-null owns its data; its consumer calls `release` once (from any
// thread), which releases its children too; moving a struct means copying
// it and setting the source's `release` to null.
#pragma once

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ndjit/runtime/ndarray.h"
#include "ndjit/runtime/record.h"

// The two ABI structs, as the C Data Interface specification defines them;
// its guard macro lets a program include Arrow's own header as well.
#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

extern "C" {
struct ArrowSchema {
  const char* format;
  const char* name;
  const char* metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema** children;
  struct ArrowSchema* dictionary;
  void (*release)(struct ArrowSchema*);
  void* private_data;
};

struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void** buffers;
  struct ArrowArray** children;
  struct ArrowArray* dictionary;
  void (*release)(struct ArrowArray*);
  void* private_data;
};
}  // extern "C"

#endif  // ARROW_C_DATA_INTERFACE

namespace ndjit {

// Fills *schema and *array (which the caller then owns and must release) with
// `a`: primitive for 1-D, fixed_shape_tensor for n-D. The array's buffer is
// shared, not copied, when `a` is C-contiguous; other layouts are copied
// once into C order. bool arrays are copied into Arrow's bit-packed form.
// complex dtypes and 0-d arrays have no Arrow form: an error, with the
// structs left untouched.
absl::Status ExportArrow(const NDArray& a, ArrowSchema* schema, ArrowArray* array);
// A 1-D record array as a struct array: one child per field, named after it
// (sub-array fields are fixed_shape_tensor children, nested records struct
// children). Fields are strided within the records, so each is copied once
// into a contiguous child.
absl::Status ExportArrow(const RecordArray& a, ArrowSchema* schema, ArrowArray* array);

struct ArrowImportOptions {
  // ndjit has no missing values: an Arrow array with nulls is an error,
  // unless this is set, when the values are copied and each null becomes
  // this value (cast to the dtype, e.g. NaN for floats).
  std::optional<double> fill_nulls;
};

// Takes *array (moved: its `release` is null afterwards) and *schema
// (released before returning), on success and on error alike, as
// arrow::ImportArray does. The result is read-only and shares the producer's
// memory when the values are aligned to their item size and need no
// conversion (booleans are unpacked from bits into a copy). Formats without
// an ndjit dtype (strings, dates, decimals, dictionaries, ...) are errors
// that name the format.
absl::StatusOr<NDArray> ImportArrow(ArrowSchema* schema, ArrowArray* array,
                                    const ArrowImportOptions& options = {});

}  // namespace ndjit
