// The language's evaluator: a Session's variables and statements (the
// explorer's commands are explorer.cc's).
#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "args.h"
#include "ast.h"
#include "explorer.h"
#include "lambda.h"
#include "ndjit/runtime/status_macros.h"
#include "ndjit/script.h"
#include "stack_guard.h"
#include "value.h"

namespace ndjit::script {
namespace {

std::optional<DType> DTypeName(const std::string& name) {
  if (name == "float") return DType::kFloat64;
  if (name == "int") return DType::kInt64;
  if (name == "complex") return DType::kComplex128;
  if (name == "bool" || name == "bool_") return DType::kBool;
  absl::StatusOr<DType> t = DTypeFromString(name);
  // Only full names are bare names: "f4" is not a Python identifier anyone means.
  if (t.ok() && Name(*t) == name) return *t;
  return std::nullopt;
}

}  // namespace

struct Session::Impl {
  std::map<std::string, Value> vars;

  absl::StatusOr<Value> Lookup(const std::string& name) {
    if (auto it = vars.find(name); it != vars.end()) return it->second;
    if (name == "True" || name == "False") return Value::Bool(name == "True");
    if (std::optional<DType> t = DTypeName(name)) return Value::DTypeOf(*t);
    if (name == "np" || name == "numpy" || name == "random" || name == "linalg") {
      Value m;
      m.kind = Value::kModule;
      m.s = name == "numpy" ? "np" : name;
      return m;
    }
    if (name == "pi") return Value::Float(M_PI);
    if (name == "e") return Value::Float(M_E);
    if (name == "inf") return Value::Float(INFINITY);
    if (name == "nan") return Value::Float(NAN);
    if (IsBuiltin(name) || name == "jit") return Value::Function(name);
    return Bad(absl::StrCat("name '", name, "' is not defined"));
  }

  absl::StatusOr<Value> Eval(const Node& n) {
    if (StackNearlyFull()) return Bad("maximum recursion depth exceeded");
    switch (n.kind) {
      case Node::kNumber: {
        if (n.is_int) {
          int64_t v;
          if (!absl::SimpleAtoi(n.text, &v)) {
            return Bad(absl::StrCat("integer literal ", n.text, " is too large"));
          }
          return Value::Int(v);
        }
        double d;
        if (!absl::SimpleAtod(n.text, &d)) return Bad(absl::StrCat("bad number ", n.text));
        return n.is_imag ? Value::Complex({0, d}) : Value::Float(d);
      }
      case Node::kString:
        return n.is_bytes ? Value::Bytes(n.text) : Value::Str(n.text);
      case Node::kName:
        return Lookup(n.text);
      case Node::kNone:
        return Value();
      case Node::kEllipsis:
        return Bad("'...' is only allowed in an index");
      case Node::kTuple:
      case Node::kList: {
        Value t;
        t.kind = n.kind == Node::kTuple ? Value::kTuple : Value::kList;
        for (const NodePtr& k : n.kids) {
          absl::StatusOr<Value> v = Eval(*k);
          if (!v.ok()) return v;
          t.items.push_back(*std::move(v));
        }
        return t;
      }
      case Node::kUnary: {
        // -9223372036854775808 is INT64_MIN, as Python reads it, though its
        // digits alone are one past int64.
        if (const Node& k = *n.kids[0]; n.text == "-" && k.kind == Node::kNumber && k.is_int &&
                                        k.text == "9223372036854775808") {
          return Value::Int(INT64_MIN);
        }
        absl::StatusOr<Value> v = Eval(*n.kids[0]);
        if (!v.ok()) return v;
        if (v->IsNumber()) {
          if (n.text == "+") return v;
          if (n.text == "~") {
            if (v->kind == Value::kFloat || v->kind == Value::kComplex) {
              return Bad(absl::StrCat("bad operand type for unary ~: '", KindName(*v), "'"));
            }
            return v->kind == Value::kBool ? Value::Bool(!v->i) : Value::Int(~v->i);
          }
          if (v->kind == Value::kInt && v->i == INT64_MIN) return Bad("integer overflow in -");
          if (v->kind == Value::kComplex) return Value::Complex(-v->c);
          return v->kind == Value::kFloat ? Value::Float(-v->f) : Value::Int(-v->i);
        }
        const ir::Ufunc op = n.text == "-"   ? ir::Ufunc::kNegative
                             : n.text == "+" ? ir::Ufunc::kPositive
                                             : ir::Ufunc::kInvert;
        return ApplyUfunc(op, {*v});
      }
      case Node::kBinary:
      case Node::kCompare: {
        absl::StatusOr<Value> a = Eval(*n.kids[0]);
        if (!a.ok()) return a;
        absl::StatusOr<Value> b = Eval(*n.kids[1]);
        if (!b.ok()) return b;
        if (n.text == "@") return CallBuiltin("matmul", Args{{*a, *b}, {}});
        if (a->IsNumber() && b->IsNumber()) return NumberOp(n.text, *a, *b);
        NDJIT_ASSIGN_OR_RETURN(ir::Ufunc op, OperatorUfunc(n.text));
        return ApplyUfunc(op, {*a, *b});
      }
      case Node::kCall:
        return Call(n);
      case Node::kAttribute:
        return Attribute(n);
      case Node::kSubscript:
        return Subscript(n);
      case Node::kSlice:
        return Bad("a slice is only allowed in an index");
      case Node::kLambda:
        return MakeLambda(n);
      case Node::kSetItem:
        return SetItem(n);
      case Node::kAssign: {
        absl::StatusOr<Value> v = Eval(*n.kids[0]);
        if (!v.ok()) return v;
        // A fresh handle: printing the variable later computes a copy, so
        // the explorer can still show the variable's graph.
        if (v->kind == Value::kArray) v = Value::Arr(Array<>(v->array.node()));
        vars[n.text] = *v;
        return Value();
      }
    }
    return Bad("unknown syntax");
  }

