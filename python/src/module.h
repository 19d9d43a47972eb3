// Internal to the Python module: the parts each file binds.
#pragma once

#include <pybind11/pybind11.h>

namespace ndjit::python {

// ndjit.Array (array.cc).
void BindArray(pybind11::module_& m);
// ndjit.Records (records.cc).
void BindRecords(pybind11::module_& m);
// ndjit.jit's functions and evaluate's expressions (traced.cc).
void BindTraced(pybind11::module_& m);
// Pickling lazy values as their graphs (pickle.cc).
void BindPickle(pybind11::module_& m);

}  // namespace ndjit::python
