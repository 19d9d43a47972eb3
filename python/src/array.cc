// ndjit.Array: the lazy handle, its NumPy-like attributes and operators, and
// the ways its value leaves (np.asarray, the buffer protocol, repr). The
// methods that take NumPy's arguments (sum, reshape, astype, ...) come from
// the language's builtins, attached in ndjit/__init__.py.
#include <pybind11/stl.h>

#include "absl/strings/str_cat.h"
#include "convert.h"
#include "module.h"
#include "ndjit/error.h"
#include "ndjit/runtime/dlpack.h"

namespace ndjit::python {
namespace {

using script::Value;

// The value of a handle, computed once; the GIL is released while it runs.
NDArray Computed(const Array<>& a) {
  EngineLock lock;
  if (a.node()->kind() == ir::NodeKind::kArray) return a.array();  // nothing to run
  py::gil_scoped_release unlocked;
  return a.array();
}

// An operand of an operator, or nothing when `other` is of a type the
// operator should leave to Python (NotImplemented: its reflected method).
std::optional<Value> Operand(py::handle other) {
  if (PyUnicode_Check(other.ptr()) || other.is_none() || PyDict_Check(other.ptr())) {
    return std::nullopt;
  }
  try {
    return ToValue(other, "operand");
  } catch (const py::type_error&) {
    return std::nullopt;
  }
}

template <ir::Ufunc op, bool reflected>
py::object BinaryOp(const Array<>& self, py::handle other) {
  std::optional<Value> o = Operand(other);
  if (!o.has_value()) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
  EngineLock lock;
  const Value s = Value::Arr(self);
  return FromValue(Check(
      script::ApplyUfunc(op, reflected ? std::vector<Value>{*o, s} : std::vector<Value>{s, *o})));
}

template <ir::Ufunc op>
Array<> UnaryOp(const Array<>& self) {
  EngineLock lock;
  return Check(script::ApplyUfunc(op, {Value::Arr(self)})).array;
}

py::object Scalar(const Array<>& a, const char* what) {
  if (a.size() != 1) {
    throw py::type_error(absl::StrCat("only size-1 arrays can be converted to Python scalars (",
                                      what, " of an array of size ", a.size(), ")"));
  }
  const NDArray v = Computed(a);
  return ToNumpy(v).attr("item")(0);
}

// The buffer protocol's entry point. pybind11's own is extern "C" and lets
// an exception out (std::terminate: np.asarray(a ** -1) of integers killed
// the process); this computes the value first, turning an error into the
// Python exception, and then hands over to pybind11's with the value cached.
getbufferproc g_pybind_getbuffer = nullptr;
int GetBuffer(PyObject* obj, Py_buffer* view, int flags) {
  try {
    Computed(py::cast<const Array<>&>(py::handle(obj)));
  } catch (py::error_already_set& e) {
    e.restore();
    return -1;
  } catch (const py::builtin_exception& e) {
    e.set_error();
    return -1;
  } catch (const Error& e) {
    SetPythonError(absl::Status(e.code(), e.what()));
    return -1;
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
    return -1;
  }
  return g_pybind_getbuffer(obj, view, flags);
}

}  // namespace

void BindArray(py::module_& m) {
  py::class_<Array<>> cls(m, "Array", py::buffer_protocol());
  // memoryview(x), bytes(x), and any consumer of Python's buffer protocol:
  // the computed value's memory. The handle keeps its computed value, and
  // the view keeps the handle.
  auto* type = reinterpret_cast<PyTypeObject*>(cls.ptr());
  g_pybind_getbuffer = type->tp_as_buffer->bf_getbuffer;
  type->tp_as_buffer->bf_getbuffer = GetBuffer;
  cls.def_buffer([](const Array<>& a) {
    const NDArray v = Computed(a);
    static const char* const kFormats[] = {"?", "b", "h", "i", "q", "B",  "H",
                                           "I", "Q", "e", "f", "d", "Zf", "Zd"};
    static_assert(sizeof(kFormats) / sizeof(kFormats[0]) == kNumDTypes);
    const Dims shape = v.shape(), strides = v.strides();
    return py::buffer_info(v.data(), v.itemsize(), kFormats[static_cast<int>(v.dtype())], v.ndim(),
                           std::vector<py::ssize_t>(shape.begin(), shape.end()),
                           std::vector<py::ssize_t>(strides.begin(), strides.end()),
                           !v.writeable());
  });
  cls.def(py::init([](py::handle obj) {
            EngineLock lock;
            return Check(script::ToArray(ToValue(obj, "ndjit.asarray"), "ndjit.asarray"));
          }),
          py::arg("obj"))
      .def_property_readonly("dtype", [](const Array<>& a) { return ToNumpyDType(a.dtype()); })
      .def_property_readonly("shape",
                             [](const Array<>& a) {
                               const Dims s = a.shape();
                               py::tuple t(s.size());
                               for (size_t i = 0; i < s.size(); ++i) t[i] = s[i];
                               return t;
                             })
      .def_property_readonly("ndim", &Array<>::ndim)
      .def_property_readonly("size", &Array<>::size)
      .def_property_readonly("itemsize", [](const Array<>& a) { return ItemSize(a.dtype()); })
      .def_property_readonly("nbytes",
                             [](const Array<>& a) { return a.size() * ItemSize(a.dtype()); })
      .def_property_readonly("T",
                             [](const Array<>& a) {
                               EngineLock lock;
                               return a.T();
                             })
      .def_property_readonly("strides",
                             [](const Array<>& a) {
                               const Dims s = Computed(a).strides();
                               return py::tuple(py::cast(std::vector<int64_t>(s.begin(), s.end())));
                             })
      .def(
          "eval",
          [](const Array<>& a) {
            Computed(a);
            return a;
          },
          "Computes the value now (once: it is kept) and returns the array.")
      .def(
          "numpy", [](const Array<>& a) { return ToNumpy(Computed(a)); },
          "The value as a NumPy array over the same memory (computed first).")
      .def(
          "__array__",
          [](const Array<>& a, py::object dtype) {
            py::array out = ToNumpy(Computed(a));
            if (dtype.is_none()) return out;
            return py::array(out.attr("astype")(dtype, py::arg("copy") = false));
          },
          py::arg("dtype") = py::none())
      .def_property_readonly(
          "__array_interface__",
          [](const Array<>& a) { return ToNumpy(Computed(a)).attr("__array_interface__"); })
      .def("__repr__",
           [](const Array<>& a) {
             const NDArray v = Computed(a);
             return ArrayRepr(v);
           })
      .def("__str__", [](const Array<>& a) { return py::str(ToNumpy(Computed(a))); })
      .def(
          "__dlpack__",
          // The computed value as a DLPack capsule ("dltensor"; a consumer
          // renames it "used_dltensor" and owns the tensor from then on).
          [](const Array<>& a, py::object stream) {
            if (!stream.is_none())
              throw py::buffer_error("ndjit arrays live on the CPU: stream must be None");
            const NDArray v = Computed(a);
            if (!v.writeable()) {
              throw py::buffer_error(
                  "Cannot export readonly array since signalling readonly "
                  "is unsupported by DLPack.");
            }
            DLManagedTensor* t = Check(ToDLPack(v));
            return py::capsule(t, "dltensor", [](PyObject* cap) {
              if (PyCapsule_IsValid(cap, "dltensor")) {
                auto* owned = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
                owned->deleter(owned);
              }
            });
          },
          py::arg("stream") = py::none())
      .def("__dlpack_device__", [](const Array<>&) { return py::make_tuple(int{kDLCPU}, 0); })
      .def("__len__",
           [](const Array<>& a) {
             if (a.ndim() == 0) throw py::type_error("len() of unsized object");
             return a.shape()[0];
           })
      .def("__bool__",
           [](const Array<>& a) {
             if (a.size() != 1) {
               throw py::value_error(
                   "The truth value of an array with more than one element is ambiguous. "
                   "Use a.any() or a.all()");
             }
             return Scalar(a, "bool").cast<bool>();
           })
      .def("__float__", [](const Array<>& a) { return py::float_(Scalar(a, "float")); })
      .def("__int__", [](const Array<>& a) { return py::int_(Scalar(a, "int")); })
      .def("__complex__",
           [](const Array<>& a) {
             py::object s = Scalar(a, "complex");
             return py::reinterpret_steal<py::object>(
                 PyComplex_FromCComplex(PyComplex_AsCComplex(s.ptr())));
           })
      .def(
          "__index__",
          [](const Array<>& a) {
            if (!IsInteger(a.dtype()) || a.ndim() != 0) {
              throw py::type_error("only integer scalar arrays can be converted to a scalar index");
            }
            return py::int_(Scalar(a, "index"));
          })
      .def("item", [](const Array<>& a) { return Scalar(a, "item"); })
      .def("tolist", [](const Array<>& a) { return ToNumpy(Computed(a)).attr("tolist")(); })
      .def("_basic_getitem",
           [](const Array<>& a, py::handle key) -> py::object {
             std::optional<std::vector<IndexItem>> items = BasicIndex(key);
             if (!items.has_value()) return py::none();
             EngineLock lock;
             return py::cast(a.index(*items));
           })
      .def("_select",
           // NumPy's advanced index a[key] (ndjit::index: computes its
           // operands, copies what they select), or None for keys only NumPy
           // reads.
           [](const Array<>& a, py::handle key) -> py::object {
             std::optional<std::vector<ArrayIndexItem>> items = IndexKey(key);
             if (!items.has_value()) return py::none();
             EngineLock lock;
             Array<> r;
             {
               py::gil_scoped_release unlocked;
               r = index(a, *items);
             }
             return py::cast(r);
           })
      .def("_store",
           // NumPy's a[key] = value into the computed value's memory
           // (index_assign: unsafe cast, lazy readers computed first).
           // False, having done nothing, for keys only NumPy reads.
           [](const Array<>& target, py::handle key, py::handle value) -> bool {
             std::optional<std::vector<ArrayIndexItem>> items = IndexKey(key);
             if (!items.has_value()) return false;
             EngineLock lock;
             const Array<> v = Check(script::ToArray(ToValue(value, "assignment"), "assignment"));
             py::gil_scoped_release unlocked;
             index_assign(target, *items, v);
             return true;
           })
      .def("_at",
           // NumPy's ufunc.at(a, key, value) into the computed value's memory
           // (ufunc_at: one element after another, lazy readers computed
           // first). False, having done nothing, for keys only NumPy reads.
           [](const Array<>& target, const std::string& name, py::handle key,
              py::handle value) -> bool {
             std::optional<std::vector<ArrayIndexItem>> items = IndexKey(key);
             if (!items.has_value()) return false;
             EngineLock lock;
             const ir::Ufunc op = Check(ir::UfuncFromName(name));
             std::optional<Array<>> v;
             if (!value.is_none()) {  // a Python number is weak beside the target
               v = Check(script::Operands({Value::Arr(target), ToValue(value, "ufunc.at")},
                                          "ufunc.at"))[1];
             }
             py::gil_scoped_release unlocked;
             ufunc_at(op, target, *items, v);
             return true;
           })
      .def("__add__", BinaryOp<ir::Ufunc::kAdd, false>)
      .def("__radd__", BinaryOp<ir::Ufunc::kAdd, true>)
      .def("__sub__", BinaryOp<ir::Ufunc::kSubtract, false>)
      .def("__rsub__", BinaryOp<ir::Ufunc::kSubtract, true>)
      .def("__mul__", BinaryOp<ir::Ufunc::kMultiply, false>)
      .def("__rmul__", BinaryOp<ir::Ufunc::kMultiply, true>)
      .def("__truediv__", BinaryOp<ir::Ufunc::kTrueDivide, false>)
      .def("__rtruediv__", BinaryOp<ir::Ufunc::kTrueDivide, true>)
      .def("__floordiv__", BinaryOp<ir::Ufunc::kFloorDivide, false>)
      .def("__rfloordiv__", BinaryOp<ir::Ufunc::kFloorDivide, true>)
      .def("__mod__", BinaryOp<ir::Ufunc::kRemainder, false>)
      .def("__rmod__", BinaryOp<ir::Ufunc::kRemainder, true>)
      .def("__pow__", BinaryOp<ir::Ufunc::kPower, false>)
      .def("__rpow__", BinaryOp<ir::Ufunc::kPower, true>)
      .def("__and__", BinaryOp<ir::Ufunc::kBitwiseAnd, false>)
      .def("__rand__", BinaryOp<ir::Ufunc::kBitwiseAnd, true>)
      .def("__or__", BinaryOp<ir::Ufunc::kBitwiseOr, false>)
      .def("__ror__", BinaryOp<ir::Ufunc::kBitwiseOr, true>)
      .def("__xor__", BinaryOp<ir::Ufunc::kBitwiseXor, false>)
      .def("__rxor__", BinaryOp<ir::Ufunc::kBitwiseXor, true>)
      .def("__lshift__", BinaryOp<ir::Ufunc::kLeftShift, false>)
      .def("__rlshift__", BinaryOp<ir::Ufunc::kLeftShift, true>)
      .def("__rshift__", BinaryOp<ir::Ufunc::kRightShift, false>)
      .def("__rrshift__", BinaryOp<ir::Ufunc::kRightShift, true>)
      .def("__eq__", BinaryOp<ir::Ufunc::kEqual, false>)
      .def("__ne__", BinaryOp<ir::Ufunc::kNotEqual, false>)
      .def("__lt__", BinaryOp<ir::Ufunc::kLess, false>)
      .def("__le__", BinaryOp<ir::Ufunc::kLessEqual, false>)
      .def("__gt__", BinaryOp<ir::Ufunc::kGreater, false>)
      .def("__ge__", BinaryOp<ir::Ufunc::kGreaterEqual, false>)
      .def("__neg__", UnaryOp<ir::Ufunc::kNegative>)
      .def("__pos__", UnaryOp<ir::Ufunc::kPositive>)
      .def("__abs__", UnaryOp<ir::Ufunc::kAbsolute>)
      .def("__invert__", UnaryOp<ir::Ufunc::kInvert>);
  // Arrays compare elementwise, so they cannot be dict keys (as NumPy's).
  cls.attr("__hash__") = py::none();
}

}  // namespace ndjit::python
