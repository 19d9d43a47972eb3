// The `_ndjit` extension module: the engine's entry points for the `ndjit`
// package (python/ndjit/__init__.py), which adds NumPy's protocols on top.
#include <pybind11/stl.h>

#include "absl/strings/str_cat.h"
#include "convert.h"
#include "module.h"
#include "ndjit/codegen/profile.h"
#include "ndjit/error.h"
#include "ndjit/runtime/thread_pool.h"
#include "ndjit/script.h"
#include "signatures.h"

namespace ndjit::python {
namespace {

using script::Value;

script::Args ToArgs(const py::tuple& args, const py::dict& kwargs, const char* what) {
  script::Args a;
  for (py::handle h : args) a.pos.push_back(ToValue(h, what));
  for (auto [k, v] : kwargs) a.kw[k.cast<std::string>()] = ToValue(v, what);
  return a;
}

// Builtin `name` of the language on Python arguments. Unless `strict`, a
// call the builtin's signature does not accept, or with an argument it
// cannot take, returns NotImplemented (the caller then asks NumPy).
py::object Call(const std::string& name, const py::tuple& args, const py::dict& kwargs,
                bool strict) {
  if (!script::IsBuiltin(name)) {
    if (!strict) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    throw py::attribute_error(absl::StrCat("module 'ndjit' has no function '", name, "'"));
  }
  EngineLock lock;
  script::Args a;
  try {
    a = ToArgs(args, kwargs, name.c_str());
  } catch (const py::type_error&) {
    if (strict) throw;
    return py::reinterpret_borrow<py::object>(Py_NotImplemented);
  }
  if (!strict) {
    const script::Signature* sig = script::FindSignature(name);
    if (sig != nullptr && !sig->Check(a).ok()) {
      return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    }
  }
  absl::StatusOr<Value> v;
  {
    py::gil_scoped_release unlocked;
    v = script::CallBuiltin(name, std::move(a));
  }
  return FromValue(Check(std::move(v)));
}

script::Session& ExplorerSession() {
  static script::Session* s = new script::Session;  // outlives exit
  return *s;
}

}  // namespace

PYBIND11_MODULE(_ndjit, m) {
  m.doc() = "ndjit's engine (use the ndjit package)";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      SetPythonError(absl::Status(e.code(), e.what()));
    }
  });
  BindArray(m);
  BindRecords(m);
  BindPickle(m);
  py::class_<Opaque>(m, "_Opaque").def("__repr__", [](const Opaque& o) {
    return script::Repr(o.value);
  });
  m.def("call", &Call, py::arg("name"), py::arg("args"), py::arg("kwargs"),
        py::arg("strict") = true);
  m.def("builtin_names", &script::BuiltinNames);
  m.def("is_method", &script::IsMethod);
  m.def("signature", [](const std::string& name) -> py::object {
    const script::Signature* s = script::FindSignature(name);
    if (s == nullptr) return py::none();
    return py::str(s->ToString());
  });
  m.def("evaluate_all", [](const py::args& xs) {
    std::vector<Array<>> arrays;
    for (py::handle h : xs) arrays.push_back(h.cast<Array<>>());
    std::vector<const Array<>*> ptrs;
    for (const Array<>& a : arrays) ptrs.push_back(&a);
    EngineLock lock;
    py::gil_scoped_release unlocked;
    EvaluateAll(ptrs);
  });
  m.def("names", [](const std::string& expr) { return Check(script::Session::Names(expr)); });
  BindTraced(m);
  m.def("explain", [](const Array<>& x, const std::string& stage) {
    EngineLock lock;
    py::gil_scoped_release unlocked;
    return Check(ExplorerSession().Explain(":" + stage, x));
  });
  m.def("set_num_threads", &SetNumThreads, py::arg("n"));
  m.def("get_num_threads", &GetNumThreads);
  m.def("set_cache_block_bytes", &SetCacheBlockBytes, py::arg("n"));
  m.def("get_cache_block_bytes", &CacheBlockBytes);
  m.def("set_stream_chunk_bytes", &SetStreamChunkBytes, py::arg("n"));
  m.def("get_stream_chunk_bytes", &StreamChunkBytes);
  m.def("set_profiling", &codegen::SetProfiling);
  m.def("reset_profile", &codegen::ResetProfile);
  m.def("profile_report", [] { return codegen::ProfileReport(); });
}

}  // namespace ndjit::python
