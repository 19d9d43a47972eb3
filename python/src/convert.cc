#include "convert.h"

#include <Python.h>

#include <atomic>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ndjit/error.h"

namespace ndjit::python {
namespace {

std::recursive_mutex& EngineMutex() {
  static std::recursive_mutex* mu = new std::recursive_mutex;  // outlives exit
  return *mu;
}

// References to NumPy arrays whose last ndjit view went away on a thread
// without the GIL (a pool worker, or an evaluation that released it). They
// are dropped later by the interpreter's main thread: taking the GIL here
// could deadlock against a thread that holds it and waits for the engine.
std::mutex pending_mu;
std::vector<PyObject*>* pending = new std::vector<PyObject*>;  // outlives exit
std::atomic<bool> drain_scheduled{false};

int DrainPending(void*) {
  std::vector<PyObject*> drop;
  {
    std::lock_guard<std::mutex> lock(pending_mu);
    drop.swap(*pending);
    drain_scheduled.store(false);
  }
  for (PyObject* o : drop) Py_DECREF(o);
  return 0;
}

void Release(PyObject* owner) {
  // After the interpreter is gone (static destructors at exit) there is no
  // one to tell: the memory goes with the process.
  if (!Py_IsInitialized() || _Py_IsFinalizing()) return;
  if (PyGILState_Check()) {
    Py_DECREF(owner);
    return;
  }
  std::lock_guard<std::mutex> lock(pending_mu);
  pending->push_back(owner);
  if (!drain_scheduled.exchange(true)) Py_AddPendingCall(DrainPending, nullptr);
}

bool Contains(const std::string& text, std::initializer_list<const char*> parts) {
  for (const char* p : parts) {
    if (absl::StrContains(text, p)) return true;
  }
  return false;
}

}  // namespace

EngineLock::EngineLock() {
  if (EngineMutex().try_lock()) return;
  py::gil_scoped_release unlocked;
  EngineMutex().lock();
}
EngineLock::~EngineLock() { EngineMutex().unlock(); }

void Raise(const absl::Status& status) {
  const std::string text(status.message());
  // NumPy's AxisError is both an IndexError and a ValueError: by its text,
  // whichever code the status carries.
  if (absl::StrContains(text, "is out of bounds for array of dimension") ||
      absl::StartsWith(text, "duplicate value in 'axis'")) {
    py::object axis_error = py::module_::import("numpy").attr("AxisError");
    PyErr_SetObject(axis_error.ptr(), py::str(text).ptr());
    throw py::error_already_set();
  }
  switch (status.code()) {
    case absl::StatusCode::kCancelled:
      PyErr_SetNone(PyExc_KeyboardInterrupt);
      throw py::error_already_set();
    case absl::StatusCode::kResourceExhausted:
      PyErr_SetString(PyExc_MemoryError, text.c_str());
      throw py::error_already_set();
    case absl::StatusCode::kOutOfRange:
      throw py::index_error(text);
    default:
      break;
  }
  // The language's parser marks syntax errors with the column.
  if (absl::StrContains(text, " (column ")) {
    PyErr_SetString(PyExc_SyntaxError, text.c_str());
    throw py::error_already_set();
  }
  if (Contains(text, {"out of bounds for axis", "only integers, slices", "too many indices",
                      "index out of range"})) {
    throw py::index_error(text);
  }
  if (Contains(text,
               {"unexpected keyword argument", "positional argument", "missing required",
                "takes no keyword", "must be an integer, not", "must be a number, not",
                "not supported for the input types", "Cannot cast", "cannot cast",
                "data type not understood", "is not callable", "is not subscriptable",
                "unsupported operand", "multiple values for argument", "arguments, traced with",
                "expected an array or a number, not", "did not contain a loop with signature",
                "takes two bytes operands", "unicode strings"})) {
    throw py::type_error(text);
  }
  throw py::value_error(text);
}

void SetPythonError(const absl::Status& status) {
  try {
    Raise(status);
  } catch (py::error_already_set& set) {
    set.restore();
  } catch (const py::builtin_exception& b) {
    b.set_error();
  }
}

std::optional<DType> FromNumpyDType(const py::dtype& d) {
  const auto* proxy = py::detail::array_descriptor_proxy(d.ptr());
  // '=' native, '|' not applicable; '<' is native on the hosts ndjit targets.
  if (proxy->byteorder == '>' || proxy->names != nullptr || proxy->subarray != nullptr) {
    return std::nullopt;
  }
  const char kind = proxy->kind;
  const int size = proxy->elsize;
#define NDJIT_X(e, T, name, k, itemsize, descr) \
  if (kind == k && size == itemsize) return DType::e;
  NDJIT_DTYPES(NDJIT_X)
#undef NDJIT_X
  return std::nullopt;
}

py::dtype ToNumpyDType(DType t) {
  static std::vector<py::object>* cache = [] {
    auto* c = new std::vector<py::object>;  // outlives exit, as the interpreter's types do
    for (int i = 0; i < kNumDTypes; ++i) {
      c->push_back(py::dtype(std::string(Name(static_cast<DType>(i)))));
    }
    return c;
  }();
  return py::reinterpret_borrow<py::dtype>((*cache)[static_cast<int>(t)]);
}

BufferPtr WrapNumpyMemory(const py::array& a, char* begin, int64_t size) {
  PyObject* owner = a.ptr();
  Py_INCREF(owner);
  return Buffer::WrapExternal(begin, size, [owner](void*, int64_t) { Release(owner); });
}

NDArray FromNumpy(const py::array& a) {
  // NumPy's struct read directly: this runs for every argument of every
  // replayed call.
  const auto* p = py::detail::array_proxy(a.ptr());
  const std::optional<DType> dtype = FromNumpyDType(py::reinterpret_borrow<py::dtype>(p->descr));
  if (!dtype.has_value()) {
    throw py::type_error(absl::StrCat("ndjit has no dtype for numpy's ",
                                      py::str(a.dtype().attr("str")).cast<std::string>(),
                                      " (native numeric and bool dtypes only)"));
  }
  const int ndim = p->nd;
  Shape shape(p->dimensions, p->dimensions + ndim);
  Strides strides(p->strides, p->strides + ndim);
  const ByteRange extent = Check(ByteExtent(shape, strides, ItemSize(*dtype)));
  BufferPtr buffer = WrapNumpyMemory(a, p->data + extent.begin, extent.end - extent.begin);
  const bool writeable = (p->flags & py::detail::npy_api::NPY_ARRAY_WRITEABLE_) != 0;
  return Check(
      NDArray::FromBuffer(std::move(buffer), -extent.begin, *dtype, shape, strides, writeable));
}

py::array ToNumpy(const NDArray& a) {
  // NumPy's constructor directly: no copies of the shape and strides (the
  // replay of a traced function spends a good part of its time here).
  auto& api = py::detail::npy_api::get();
  const Dims shape = a.shape(), strides = a.strides();
  static_assert(sizeof(Py_intptr_t) == sizeof(int64_t));
  const int flags = a.writeable() ? py::detail::npy_api::NPY_ARRAY_WRITEABLE_ : 0;
  py::object out = py::reinterpret_steal<py::object>(api.PyArray_NewFromDescr_(
      api.PyArray_Type_, ToNumpyDType(a.dtype()).release().ptr(), a.ndim(),
      reinterpret_cast<const Py_intptr_t*>(shape.data()),
      reinterpret_cast<const Py_intptr_t*>(strides.data()), a.data(), flags, nullptr));
  if (!out) throw py::error_already_set();
  // The array's base keeps the buffer: a copy of the handle to it.
  py::capsule base(new NDArray(a), [](void* p) { delete static_cast<NDArray*>(p); });
  if (api.PyArray_SetBaseObject_(out.ptr(), base.release().ptr()) != 0) {
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::array>(out.release());
}

namespace {

// Whether `add` took every item of `key` (a tuple's, or the key itself).
template <typename Add>
bool EachItem(py::handle key, Add add) {
  if (!PyTuple_Check(key.ptr())) return add(key);
  for (py::handle k : key) {
    if (!add(k)) return false;
  }
  return true;
}

}  // namespace

// Basic indexing (ints, slices, None, ...), or nothing for advanced indexes
// (arrays, lists, booleans), which the Python layer hands to NumPy.
std::optional<std::vector<IndexItem>> BasicIndex(py::handle key) {
  std::vector<IndexItem> items;
  auto add = [&items](py::handle k) -> bool {
    if (k.is_none()) {
      items.push_back(NewAxis{});
    } else if (k.ptr() == Py_Ellipsis) {
      items.push_back(Ellipsis{});
    } else if (PySlice_Check(k.ptr())) {
      Slice s;
      auto part = [](py::handle p) -> std::optional<int64_t> {
        if (p.is_none()) return std::nullopt;
        return py::reinterpret_steal<py::object>(PyNumber_Index(p.ptr())).cast<int64_t>();
      };
      s.start = part(k.attr("start"));
      s.stop = part(k.attr("stop"));
      s.step = part(k.attr("step"));
      items.push_back(s);
    } else if (!PyBool_Check(k.ptr()) && PyIndex_Check(k.ptr()) && !py::isinstance<py::array>(k) &&
               !py::isinstance<Array<>>(k)) {
      items.push_back(py::reinterpret_steal<py::object>(PyNumber_Index(k.ptr())).cast<int64_t>());
    } else {
      return false;
    }
    return true;
  };
  if (!EachItem(key, add)) return std::nullopt;
  return items;
}

std::optional<std::vector<ArrayIndexItem>> IndexKey(py::handle key) {
  if (std::optional<std::vector<IndexItem>> basic = BasicIndex(key)) {
    return std::vector<ArrayIndexItem>(basic->begin(), basic->end());
  }
  std::vector<ArrayIndexItem> items;
  auto add = [&items](py::handle k) -> bool {
    if (std::optional<std::vector<IndexItem>> one = BasicIndex(k)) {
      if (one->size() != 1) return false;
      items.push_back((*one)[0]);
      return true;
    }
    if (py::isinstance<Array<>>(k)) {
      items.push_back(k.cast<Array<>>());
      return true;
    }
    if (!py::isinstance<py::array>(k) && !PyList_Check(k.ptr())) return false;
    try {  // a list ndjit cannot read (of slices, of objects) is NumPy's to read
      absl::StatusOr<Array<>> a = script::ToArray(ToValue(k, "index"), "index");
      if (!a.ok() || (a->dtype() != DType::kBool && !IsInteger(a->dtype()))) return false;
      items.push_back(*std::move(a));
    } catch (const std::exception&) {
      return false;
    }
    return true;
  };
  if (!EachItem(key, add)) return std::nullopt;
  return items;
}

script::Value ToValue(py::handle h, const char* what) {
  using script::Value;
  if (h.is_none()) return Value();
  if (PyBool_Check(h.ptr())) return Value::Bool(h.ptr() == Py_True);
  // Python's own numbers are weak; NumPy's scalars (np.float64 subclasses
  // float) are strong 0-d arrays, below.
  if (PyLong_Check(h.ptr())) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(h.ptr(), &overflow);
    if (overflow != 0) {
      throw py::type_error(absl::StrCat("Python integer ", py::str(h).cast<std::string>(),
                                        " out of bounds for int64 in ", what));
    }
    return Value::Int(v);
  }
  if (PyFloat_CheckExact(h.ptr())) return Value::Float(PyFloat_AS_DOUBLE(h.ptr()));
  if (PyComplex_CheckExact(h.ptr())) {
    return Value::Complex({PyComplex_RealAsDouble(h.ptr()), PyComplex_ImagAsDouble(h.ptr())});
  }
  if (py::isinstance<Array<>>(h)) return Value::Arr(h.cast<const Array<>&>());
  if (py::isinstance<py::array>(h)) {
    const py::array a = py::reinterpret_borrow<py::array>(h);
    if (py::detail::array_descriptor_proxy(a.dtype().ptr())->names != nullptr ||
        a.dtype().kind() == 'S') {
      return Value::Records(RecordsFromNumpy(a));
    }
    if (a.dtype().kind() == 'U') {
      throw py::type_error(absl::StrCat(what, ": unicode strings (dtype ",
                                        py::repr(a.dtype()).cast<std::string>(),
                                        ") are not supported; bytes strings ('S') are"));
    }
    return Value::Arr(Array<>(FromNumpy(a)));
  }
  if (py::isinstance<RecordArray>(h)) return Value::Records(h.cast<const RecordArray&>());
  if (PyUnicode_Check(h.ptr())) return Value::Str(h.cast<std::string>());
  if (PyBytes_Check(h.ptr())) {  // np.bytes_ too
    return Value::Bytes(std::string(PyBytes_AS_STRING(h.ptr()), PyBytes_GET_SIZE(h.ptr())));
  }
  if (PyTuple_Check(h.ptr()) || PyList_Check(h.ptr())) {
    Value v;
    v.kind = PyTuple_Check(h.ptr()) ? Value::kTuple : Value::kList;
    for (py::handle item : h) v.items.push_back(ToValue(item, what));
    return v;
  }
  if (py::isinstance<Opaque>(h)) return h.cast<const Opaque&>().value;
  py::module_ np = py::module_::import("numpy");
  if (py::isinstance(h, np.attr("dtype")) || PyType_Check(h.ptr())) {
    py::dtype d = py::dtype::from_args(py::reinterpret_borrow<py::object>(h));
    if (std::optional<DType> t = FromNumpyDType(d)) return Value::DTypeOf(*t);
    throw py::type_error(absl::StrCat("ndjit has no dtype for ", py::str(h).cast<std::string>()));
  }
  // NumPy scalars (strong, NEP 50), buffers, __array__ and __dlpack__
  // producers: whatever NumPy views as an array, viewed the same way.
  if (py::isinstance(h, np.attr("generic")) || py::hasattr(h, "__array__") ||
      py::hasattr(h, "__array_interface__") || PyObject_CheckBuffer(h.ptr())) {
    py::array a = np.attr("asarray")(h);
    return Value::Arr(Array<>(FromNumpy(a)));
  }
  if (py::hasattr(h, "__dlpack__")) {
    py::array a = np.attr("from_dlpack")(h);
    return Value::Arr(Array<>(FromNumpy(a)));
  }
  throw py::type_error(absl::StrCat(what, ": cannot use an object of type '",
                                    py::str(py::type::of(h).attr("__name__")).cast<std::string>(),
                                    "' as an array"));
}

py::object FromValue(const script::Value& v) {
  using script::Value;
  switch (v.kind) {
    case Value::kNone:
      return py::none();
    case Value::kArray:
      return py::cast(v.array);
    case Value::kInt:
      return py::int_(v.i);
    case Value::kFloat:
      return py::float_(v.f);
    case Value::kBool:
      return py::bool_(v.i != 0);
    case Value::kComplex:
      return py::reinterpret_steal<py::object>(PyComplex_FromDoubles(v.c.real(), v.c.imag()));
    case Value::kString:
      return py::str(v.s);
    case Value::kTuple:
    case Value::kList: {
      py::list items;
      for (const Value& item : v.items) items.append(FromValue(item));
      if (v.kind == Value::kList) return items;
      return py::tuple(items);
    }
    case Value::kDType:
      if (v.record == nullptr) return ToNumpyDType(v.dtype);
      break;
    case Value::kRecords:
      // Bytes are NumPy's own 'S<n>' arrays (a view); records ndjit.Records.
      if (v.records.type()->is_bytes()) return py::cast(v.records).attr("numpy")();
      return py::cast(v.records);
    case Value::kBytes:
      return py::module_::import("numpy").attr("bytes_")(py::bytes(v.s));
    default:
      break;
  }
  return py::cast(Opaque{v});
}

}  // namespace ndjit::python