  absl::StatusOr<Value> Call(const Node& n) {
    absl::StatusOr<Value> callee = Eval(*n.kids[0]);
    if (!callee.ok()) return callee;
    Args args;
    if (callee->self) args.pos.push_back(*callee->self);
    for (size_t k = 1; k < n.kids.size(); ++k) {
      absl::StatusOr<Value> v = Eval(*n.kids[k]);
      if (!v.ok()) return v;
      args.pos.push_back(*std::move(v));
    }
    for (size_t k = 0; k < n.keywords.size(); ++k) {
      absl::StatusOr<Value> v = Eval(*n.kwargs[k]);
      if (!v.ok()) return v;
      args.kw[n.keywords[k]] = *std::move(v);
    }
    if (callee->kind == Value::kDType) {  // float32(x): a cast
      // complex(re, im), as Python's complex and numexpr's.
      if (args.pos.size() == 2 && callee->record == nullptr && IsComplex(callee->dtype)) {
        if (args.pos[0].IsNumber() && args.pos[1].IsNumber() &&
            args.pos[0].kind != Value::kComplex && args.pos[1].kind != Value::kComplex) {
          auto real = [](const Value& v) { return v.kind == Value::kFloat ? v.f : double(v.i); };
          return Value::Complex({real(args.pos[0]), real(args.pos[1])});  // a number, as Python's
        }
        absl::StatusOr<Value> im =
            ApplyUfunc(ir::Ufunc::kMultiply, {args.pos[1], Value::Complex({0.0, 1.0})});
        if (!im.ok()) return im;
        return ApplyUfunc(ir::Ufunc::kAdd, {args.pos[0], *im});
      }
      if (args.pos.size() != 1) return Bad("a dtype call takes one argument");
      NDJIT_ASSIGN_OR_RETURN(Array<> a, ToArray(args.pos[0], Name(callee->dtype).data()));
      return Value::Arr(a.astype(callee->dtype));
    }
    const Evaluator eval = [this](const Node& body) { return Eval(body); };
    if (callee->kind == Value::kLambda) return CallLambda(*callee, args, vars, eval);
    if (callee->kind != Value::kFunction) {
      return Bad(absl::StrCat("'", Repr(*callee), "' is not callable"));
    }
    if (callee->s == "jit") return Jit(args, vars, eval);
    return CallBuiltin(callee->s, std::move(args));
  }

