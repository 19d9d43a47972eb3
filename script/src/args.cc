// Argument conversion shared by the language's builtins.
#include "args.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit::script {

absl::Status Bad(const std::string& text) { return absl::InvalidArgumentError(text); }

std::string KindName(const Value& v) {
  switch (v.kind) {
    case Value::kList:
      return "list";
    case Value::kRecords:
      return "ndarray";
    case Value::kNone:
      return "NoneType";
    case Value::kArray:
      return "ndarray";
    case Value::kInt:
      return "int";
    case Value::kFloat:
      return "float";
    case Value::kBool:
      return "bool";
    case Value::kComplex:
      return "complex";
    case Value::kString:
      return "str";
    case Value::kBytes:
      return "bytes";
    case Value::kTuple:
      return "tuple";
    case Value::kDType:
      return "dtype";
    case Value::kFunction:
      return "function";
    case Value::kModule:
      return "module";
    case Value::kGenerator:
      return "Generator";
    case Value::kLambda:
      return "function";
  }
  return "?";
}

absl::StatusOr<int64_t> ToInt(const Value& v, const std::string& what) {
  if (v.kind == Value::kInt || v.kind == Value::kBool) return v.i;
  if (v.kind == Value::kArray && v.array.ndim() == 0 && IsInteger(v.array.dtype())) {
    return v.array.item<int64_t>();
  }
  return Bad(absl::StrCat(what, " must be an integer, not ", KindName(v)));
}

absl::StatusOr<double> ToFloat(const Value& v, const std::string& what) {
  if (v.kind == Value::kInt || v.kind == Value::kBool) return static_cast<double>(v.i);
  if (v.kind == Value::kFloat) return v.f;
  return Bad(absl::StrCat(what, " must be a number, not ", KindName(v)));
}

absl::StatusOr<Shape> ToShape(const Value& v, const std::string& what) {
  Shape s;
  if (v.kind == Value::kTuple || v.kind == Value::kList) {
    for (const Value& x : v.items) {
      NDJIT_ASSIGN_OR_RETURN(int64_t n, ToInt(x, what));
      s.push_back(n);
    }
    return s;
  }
  NDJIT_ASSIGN_OR_RETURN(int64_t n, ToInt(v, what));
  s.push_back(n);
  return s;
}

absl::StatusOr<Shape> ShapeArgs(const std::vector<Value>& pos, size_t from,
                                const std::string& what) {
  if (pos.size() == from + 1) return ToShape(pos[from], what);
  Shape s;
  for (size_t k = from; k < pos.size(); ++k) {
    NDJIT_ASSIGN_OR_RETURN(int64_t n, ToInt(pos[k], what));
    s.push_back(n);
  }
  return s;
}

absl::StatusOr<DType> ToDType(const Value& v) {
  if (v.kind == Value::kDType && v.record) {
    return Bad(absl::StrCat("a record dtype is not allowed here: ", v.record->Repr()));
  }
  if (v.kind == Value::kDType) return v.dtype;
  if (v.kind == Value::kString) {
    absl::StatusOr<DType> t = DTypeFromString(v.s);
    if (t.ok()) return t;
    NDJIT_ASSIGN_OR_RETURN(RecordTypePtr text, StringTypeFromCode(v.s, "dtype()"));
    if (text != nullptr) {
      return Bad(absl::StrCat("a bytes dtype is not allowed here: ", (text)->Repr()));
    }
  }
  return Bad(absl::StrCat("data type not understood: ", Repr(v)));
}

absl::StatusOr<RecordTypePtr> ToItemType(const Value& v, const std::string& what) {
  if (v.kind == Value::kDType && v.record) return v.record;
  if (v.kind == Value::kString) return StringTypeFromCode(v.s, what);
  return RecordTypePtr();
}

const Value* Arg(const Args& a, const std::string& name, size_t index) {
  if (auto it = a.kw.find(name); it != a.kw.end()) return &it->second;
  return index < a.pos.size() ? &a.pos[index] : nullptr;
}

absl::StatusOr<Axis> ToAxis(const Value* v) {
  if (v == nullptr || v->kind == Value::kNone) return Axis();
  if (v->kind == Value::kTuple) {
    std::vector<int64_t> axes;
    for (const Value& x : v->items) {
      NDJIT_ASSIGN_OR_RETURN(int64_t n, ToInt(x, "axis"));
      axes.push_back(n);
    }
    return Axis(axes);
  }
  NDJIT_ASSIGN_OR_RETURN(int64_t n, ToInt(*v, "axis"));
  return Axis(n);
}

