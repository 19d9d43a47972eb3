// The `_ndjit` extension module: the engine's entry points for the `ndjit`
// package (python/ndjit/__init__.py), which adds NumPy's protocols on top.
#include <pybind11/stl.h>

#include "absl/strings/str_cat.h"
#include "convert.h"
#include "module.h"
#include "ndjit/codegen/profile.h"
#include "ndjit/error.h"
#include "ndjit/function.h"
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

std::vector<NDArray> Arrays(const py::sequence& xs, const char* what) {
  std::vector<NDArray> out;
  out.reserve(xs.size());
  for (py::handle h : xs) {
    if (py::isinstance<py::array>(h)) {
      out.push_back(FromNumpy(py::reinterpret_borrow<py::array>(h)));
      continue;
    }
    const Value v = ToValue(h, what);
    out.push_back(Check(script::ToArray(v, what)).array());
  }
  return out;
}

py::list Numpys(const std::vector<NDArray>& rs) {
  py::list out(rs.size());
  for (size_t i = 0; i < rs.size(); ++i) out[i] = ToNumpy(rs[i]);
  return out;
}

// A Python exception raised inside a traced function, carried across the
// engine (which sees an ndjit::Error) and raised again as itself.
thread_local std::optional<py::error_already_set> pending_python_error;

// Below this many bytes of arguments a call keeps the GIL: releasing and
// taking it back costs more than other threads would gain.
constexpr int64_t kReleaseGilBytes = 256 << 10;

std::vector<NDArray> RunFunction(const Function& f, const std::vector<NDArray>& args) {
  int64_t bytes = 0;
  for (const NDArray& a : args) bytes += a.nbytes();
  try {
    if (bytes < kReleaseGilBytes) return f(args);
    py::gil_scoped_release unlocked;
    return f(args);
  } catch (const Error&) {
    if (pending_python_error.has_value()) {
      py::error_already_set e = std::move(*pending_python_error);
      pending_python_error.reset();
      throw e;
    }
    throw;
  }
}

// numexpr's evaluate: an expression of named arrays, traced on its first
// call per set of argument layouts. Numbers it reads are fixed in it.
class Expression {
 public:
  Expression(const std::string& text, std::vector<std::string> params, const py::dict& numbers) {
    EngineLock lock;
    for (auto [k, v] : numbers) {
      const std::string name = k.cast<std::string>();
      const Value n = ToValue(v, "evaluate");
      if (n.kind == Value::kInt) session_.Set(name, n.i);
      if (n.kind == Value::kFloat) session_.Set(name, n.f);
      if (n.kind == Value::kBool) session_.Set(name, n.i != 0);
      if (n.kind == Value::kComplex) session_.Set(name, n.c);
    }
    fn_ = Check(session_.Trace(text, std::move(params)));
  }
  py::object operator()(const py::sequence& args) {
    EngineLock lock;
    const std::vector<NDArray> in = Arrays(args, "evaluate");
    const std::vector<NDArray> out = RunFunction(*fn_, in);
    if (out.size() == 1) return ToNumpy(out[0]);
    return py::tuple(Numpys(out));
  }
  int traces() const { return fn_->traces(); }

 private:
  script::Session session_;
  std::shared_ptr<const Function> fn_;
};

// ndjit.jit's engine: a Python function of arrays, traced into Programs.
class Traced {
 public:
  explicit Traced(py::function f)
      : fn_(std::make_shared<Function>([f](const std::vector<Array<>>& xs) {
          py::gil_scoped_acquire gil;
          try {
            py::tuple args(xs.size());
            for (size_t i = 0; i < xs.size(); ++i) args[i] = py::cast(xs[i]);
            py::object r = f(*args);
            std::vector<Array<>> out;
            const bool many = PyTuple_Check(r.ptr()) || PyList_Check(r.ptr());
            for (py::handle h :
                 many ? py::reinterpret_borrow<py::sequence>(r) : py::sequence(py::make_tuple(r))) {
              out.push_back(Check(script::ToArray(ToValue(h, "jit"), "jit")));
            }
            return out;
          } catch (py::error_already_set& e) {
            const std::string text = e.what();
            pending_python_error = std::move(e);
            throw Error(absl::InvalidArgumentError(text));
          }
        })) {}
  py::object operator()(const py::args& args) {
    EngineLock lock;
    const std::vector<NDArray> out = RunFunction(*fn_, Arrays(args, "jit"));
    if (out.size() == 1) return ToNumpy(out[0]);
    return py::tuple(Numpys(out));
  }
  int traces() const { return fn_->traces(); }

 private:
  std::shared_ptr<Function> fn_;
};

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
      try {
        Raise(absl::Status(e.code(), e.what()));
      } catch (py::error_already_set& set) {
        set.restore();
      } catch (const py::builtin_exception& b) {
        b.set_error();
      }
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
  py::class_<Expression>(m, "Expression")
      .def(py::init<const std::string&, std::vector<std::string>, const py::dict&>())
      .def("__call__", &Expression::operator())
      .def_property_readonly("traces", &Expression::traces);
  // dynamic_attr: ndjit.jit gives it the wrapped function's name and doc.
  py::class_<Traced>(m, "Traced", py::dynamic_attr())
      .def(py::init<py::function>())
      .def("__call__", &Traced::operator())
      .def("traces", &Traced::traces);
  m.def("explain", [](const Array<>& x, const std::string& stage) {
    EngineLock lock;
    py::gil_scoped_release unlocked;
    return Check(ExplorerSession().Explain(":" + stage, x));
  });
  m.def("set_num_threads", &SetNumThreads, py::arg("n"));
  m.def("get_num_threads", &GetNumThreads);
  m.def("set_profiling", &codegen::SetProfiling);
  m.def("reset_profile", &codegen::ResetProfile);
  m.def("profile_report", [] { return codegen::ProfileReport(); });
}

}  // namespace ndjit::python