  absl::StatusOr<Value> Attribute(const Node& n) {
    absl::StatusOr<Value> obj = Eval(*n.kids[0]);
    if (!obj.ok()) return obj;
    const std::string& name = n.text;
    if (obj->kind == Value::kModule) {
      if (obj->s == "random" || obj->s == "linalg") {
        if (!IsBuiltin(obj->s + "." + name)) {
          return Bad(absl::StrCat("module 'numpy.", obj->s, "' has no attribute '", name, "'"));
        }
        return Value::Function(obj->s + "." + name);
      }
      if (name != "random" && name != "linalg" && vars.contains(name)) {
        return Bad(absl::StrCat("module 'numpy' has no attribute '", name, "'"));
      }
      return Lookup(name);
    }
    if (obj->kind == Value::kGenerator) {
      if (!IsBuiltin("rng." + name)) {
        return Bad(absl::StrCat("'Generator' object has no attribute '", name, "'"));
      }
      return Value::Function("rng." + name, std::make_shared<Value>(*obj));
    }
    // A ufunc's methods that are not reductions by name (add.at(a, i, b),
    // maximum.accumulate(x)): the builtins that take the ufunc's name first.
    if (obj->kind == Value::kFunction && obj->self == nullptr &&
        (name == "at" || name == "accumulate") && ir::UfuncFromName(obj->s).ok()) {
      return Value::Function("ufunc." + name, std::make_shared<Value>(Value::Str(obj->s)));
    }
    if (obj->kind == Value::kRecords) return RecordAttribute(*obj, name);
    if (obj->kind == Value::kDType) return DTypeAttribute(*obj, name);
    if (obj->kind != Value::kArray) {
      return Bad(absl::StrCat("'", Repr(*obj), "' has no attribute '", name, "'"));
    }
    const Array<>& a = obj->array;
    if (name == "T") return Value::Arr(a.T());
    if (name == "dtype") return Value::DTypeOf(a.dtype());
    if (name == "ndim") return Value::Int(a.ndim());
    if (name == "size") return Value::Int(a.size());
    if (name == "shape") return Value::IntTuple(a.shape());
    // Strides are a computed array's: a lazy value is evaluated first.
    if (name == "strides") return Value::IntTuple(a.array().strides());
    // NumPy: a real array is its own real part, and its imaginary part zeros.
    if (name == "real" || name == "imag") {
      if (IsComplex(a.dtype()))
        return ApplyUfunc(name == "real" ? ir::Ufunc::kReal : ir::Ufunc::kImag, {*obj});
      if (name == "real") return *obj;
      NDJIT_ASSIGN_OR_RETURN(NDArray zeros, NDArray::Zeros(a.shape(), a.dtype()));
      return Value::Arr(Array<>(zeros));
    }
    if (IsMethod(name)) return Value::Function(name, std::make_shared<Value>(*obj));
    return Bad(absl::StrCat("'numpy.ndarray' object has no attribute '", name, "'"));
  }

  absl::StatusOr<std::optional<int64_t>> OptionalInt(const NodePtr& n) {
    if (n == nullptr) return std::optional<int64_t>();
    NDJIT_ASSIGN_OR_RETURN(Value v, Eval(*n));
    if (v.kind == Value::kNone) return std::optional<int64_t>();
    if (v.kind != Value::kInt && v.kind != Value::kBool) {
      return Bad("slice indices must be integers or None");
    }
    return std::optional<int64_t>(v.i);
  }

  // A subscript's items, evaluated.
  struct IndexArgs {
    std::vector<IndexItem> items;
    std::vector<ArrayIndexItem> advanced;  // the same, with index arrays
    bool any_array = false;
    std::vector<Value> keys;  // field names, for record arrays
  };

