// ndjit.Records: NumPy's structured arrays, viewed in place. A field is an
// ndjit.Array over the records' bytes (rec['vel'] reads with the record's
// stride), so expressions over fields fuse like any other.
#include <pybind11/stl.h>

#include "absl/strings/str_cat.h"
#include "convert.h"
#include "module.h"
#include "ndjit/runtime/record.h"

namespace ndjit::python {
namespace {

// NumPy's dtype for a record type, from its descr (gaps are void fields, so
// the offsets and itemsize are the same).
py::object NumpyRecordDType(const RecordType& t) {
  py::object descr = py::module_::import("ast").attr("literal_eval")(t.Descr());
  return py::module_::import("numpy").attr("dtype")(descr);
}

}  // namespace

RecordArray RecordsFromNumpy(const py::array& a) {
  const RecordTypePtr type =
      a.dtype().kind() == 'S'
          ? Check(RecordType::Bytes(a.itemsize()))
          : Check(RecordTypeFromDescr(py::repr(a.dtype().attr("descr")).cast<std::string>()));
  if (type->itemsize() != a.itemsize()) {
    throw py::type_error(absl::StrCat("ndjit reads this record dtype as ", type->itemsize(),
                                      " bytes, NumPy's is ", a.itemsize()));
  }
  const int ndim = static_cast<int>(a.ndim());
  Shape shape(ndim);
  Strides strides(ndim);
  for (int d = 0; d < ndim; ++d) {
    shape[d] = a.shape(d);
    strides[d] = a.strides(d);
  }
  const ByteRange extent = Check(ByteExtent(shape, strides, type->itemsize()));
  char* first = static_cast<char*>(const_cast<void*>(a.data()));
  BufferPtr buffer = WrapNumpyMemory(a, first + extent.begin, extent.end - extent.begin);
  return Check(RecordArray::FromBuffer(std::move(buffer), -extent.begin, type, shape, strides,
                                       a.writeable()));
}

void BindRecords(py::module_& m) {
  m.def("records", [](const py::array& a) { return RecordsFromNumpy(a); });
  py::class_<RecordArray>(m, "Records")
      .def_property_readonly("dtype",
                             [](const RecordArray& r) { return NumpyRecordDType(*r.type()); })
      .def_property_readonly("shape",
                             [](const RecordArray& r) {
                               const Dims s = r.shape();
                               return py::tuple(py::cast(std::vector<int64_t>(s.begin(), s.end())));
                             })
      .def_property_readonly("ndim", &RecordArray::ndim)
      .def_property_readonly("size", &RecordArray::size)
      .def_property_readonly("itemsize", &RecordArray::itemsize)
      .def_property_readonly("names",
                             [](const RecordArray& r) {
                               py::list names;
                               for (const RecordField& f : r.type()->fields()) names.append(f.name);
                               return py::tuple(names);
                             })
      .def("__len__",
           [](const RecordArray& r) {
             if (r.ndim() == 0) throw py::type_error("len() of unsized object");
             return r.shape()[0];
           })
      .def("__getitem__",
           [](const RecordArray& r, py::handle key) -> py::object {
             if (PyUnicode_Check(key.ptr())) {
               const std::string name = key.cast<std::string>();
               const RecordField* f = Check(r.type()->Field(name));
               if (f->format.record) return py::cast(Check(r.Records(name)));
               return py::cast(Array<>(Check(r.Field(name))));
             }
             std::optional<std::vector<IndexItem>> items = BasicIndex(key);
             if (!items.has_value()) {
               throw py::index_error(
                   "a record array takes a field name, or integers, slices, None and ... as an "
                   "index");
             }
             return py::cast(Check(r.Index(*items)));
           })
      .def("numpy",
           [](const RecordArray& r) {
             // The records' bytes viewed with NumPy's structured dtype.
             const NDArray& bytes = r.bytes();
             py::array raw = ToNumpy(bytes);
             py::object view = raw.attr("view")(NumpyRecordDType(*r.type()));
             // bytes has a trailing itemsize axis: the view folds it into one record.
             return view.attr("reshape")(
                 py::object(py::cast(std::vector<int64_t>(r.shape().begin(), r.shape().end()))));
           })
      .def(
          "__array__",
          [](py::object self, py::object dtype) {
            py::object a = self.attr("numpy")();
            return dtype.is_none() ? a : a.attr("astype")(dtype);
          },
          py::arg("dtype") = py::none())
      .def("__repr__", [](const RecordArray& r) { return RecordArrayRepr(r); });
}

}  // namespace ndjit::python
