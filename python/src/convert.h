// Internal to the Python module: NumPy arrays in and out without copying,
// Python values to the language's values and back, the engine lock, and
// errors as the exceptions NumPy raises.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <mutex>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ndjit/array.h"
#include "ndjit/runtime/record.h"
#include "value.h"

namespace ndjit::python {

namespace py = pybind11;

// One Python thread at a time builds or evaluates (ndjit's handles are not
// shared-state safe); the thread pool makes each evaluation parallel. Taken
// after the GIL is released, or with it held only while uncontended, so a
// thread waiting here never holds the GIL and a traced Python function can
// run (and build graphs: the lock is recursive) while its trace holds it.
class EngineLock {
 public:
  EngineLock();
  ~EngineLock();
  EngineLock(const EngineLock&) = delete;
  EngineLock& operator=(const EngineLock&) = delete;
};

// Raises the Python exception NumPy raises for the same mistake: ValueError
// (broadcasting, values), numpy.AxisError, IndexError, TypeError (argument
// and dtype errors), MemoryError, KeyboardInterrupt (Ctrl-C while running).
[[noreturn]] void Raise(const absl::Status& status);
// The same as the interpreter's pending error, for code that returns to
// Python without pybind11's translation (the exception translator, the
// vectorcall entry of jitted functions).
void SetPythonError(const absl::Status& status);
template <typename T>
T Check(absl::StatusOr<T> v) {
  if (!v.ok()) Raise(v.status());
  return *std::move(v);
}

// The ndjit dtype of a NumPy dtype, if ndjit has it (native byte order).
std::optional<DType> FromNumpyDType(const py::dtype& d);
py::dtype ToNumpyDType(DType t);

// A view of `a`'s memory, which stays alive (and referenced) while any
// ndjit value reads it: negative and arbitrary strides, read-only flags and
// zero sizes kept. Byte-swapped and object dtypes are TypeErrors.
NDArray FromNumpy(const py::array& a);
// A buffer over [begin, begin + size) of `a`'s memory that holds a
// reference to `a` until the last ndjit view goes.
BufferPtr WrapNumpyMemory(const py::array& a, char* begin, int64_t size);
// A structured array's records, or a bytes array's items ('S<n>'), viewed
// in place (records.cc).
RecordArray RecordsFromNumpy(const py::array& a);
// A NumPy array over `a`'s buffer (shared, not copied), read-only when `a` is.
py::array ToNumpy(const NDArray& a);

// A Python index as basic items (ints, slices, None, ...), or nothing for an
// advanced index (arrays, lists, booleans), which the caller routes elsewhere.
std::optional<std::vector<IndexItem>> BasicIndex(py::handle key);
// The same with integer and boolean arrays (ndjit or NumPy arrays, lists of
// numbers) as items: NumPy's advanced index. Nothing for keys only NumPy
// reads (a bare bool, nested sequences of slices, ...).
std::optional<std::vector<ArrayIndexItem>> IndexKey(py::handle key);

// Python values as the language's: numbers (weak beside arrays), None,
// strings, tuples and lists, ndjit arrays, NumPy arrays and scalars (strong
// 0-d arrays), dtypes and types (np.float32, float), anything NumPy can view
// as an array; the opaque values the module hands out (generators). Others
// are TypeErrors naming `what`.
script::Value ToValue(py::handle h, const char* what);
py::object FromValue(const script::Value& v);

// A language value Python has no type for (a random generator): passed back
// as it came.
struct Opaque {
  script::Value value;
};

}  // namespace ndjit::python
