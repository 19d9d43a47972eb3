// Pickling lazy values as what they are: the graph (ir::RecordGraph, plain
// numbers and op names) and the arrays its leaves read, which pickle as
// NumPy arrays. Unpickling rebuilds the graph through the same constructors
// (checked: the bytes may come from anywhere), so nothing is computed until
// the value is read, in whichever process reads it.
#include <pybind11/stl.h>

#include "absl/strings/str_cat.h"
#include "convert.h"
#include "module.h"
#include "ndjit/ir/graph_record.h"
#include "ndjit/ir/ops.h"

namespace ndjit::python {
namespace {

// Bumped when the tuple layout below changes: an old pickle is refused.
constexpr int kFormat = 1;

py::tuple Ints(absl::Span<const int64_t> v) {
  py::tuple t(v.size());
  for (size_t i = 0; i < v.size(); ++i) t[i] = v[i];
  return t;
}

py::tuple RecordToPython(const ir::GraphRecord& g) {
  py::list nodes;
  for (const ir::NodeRecord& r : g.nodes) {
    py::list labels;
    for (const auto& l : r.labels) labels.append(py::tuple(py::cast(l)));
    nodes.append(py::make_tuple(
        static_cast<int>(r.kind), std::string(Name(r.dtype)), Ints(r.shape),
        py::tuple(py::cast(r.inputs)), std::string(ir::Name(r.op)), Ints(r.axes), r.keepdims,
        py::tuple(labels), py::make_tuple(r.scalar.i, r.scalar.c.real(), r.scalar.c.imag()),
        r.array, py::make_tuple(r.seed, r.stream, r.word, r.offset, Ints(r.strides))));
  }
  py::list arrays;
  for (const NDArray& a : g.arrays) arrays.append(ToNumpy(a));
  return py::make_tuple(kFormat, py::tuple(nodes), py::tuple(arrays), py::tuple(py::cast(g.roots)));
}

DType DTypeNamed(const std::string& name) {
  for (int i = 0; i < kNumDTypes; ++i) {
    if (Name(static_cast<DType>(i)) == name) return static_cast<DType>(i);
  }
  throw py::value_error(absl::StrCat("ndjit: unknown dtype '", name, "' in a pickled array"));
}

ir::GraphRecord RecordFromPython(const py::tuple& state) {
  if (state.size() != 4 || state[0].cast<int>() != kFormat) {
    throw py::value_error("ndjit: a pickled array of another format version");
  }
  ir::GraphRecord g;
  for (py::handle h : state[1].cast<py::tuple>()) {
    const py::tuple t = h.cast<py::tuple>();
    if (t.size() != 11) throw py::value_error("ndjit: a malformed pickled graph node");
    ir::NodeRecord r;
    const int kind = t[0].cast<int>();
    if (kind < 0 || kind > static_cast<int>(ir::NodeKind::kRandom)) {
      throw py::value_error("ndjit: a malformed pickled graph node");
    }
    r.kind = static_cast<ir::NodeKind>(kind);
    r.dtype = DTypeNamed(t[1].cast<std::string>());
    for (py::handle d : t[2]) r.shape.push_back(d.cast<int64_t>());
    r.inputs = t[3].cast<std::vector<int>>();
    r.op = Check(ir::UfuncFromName(t[4].cast<std::string>()));
    r.axes = t[5].cast<std::vector<int64_t>>();
    r.keepdims = t[6].cast<bool>();
    const py::tuple labels = t[7].cast<py::tuple>();
    for (int w = 0; w < 3 && w < static_cast<int>(labels.size()); ++w) {
      r.labels[w] = labels[w].cast<std::vector<int>>();
    }
    const py::tuple scalar = t[8].cast<py::tuple>();
    r.scalar.i = scalar[0].cast<int64_t>();
    r.scalar.c = {scalar[1].cast<double>(), scalar[2].cast<double>()};
    r.array = t[9].cast<int>();
    const py::tuple random = t[10].cast<py::tuple>();
    r.seed = random[0].cast<uint64_t>();
    r.stream = random[1].cast<uint64_t>();
    r.word = random[2].cast<int>();
    r.offset = random[3].cast<int64_t>();
    for (py::handle s : random[4]) r.strides.push_back(s.cast<int64_t>());
    g.nodes.push_back(std::move(r));
  }
  for (py::handle a : state[2].cast<py::tuple>()) {
    g.arrays.push_back(FromNumpy(py::array::ensure(a)));
  }
  g.roots = state[3].cast<std::vector<int>>();
  return g;
}

}  // namespace

void BindPickle(py::module_& m) {
  m.def("graph_state", [](const Array<>& x) {
    EngineLock lock;
    return RecordToPython(ir::RecordGraph({x.node()}));
  });
  m.def("from_graph_state", [](const py::tuple& state) {
    EngineLock lock;
    const std::vector<ir::NodePtr> roots = Check(ir::RebuildGraph(RecordFromPython(state)));
    if (roots.size() != 1) throw py::value_error("ndjit: a pickled array has one root");
    return Array<>(roots[0]);
  });
}

}  // namespace ndjit::python
