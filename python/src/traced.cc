// Traced functions from Python: ndjit.jit's functions and ndjit.evaluate's
// compiled expressions, both ndjit::Function replays. A jitted function is a
// type of its own with CPython's vectorcall protocol: a call goes straight
// from the interpreter to the replay (no argument tuple, no overload
// dispatch), which is most of what a small call costs.
#include <pybind11/stl.h>
#include <structmember.h>

#include "convert.h"
#include "module.h"
#include "ndjit/error.h"
#include "ndjit/function.h"
#include "ndjit/script.h"

namespace ndjit::python {
namespace {

using script::Value;

NDArray ArgumentArray(py::handle h, const char* what) {
  if (py::isinstance<py::array>(h)) return FromNumpy(py::reinterpret_borrow<py::array>(h));
  return Check(script::ToArray(ToValue(h, what), what)).array();
}

std::vector<NDArray> Arrays(const py::sequence& xs, const char* what) {
  std::vector<NDArray> out;
  out.reserve(xs.size());
  for (py::handle h : xs) out.push_back(ArgumentArray(h, what));
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

py::object Results(const std::vector<NDArray>& out) {
  if (out.size() == 1) return ToNumpy(out[0]);
  return py::tuple(Numpys(out));
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
    return Results(RunFunction(*fn_, in));
  }
  int traces() const { return fn_->traces(); }

 private:
  script::Session session_;
  std::shared_ptr<const Function> fn_;
};

// A Python function of arrays as an ndjit::Function: tracing calls it with
// ndjit arrays (taking the GIL back: the replay may have released it).
std::shared_ptr<Function> TraceOf(py::function f) {
  return std::make_shared<Function>([f](const std::vector<Array<>>& xs) {
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
  });
}

// The jitted function object: its Function, the vectorcall entry, and a
// __dict__ (functools.update_wrapper gives it the function's name and doc).
struct JitObject {
  PyObject_HEAD vectorcallfunc vectorcall;
  PyObject* dict;
  Function* fn;
};

PyObject* JitCall(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  auto* o = reinterpret_cast<JitObject*>(self);
  if (kwnames != nullptr && PyTuple_GET_SIZE(kwnames) > 0) {
    PyErr_SetString(PyExc_TypeError, "a jitted function takes its arrays by position only");
    return nullptr;
  }
  // The C++ exceptions the pybind11 dispatcher would translate, here by hand.
  try {
    const Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    EngineLock lock;
    std::vector<NDArray> in;
    in.reserve(n);
    for (Py_ssize_t i = 0; i < n; ++i) in.push_back(ArgumentArray(args[i], "jit"));
    return Results(RunFunction(*o->fn, in)).release().ptr();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const py::builtin_exception& e) {
    e.set_error();
  } catch (const Error& e) {
    SetPythonError(absl::Status(e.code(), e.what()));
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

void JitDealloc(PyObject* self) {
  auto* o = reinterpret_cast<JitObject*>(self);
  PyTypeObject* type = Py_TYPE(self);
  delete o->fn;
  Py_CLEAR(o->dict);
  type->tp_free(self);
  Py_DECREF(type);
}

PyObject* JitTraces(PyObject* self, PyObject*) {
  return PyLong_FromLong(reinterpret_cast<JitObject*>(self)->fn->traces());
}

PyMethodDef kJitMethods[] = {
    {"traces", JitTraces, METH_NOARGS, "How many argument layouts are traced (at most 64 kept)."},
    {nullptr, nullptr, 0, nullptr}};

PyMemberDef kJitMembers[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(JitObject, vectorcall), READONLY, nullptr},
    {"__dictoffset__", T_PYSSIZET, offsetof(JitObject, dict), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr}};

PyGetSetDef kJitGetSet[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

PyType_Slot kJitSlots[] = {{Py_tp_call, reinterpret_cast<void*>(PyVectorcall_Call)},
                           {Py_tp_getset, kJitGetSet},
                           {Py_tp_dealloc, reinterpret_cast<void*>(JitDealloc)},
                           {Py_tp_methods, kJitMethods},
                           {Py_tp_members, kJitMembers},
                           {0, nullptr}};

PyType_Spec kJitSpec = {"ndjit._ndjit.JitFunction", sizeof(JitObject), 0,
                        Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL, kJitSlots};

}  // namespace

void BindTraced(py::module_& m) {
  // evaluate() over values the traced Expression cannot take (bytes):
  // evaluated once, eagerly, in a session of its own.
  m.def("evaluate_values", [](const std::string& expr, const std::vector<std::string>& names,
                              const py::sequence& values) {
    EngineLock lock;
    script::Session session;
    for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
      script::SessionAccess::Set(session, names[i], ToValue(values[i], "evaluate"));
    }
    return FromValue(Check(script::SessionAccess::Evaluate(session, expr)));
  });
  py::class_<Expression>(m, "Expression")
      .def(py::init<const std::string&, std::vector<std::string>, const py::dict&>())
      .def("__call__", &Expression::operator())
      .def_property_readonly("traces", &Expression::traces);
  py::object type = py::reinterpret_steal<py::object>(PyType_FromSpec(&kJitSpec));
  if (!type) throw py::error_already_set();
  m.attr("JitFunction") = type;
  m.def("jit_function", [type](py::function f) {
    auto* tp = reinterpret_cast<PyTypeObject*>(type.ptr());
    auto* o = reinterpret_cast<JitObject*>(tp->tp_alloc(tp, 0));
    if (o == nullptr) throw py::error_already_set();
    o->vectorcall = JitCall;
    o->dict = nullptr;
    o->fn = new Function(std::move(*TraceOf(std::move(f))));
    return py::reinterpret_steal<py::object>(reinterpret_cast<PyObject*>(o));
  });
}

}  // namespace ndjit::python