  absl::StatusOr<IndexArgs> Index(const Node& n, const Value& obj) {
    IndexArgs r;
    std::vector<IndexItem>& items = r.items;
    std::vector<ArrayIndexItem>& advanced = r.advanced;
    bool& any_array = r.any_array;
    for (size_t k = 1; k < n.kids.size(); ++k) {
      const Node& item = *n.kids[k];
      if (item.kind == Node::kEllipsis) {
        items.push_back(Ellipsis{});
      } else if (item.kind == Node::kSlice) {
        Slice s;
        for (int part = 0; part < 3; ++part) {
          NDJIT_ASSIGN_OR_RETURN(std::optional<int64_t> v, OptionalInt(item.kids[part]));
          (part == 0 ? s.start : part == 1 ? s.stop : s.step) = v;
        }
        items.push_back(s);
      } else {
        NDJIT_ASSIGN_OR_RETURN(Value v, Eval(item));
        if (v.kind == Value::kNone) {
          items.push_back(NewAxis{});
        } else if (v.kind == Value::kInt) {
          items.push_back(v.i);
        } else if (v.kind == Value::kString && obj.kind == Value::kRecords) {
          r.keys.push_back(v);
          continue;
        } else if (v.kind == Value::kArray || v.kind == Value::kList) {
          NDJIT_ASSIGN_OR_RETURN(Array<> x, ToArray(v, "index"));
          advanced.push_back(std::move(x));
          any_array = true;
          continue;
        } else {
          return Bad(
              "only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and "
              "integer or boolean arrays are valid indices");
        }
      }
      advanced.push_back(items.back());  // every branch that gets here added an item
    }
    return r;
  }

  absl::StatusOr<Value> Subscript(const Node& n) {
    absl::StatusOr<Value> obj = Eval(*n.kids[0]);
    if (!obj.ok()) return obj;
    NDJIT_ASSIGN_OR_RETURN(IndexArgs index_args, Index(n, *obj));
    const std::vector<IndexItem>& items = index_args.items;
    if (obj->kind == Value::kTuple) {
      if (items.size() != 1 || !std::holds_alternative<int64_t>(items[0])) {
        return Bad("tuple indices must be integers");
      }
      int64_t i = std::get<int64_t>(items[0]);
      const int64_t size = static_cast<int64_t>(obj->items.size());
      if (i < 0) i += size;
      if (i < 0 || i >= size) return Bad("tuple index out of range");
      return obj->items[i];
    }
    if (obj->kind == Value::kRecords) return RecordSubscript(*obj, index_args.keys, items);
    if (obj->kind != Value::kArray)
      return Bad(absl::StrCat("'", Repr(*obj), "' is not subscriptable"));
    try {
      if (index_args.any_array) return Value::Arr(index(obj->array, index_args.advanced));
      return Value::Arr(obj->array.index(items));
    } catch (const Error& e) {
      return absl::Status(e.code(), e.what());
    }
  }

  // a[i] = v: stores into the array's memory (index_assign); a record
  // array's field by name (rec['vel'] = v) is the field's view.
  absl::StatusOr<Value> SetItem(const Node& n) {
    const Node& target = *n.kids[0];
    absl::StatusOr<Value> obj = Eval(*target.kids[0]);
    if (!obj.ok()) return obj;
    NDJIT_ASSIGN_OR_RETURN(IndexArgs index_args, Index(target, *obj));
    absl::StatusOr<Value> v = Eval(*n.kids[1]);
    if (!v.ok()) return v;
    NDJIT_ASSIGN_OR_RETURN(Array<> value, ToArray(*v, "setitem"));
    std::vector<ArrayIndexItem> advanced = index_args.advanced;
    if (obj->kind == Value::kRecords && !index_args.keys.empty()) {
      obj = RecordSubscript(*obj, index_args.keys, index_args.items);
      if (!obj.ok()) return obj;
      advanced.clear();
    }
    if (obj->kind != Value::kArray) {
      return Bad(absl::StrCat("'", Repr(*obj), "' does not support item assignment"));
    }
    try {
      index_assign(obj->array, advanced, value);
    } catch (const Error& e) {
      return absl::Status(e.code(), e.what());
    }
    return Value();
  }

  // --- Explorer commands ---------------------------------------------------