bool Truthy(const Value* v, bool dflt) {
  if (v == nullptr) return dflt;
  if (v->kind == Value::kBool || v->kind == Value::kInt) return v->i != 0;
  return dflt;
}

}  // namespace ndjit::script

namespace ndjit::script {
namespace {

absl::Status Flatten(const Value& v, size_t depth, Shape& shape, bool& shape_done,
                     std::vector<const Value*>& leaves, const LeafCheck& leaf) {
  const bool seq = v.kind == Value::kList || v.kind == Value::kTuple;
  if (!shape_done && seq) {
    shape.push_back(static_cast<int64_t>(v.items.size()));
    if (v.items.empty()) shape_done = true;
  } else if (!shape_done) {
    shape_done = true;
  }
  const bool want_seq = depth < shape.size();
  if (seq != want_seq || (seq && static_cast<int64_t>(v.items.size()) != shape[depth])) {
    return Bad(absl::StrCat(
        "setting an array element with a sequence. The requested array has an inhomogeneous "
        "shape after ",
        depth, " dimensions. The detected shape was ", ShapeRepr(Dims(shape).subspan(0, depth)),
        " + inhomogeneous part."));
  }
  if (!seq) {
    NDJIT_RETURN_IF_ERROR(leaf(v));
    leaves.push_back(&v);
    return absl::OkStatus();
  }
  for (const Value& x : v.items) {
    NDJIT_RETURN_IF_ERROR(Flatten(x, depth + 1, shape, shape_done, leaves, leaf));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status FlattenList(const Value& v, Shape& shape, std::vector<const Value*>& leaves,
                         const LeafCheck& leaf) {
  bool shape_done = false;
  return Flatten(v, 0, shape, shape_done, leaves, leaf);
}

absl::StatusOr<Array<>> ListToArray(const Value& v, const std::string& what) {
  Shape shape;
  std::vector<const Value*> leaves;
  const absl::Status s = FlattenList(v, shape, leaves, [](const Value& x) {
    return x.IsNumber() ? absl::OkStatus() : Bad(absl::StrCat("cannot hold a ", KindName(x)));
  });
  if (!s.ok()) return Bad(absl::StrCat(what, "(): ", s.message()));
  // NumPy's inference: any complex makes complex128, else any float
  // float64, else any int int64.
  bool any_float = false, any_int = false, any_complex = false;
  for (const Value* x : leaves) {
    any_complex |= x->kind == Value::kComplex;
    any_float |= x->kind == Value::kFloat;
    any_int |= x->kind == Value::kInt;
  }
  if (any_complex) {
    NDJIT_ASSIGN_OR_RETURN(NDArray out, NDArray::Empty(shape, DType::kComplex128));
    auto* p = reinterpret_cast<std::complex<double>*>(out.data());
    for (size_t i = 0; i < leaves.size(); ++i) {
      const Value& x = *leaves[i];
      p[i] = x.kind == Value::kComplex ? x.c
             : x.kind == Value::kFloat ? std::complex<double>(x.f)
                                       : std::complex<double>(static_cast<double>(x.i));
    }
    return Array<>(std::move(out));
  }
  const DType t = any_float                   ? DType::kFloat64
                  : any_int || leaves.empty() ? DType::kInt64
                                              : DType::kBool;
  NDJIT_ASSIGN_OR_RETURN(NDArray out, NDArray::Empty(shape, leaves.empty() ? DType::kFloat64 : t));
  for (size_t i = 0; i < leaves.size(); ++i) {
    char* p = out.data() + static_cast<int64_t>(i) * ItemSize(t);
    if (t == DType::kFloat64) {
      const double d =
          leaves[i]->kind == Value::kFloat ? leaves[i]->f : static_cast<double>(leaves[i]->i);
      std::memcpy(p, &d, sizeof d);
    } else if (t == DType::kInt64) {
      std::memcpy(p, &leaves[i]->i, sizeof(int64_t));
    } else {
      *p = static_cast<char>(leaves[i]->i != 0);
    }
  }
  return Array<>(std::move(out));
}

}  // namespace ndjit::script