  absl::StatusOr<Array<>> ArrayOf(absl::string_view expr) {
    NDJIT_ASSIGN_OR_RETURN(NodePtr ast, ParseStatement(expr));
    // Refused before it runs: showing a statement must not bind a name.
    if (IsAssignment(*ast)) return Bad("the explorer shows expressions, not assignments");
    NDJIT_ASSIGN_OR_RETURN(Value v, Eval(*ast));
    if (v.kind != Value::kArray) return Bad("the explorer shows array expressions");
    return v.array;
  }

  absl::StatusOr<std::string> Command(absl::string_view line);
};

absl::StatusOr<std::string> Session::Impl::Command(absl::string_view line) {
  return RunExplorerCommand(line, vars, [this](absl::string_view expr) { return ArrayOf(expr); });
}

Session::Session() : impl_(std::make_shared<Impl>()) {}

void Session::Set(const std::string& name, const Array<>& value) {
  impl_->vars[name] = Value::Arr(value);
}

void Session::Set(const std::string& name, int64_t value) { impl_->vars[name] = Value::Int(value); }
void Session::Set(const std::string& name, double value) {
  impl_->vars[name] = Value::Float(value);
}
void Session::Set(const std::string& name, bool value) { impl_->vars[name] = Value::Bool(value); }
void Session::Set(const std::string& name, std::complex<double> value) {
  impl_->vars[name] = Value::Complex(value);
}

namespace {

void CollectNames(const Node& n, std::vector<std::string>& names) {
  if (n.kind == Node::kName) {
    if (std::find(names.begin(), names.end(), n.text) == names.end()) names.push_back(n.text);
    return;
  }
  if (n.kind == Node::kLambda) return;  // its names are its parameters' or read when called
  for (size_t k = 0; k < n.kids.size(); ++k) {
    if (n.kids[k] == nullptr) continue;
    if (n.kind == Node::kCall && k == 0 && n.kids[k]->kind == Node::kName) continue;
    CollectNames(*n.kids[k], names);
  }
  for (const NodePtr& k : n.kwargs) CollectNames(*k, names);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> Session::Names(absl::string_view expr) {
  NDJIT_ASSIGN_OR_RETURN(NodePtr ast, ParseStatement(expr));
  if (IsAssignment(*ast)) return Bad("expected an expression, not an assignment");
  std::vector<std::string> names;
  CollectNames(*ast, names);
  return names;
}

absl::StatusOr<std::shared_ptr<const Function>> Session::Trace(absl::string_view expr,
                                                               std::vector<std::string> params) {
  NDJIT_ASSIGN_OR_RETURN(NodePtr ast, ParseStatement(expr));
  if (IsAssignment(*ast)) return Bad("expected an expression, not an assignment");
  Value lambda;
  lambda.kind = Value::kLambda;
  auto l = std::make_shared<Lambda>();
  l->params = std::move(params);
  l->body = std::shared_ptr<const Node>(std::move(ast));
  lambda.lambda = std::move(l);
  // The traced function keeps the session alive: it reads its variables.
  std::shared_ptr<Impl> impl = impl_;
  const Evaluator eval = [impl](const Node& body) { return impl->Eval(body); };
  NDJIT_ASSIGN_OR_RETURN(Value f, Jit(Args{{lambda}, {}}, impl->vars, eval));
  // The Function's callable reads impl->vars and evaluates through impl:
  // its evaluator holds the session, the returned pointer its lambda.
  std::shared_ptr<const Lambda> traced = f.lambda;
  return std::shared_ptr<const Function>(traced, traced->traced.get());
}

absl::StatusOr<std::string> Session::Explain(absl::string_view command, const Array<>& value) {
  const std::string name = "__explained";
  impl_->vars[name] = Value::Arr(value);
  absl::StatusOr<std::string> text = Execute(absl::StrCat(command, " ", name));
  impl_->vars.erase(name);
  return text;
}

absl::StatusOr<std::string> Session::Execute(absl::string_view line) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(line);
  if (trimmed.empty() || trimmed[0] == '#') return std::string();
  try {
    if (trimmed[0] == ':') return impl_->Command(trimmed);
    NDJIT_ASSIGN_OR_RETURN(NodePtr ast, ParseStatement(line));
    const EvalStats before = GetEvalStats();
    NDJIT_ASSIGN_OR_RETURN(Value v, impl_->Eval(*ast));
    // Evaluations the statement forced say so: they are where its cost went.
    std::string note;
    const EvalStats after = GetEvalStats();
    if (const int64_t n = after.fixed_before_write - before.fixed_before_write; n > 0) {
      note = absl::StrCat("# computed ", n, " lazy value", n == 1 ? "" : "s",
                          " reading the written array before the write\n");
    }
    if (after.selections > before.selections) {
      absl::StrAppend(&note,
                      "# an array index computed its operands (the result's size comes from "
                      "their values): a fused graph ends there\n");
    }
    if (after.graph_cuts > before.graph_cuts) {
      absl::StrAppend(&note, "# cut: the value had grown past ", kMaxGraphOps,
                      " ops, so its inputs were computed\n");
    }
    if (IsAssignment(*ast) || v.kind == Value::kNone) return note;
    if (v.kind == Value::kArray) return note + Array<>(v.array.node()).repr() + "\n";
    if (v.kind == Value::kTuple) {
      // The arrays of a tuple (divmod's results) in one evaluation.
      std::vector<const Array<>*> arrays;
      for (const Value& item : v.items) {
        if (item.kind == Value::kArray) arrays.push_back(&item.array);
      }
      if (arrays.size() > 1) EvaluateAll(arrays);
    }
    // A report (einsum_path's table) prints as text, as print() would.
    if (v.kind == Value::kString && v.s.find('\n') != std::string::npos) return note + v.s;
    return note + Repr(v) + "\n";
  } catch (const Error& e) {
    return absl::Status(e.code(), e.what());
  }
}

void SessionAccess::Set(Session& s, const std::string& name, Value v) {
  s.impl_->vars[name] = std::move(v);
}

absl::StatusOr<Value> SessionAccess::Evaluate(Session& s, absl::string_view expr) {
  try {
    NDJIT_ASSIGN_OR_RETURN(NodePtr ast, ParseStatement(expr));
    if (IsAssignment(*ast)) return Bad("expected an expression, not an assignment");
    return s.impl_->Eval(*ast);
  } catch (const Error& e) {
    return absl::Status(e.code(), e.what());
  }
}

absl::StatusOr<NDArray> Session::EvaluateArray(absl::string_view expr) {
  try {
    NDJIT_ASSIGN_OR_RETURN(Value v, SessionAccess::Evaluate(*this, expr));
    NDJIT_ASSIGN_OR_RETURN(Array<> a, ToArray(v, "eval"));
    return Array<>(a.node()).array();
  } catch (const Error& e) {
    return absl::Status(e.code(), e.what());
  }
}

std::vector<std::string> Session::Completions(absl::string_view prefix) const {
  std::vector<std::string> names = BuiltinNames();
  names.push_back("jit");
  names.push_back("lambda");
  for (const auto& [name, v] : impl_->vars) names.push_back(name);
  for (const std::string& c : ExplorerCommandNames()) names.push_back(c);
  for (const char* t : {"float32", "float64", "int32", "int64", "bool"}) names.push_back(t);
  std::vector<std::string> out;
  for (const std::string& n : names) {
    if (absl::StartsWith(n, prefix)) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string ErrorDisplay(absl::string_view line, const absl::Status& status) {
  // Syntax errors end in "(column N)": draw the caret there.
  const std::string message(status.message());
  const size_t at = message.rfind(" (column ");
  int column = 0;
  if (at != std::string::npos &&
      absl::SimpleAtoi(absl::StripSuffix(message.substr(at + 9), ")"), &column) && column >= 1) {
    return absl::StrCat("  ", line, "\n  ", std::string(column - 1, ' '),
                        "^\nerror: ", message.substr(0, at));
  }
  return absl::StrCat("error: ", message);
}

}  // namespace ndjit::script
