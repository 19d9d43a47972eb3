// The language's evaluator: a Session's variables, statements, and the
// explorer commands that print each stage of an expression's lowering.
#include <algorithm>
#include <chrono>
#include <fstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "args.h"
#include "ast.h"
#include "lambda.h"
#include "ndjit/codegen/gemm.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/codegen/profile.h"
#include "ndjit/codegen/target.h"
#include "ndjit/engine/engine.h"
#include "ndjit/ir/program.h"
#include "ndjit/script.h"
#include "shown.h"
#include "value.h"

namespace ndjit::script {
namespace {

// The explorer's commands: the one list :help, dispatch and completion read.
struct ExplorerCommand {
  const char* name;
  const char* args;
  const char* help;
  bool takes_expression;
};
constexpr ExplorerCommand kCommands[] = {
    {":graph", "x", "the graph of expression x after simplification", true},
    {":program", "x",
     "the Program x plans, before anything runs: slots (layout, home, last reader)\n"
     "              and steps (kernels, reduction folds)",
     true},
    {":fused", "x",
     "the kernels x runs: what each fuses, its operands, bytes moved;\n"
     "              a contraction shows as a gemm kernel, with its epilogue kernel",
     true},
    {":loops", "x", "each kernel's loop IR: loop order, vector width, tiles, parallel loop", true},
    {":llvm", "x [opt]", "each kernel's LLVM IR, before (or after) optimisation", true},
    {":asm", "x", "each kernel's host assembly", true},
    {":dot", "x FILE", "the graph as Graphviz, each kernel a cluster", true},
    {":time", "x",
     "compile and run time, GB/s, and the eager evaluator's, side by side,\n"
     "              then the profiler's row for each kernel x ran",
     true},
    {":cache", "[clear]",
     "the kernel cache's counters and the buffer pool's memory;\n"
     "              clear gives the pool's cached blocks back to the system",
     false},
    {":vars", "", "the variables", false},
    {":help", "", "this list", false},
};

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
        return Value::Str(n.text);
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
        absl::StatusOr<ir::Ufunc> op = OperatorUfunc(n.text);
        if (!op.ok()) return op.status();
        return ApplyUfunc(*op, {*a, *b});
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
      absl::StatusOr<Array<>> a = ToArray(args.pos[0], Name(callee->dtype).data());
      if (!a.ok()) return a.status();
      return Value::Arr(a->astype(callee->dtype));
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
      absl::StatusOr<NDArray> zeros = NDArray::Zeros(a.shape(), a.dtype());
      if (!zeros.ok()) return zeros.status();
      return Value::Arr(Array<>(*zeros));
    }
    if (IsMethod(name)) return Value::Function(name, std::make_shared<Value>(*obj));
    return Bad(absl::StrCat("'numpy.ndarray' object has no attribute '", name, "'"));
  }

  absl::StatusOr<std::optional<int64_t>> OptionalInt(const NodePtr& n) {
    if (n == nullptr) return std::optional<int64_t>();
    absl::StatusOr<Value> v = Eval(*n);
    if (!v.ok()) return v.status();
    if (v->kind == Value::kNone) return std::optional<int64_t>();
    if (v->kind != Value::kInt && v->kind != Value::kBool) {
      return Bad("slice indices must be integers or None");
    }
    return std::optional<int64_t>(v->i);
  }

  absl::StatusOr<Value> Subscript(const Node& n) {
    absl::StatusOr<Value> obj = Eval(*n.kids[0]);
    if (!obj.ok()) return obj;
    std::vector<IndexItem> items;
    std::vector<ArrayIndexItem> advanced;  // the same, with index arrays
    bool any_array = false;
    std::vector<Value> keys;  // field names, for record arrays
    for (size_t k = 1; k < n.kids.size(); ++k) {
      const Node& item = *n.kids[k];
      if (item.kind == Node::kEllipsis) {
        items.push_back(Ellipsis{});
      } else if (item.kind == Node::kSlice) {
        Slice s;
        for (int part = 0; part < 3; ++part) {
          absl::StatusOr<std::optional<int64_t>> v = OptionalInt(item.kids[part]);
          if (!v.ok()) return v.status();
          (part == 0 ? s.start : part == 1 ? s.stop : s.step) = *v;
        }
        items.push_back(s);
      } else {
        absl::StatusOr<Value> v = Eval(item);
        if (!v.ok()) return v;
        if (v->kind == Value::kNone) {
          items.push_back(NewAxis{});
        } else if (v->kind == Value::kInt) {
          items.push_back(v->i);
        } else if (v->kind == Value::kString && obj->kind == Value::kRecords) {
          keys.push_back(*v);
          continue;
        } else if (v->kind == Value::kArray || v->kind == Value::kList) {
          absl::StatusOr<Array<>> x = ToArray(*v, "index");
          if (!x.ok()) return x.status();
          advanced.push_back(*std::move(x));
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
    if (obj->kind == Value::kRecords) return RecordSubscript(*obj, keys, items);
    if (obj->kind != Value::kArray)
      return Bad(absl::StrCat("'", Repr(*obj), "' is not subscriptable"));
    try {
      if (any_array) return Value::Arr(index(obj->array, advanced));
      return Value::Arr(obj->array.index(items));
    } catch (const Error& e) {
      return absl::Status(e.code(), e.what());
    }
  }

  // --- Explorer commands ---------------------------------------------------

  absl::StatusOr<Array<>> ArrayOf(absl::string_view expr) {
    absl::StatusOr<NodePtr> ast = ParseStatement(expr);
    if (!ast.ok()) return ast.status();
    // Refused before it runs: showing a statement must not bind a name.
    if ((*ast)->kind == Node::kAssign)
      return Bad("the explorer shows expressions, not assignments");
    absl::StatusOr<Value> v = Eval(**ast);
    if (!v.ok()) return v.status();
    if (v->kind != Value::kArray) return Bad("the explorer shows array expressions");
    return v->array;
  }

  absl::StatusOr<std::string> Command(absl::string_view line);
};

absl::StatusOr<std::string> Session::Impl::Command(absl::string_view line) {
  line = absl::StripAsciiWhitespace(line);
  const size_t space = line.find(' ');
  const std::string cmd(line.substr(0, space));
  std::string rest(
      space == absl::string_view::npos ? "" : absl::StripAsciiWhitespace(line.substr(space)));
  if (cmd == ":help") {
    std::string out;
    for (const ExplorerCommand& c : kCommands) {
      absl::StrAppend(&out, absl::StrFormat("%-14s", absl::StrCat(c.name, " ", c.args)), c.help,
                      "\n");
    }
    return out;
  }
  if (cmd == ":cache") {
    if (rest == "clear") {
      ReleaseCachedMemory();
    } else if (!rest.empty()) {
      return Bad(absl::StrCat(":cache takes nothing or 'clear', not '", rest, "'"));
    }
    const codegen::CompileStats s = codegen::GetCompileStats();
    const PoolStats p = GetPoolStats();
    constexpr double kMiB = 1 << 20;
    return absl::StrCat("kernels compiled: ", s.kernels_compiled, ", cache hits: ", s.cache_hits,
                        ", compile time: ", absl::StrFormat("%.1f", s.compile_ms), " ms\n",
                        absl::StrFormat("memory: %.1f MiB in arrays, %.1f MiB cached for reuse",
                                        p.bytes_in_use / kMiB, p.bytes_cached / kMiB),
                        "\n");
  }
  if (cmd == ":vars") {
    std::string out;
    for (const auto& [name, v] : vars) {
      absl::StrAppend(&out, name, ": ",
                      v.kind == Value::kArray ? ir::TypeString(v.array.dtype(), v.array.shape())
                      : v.kind == Value::kRecords
                          ? absl::StrCat("records ", ShapeRepr(v.records.shape()), " ",
                                         v.records.type()->Repr())
                          : Repr(v),
                      "\n");
    }
    return out;
  }
  const ExplorerCommand* command =
      std::find_if(std::begin(kCommands), std::end(kCommands),
                   [&](const ExplorerCommand& c) { return cmd == c.name; });
  if (command == std::end(kCommands) || !command->takes_expression) {
    return Bad(absl::StrCat("unknown command ", cmd, " (:help lists commands)"));
  }
  bool optimized = false;
  std::string file;
  if (cmd == ":llvm" && absl::EndsWith(rest, " opt")) {
    optimized = true;
    rest.resize(rest.size() - 4);
  }
  if (cmd == ":dot") {
    const size_t last = rest.rfind(' ');
    if (last == std::string::npos) return Bad(":dot needs an expression and a file name");
    file = rest.substr(last + 1);
    rest.resize(last);
  }
  if (rest.empty()) return Bad(absl::StrCat(cmd, " needs an expression (:help lists commands)"));
  absl::StatusOr<Array<>> a = ArrayOf(rest);
  if (!a.ok()) return a.status();
  if (cmd == ":graph") return ir::PrintGraph({a->node()});
  if (cmd == ":program") {
    absl::StatusOr<ir::Program> program = engine::Schedule({a->node()});
    if (program.status().code() == absl::StatusCode::kUnimplemented) {
      return absl::StrCat("not planned as a Program yet (", program.status().message(),
                          "): evaluated without one\n");
    }
    if (!program.ok()) return program.status();
    return ir::PrintProgram(*program);
  }
  if (cmd == ":dot") {
    std::string dot = "digraph ndjit {\n  rankdir=BT;\n  node [shape=box, fontname=monospace];\n";
    const std::vector<const ir::Node*> order = ir::TopologicalOrder({a->node()});
    std::map<const ir::Node*, int> id;
    for (const ir::Node* n : order) {
      const int k = static_cast<int>(id.size());
      id[n] = k;
      std::string label = n->kind() == ir::NodeKind::kArray    ? "array"
                          : n->kind() == ir::NodeKind::kScalar ? "scalar"
                          : n->kind() == ir::NodeKind::kCast   ? "cast"
                          : n->kind() == ir::NodeKind::kReduce
                              ? std::string(ir::ReductionName(n->op()))
                              : std::string(ir::Name(n->op()));
      absl::StrAppend(
          &dot, "  n", k, " [label=\"%", k, " ", label, "\\n",
          ir::TypeString(n->dtype(), n->shape()), "\"",
          n->kind() == ir::NodeKind::kReduce ? ", style=filled, fillcolor=lightblue" : "", "];\n");
      for (const ir::NodePtr& in : n->inputs())
        absl::StrAppend(&dot, "  n", id[in.get()], " -> n", k, ";\n");
    }
    // Kernels as clusters: the nodes each one computes.
    absl::StatusOr<Shown> shown = EvaluateAndShow(*a);
    if (!shown.ok()) return shown.status();
    // A node belongs to the first kernel that computes it; leaves (inputs)
    // and values a kernel only reads stay outside.
    std::vector<std::string> placed;
    for (const ir::Node* n : order) {
      if (n->kind() == ir::NodeKind::kArray || n->kind() == ir::NodeKind::kScalar) {
        placed.push_back(absl::StrCat("%", id[n]));
      }
    }
    for (size_t k = 0; k < shown->kernels.size(); ++k) {
      absl::StrAppend(&dot, "  subgraph cluster_", k, " {\n    label=\"kernel ", k, "\";\n");
      for (const std::string& label : shown->kernels[k].labels) {
        if (label.empty() || std::find(placed.begin(), placed.end(), label) != placed.end()) {
          continue;
        }
        placed.push_back(label);
        absl::StrAppend(&dot, "    n", label.substr(1), ";\n");
      }
      dot += "  }\n";
    }
    dot += "}\n";
    std::ofstream f(file);
    if (!(f << dot)) return Bad(absl::StrCat("cannot write ", file));
    return absl::StrCat("wrote ", file, " (", order.size(), " nodes)\n");
  }
  double first_ms = 0;
  const codegen::CompileStats before = codegen::GetCompileStats();
  // :time reads the profiler's numbers: on for the command, as it was after.
  const bool was_profiling = codegen::ProfilingEnabled();
  struct Restore {
    bool on;
    ~Restore() { codegen::SetProfiling(on); }
  } restore{was_profiling};
  std::vector<codegen::KernelProfile> profile_before;
  if (cmd == ":time") {
    codegen::SetProfiling(true);
    profile_before = codegen::GetProfile();
  }
  absl::StatusOr<Shown> shown = EvaluateAndShow(*a);
  if (!shown.ok()) return shown.status();
  first_ms = shown->first_ms;
  const std::vector<ShownKernel>& kernels = shown->kernels;
  if (!shown->unplanned.empty()) {
    return absl::StrCat("not planned as a Program yet (", shown->unplanned,
                        "): evaluated without one\n");
  }
  if (kernels.empty()) return std::string("no kernel runs: the value is an array already\n");
  std::string out;
  if (shown->streamed_chunks > 0) {
    absl::StrAppend(&out, "streamed: ", shown->streamed_chunks, " chunks in ",
                    shown->streamed_passes,
                    " pass(es) along the first axis of the memory-mapped inputs (chunk budget ",
                    StreamChunkBytes(), " bytes); each kernel shown once\n");
  }
  if (cmd == ":fused" || cmd == ":loops") {
    for (size_t k = 0; k < kernels.size(); ++k) {
      const ShownKernel& l = kernels[k];
      if (l.reference) {
        absl::StrAppend(&out, "kernel ", k, ": the reference evaluator computes ",
                        absl::StrJoin(l.computes, ", "), " (the JIT does not lower it)\n  nodes ",
                        absl::StrJoin(l.labels, " "), "\n");
        continue;
      }
      if (l.gemm) {
        absl::StrAppend(&out, "kernel ", k, ": ", l.gemm_text, "\n  nodes ", l.labels[0], "\n");
        if (l.has_epilogue) {
          absl::StrAppend(&out, "  epilogue: kernel ", k + 1,
                          " runs on each block of C while it is in cache\n");
        }
        continue;
      }
      const auto bytes = static_cast<int64_t>(ir::MovedBytes(l.spec, l.sizes, l.strides));
      const int64_t ops = ir::FusedOps(l.spec);
      // The graph nodes the kernel covers, by the names :graph gives them.
      std::vector<std::string> nodes;
      for (const std::string& label : l.labels) {
        if (!label.empty() && std::find(nodes.begin(), nodes.end(), label) == nodes.end()) {
          nodes.push_back(label);
        }
      }
      absl::StrAppend(&out, "kernel ", k, ": computes ", absl::StrJoin(l.computes, ", "),
                      "; reads ", l.reads, " array(s) and ", l.spec.scalars.size(),
                      " scalar(s); fuses ", ops, " op(s); moves ", bytes, " bytes\n");
      absl::StrAppend(&out, "  nodes ", absl::StrJoin(nodes, " "), "\n");
      if (cmd == ":loops")
        absl::StrAppend(&out, ir::PrintKernel(l.spec, l.sizes, l.strides, l.labels));
    }
    return out;
  }
  if (cmd == ":llvm" || cmd == ":asm") {
    for (size_t k = 0; k < kernels.size(); ++k) {
      const ShownKernel& l = kernels[k];
      if (l.reference) {
        absl::StrAppend(&out, "; kernel ", k, ": the reference evaluator\n");
        continue;
      }
      absl::StatusOr<std::string> text =
          l.gemm          ? codegen::GemmKernelText(l.gemm_dtype,
                                           cmd == ":asm" ? codegen::GemmStage::kAssembly
                                                    : optimized   ? codegen::GemmStage::kOptimizedLLVM
                                                                  : codegen::GemmStage::kLLVM)
          : cmd == ":asm" ? codegen::KernelAssembly(l.spec)
                          : codegen::KernelLLVMIR(l.spec, optimized, l.labels);
      if (!text.ok()) return text.status();
      absl::StrAppend(&out, "; kernel ", k, "\n", *text);
    }
    return out;
  }
  if (cmd == ":time") {
    const codegen::CompileStats after = codegen::GetCompileStats();
    auto best_of = [&](Backend b) {
      double best = 1e30;
      for (int r = 0; r < 5; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        Array<>(a->node()).eval(b);
        best = std::min(
            best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                      .count());
      }
      return best;
    };
    double jit_ms, eager_ms;
    std::vector<codegen::KernelProfile> per_kernel;
    try {
      jit_ms = best_of(Backend::kJit);
      // The profiler's rows that moved while the fused runs ran, as deltas.
      for (codegen::KernelProfile row : codegen::GetProfile()) {
        for (const codegen::KernelProfile& old : profile_before) {
          if (old.name != row.name) continue;
          row.calls -= old.calls;
          row.compile_ms -= old.compile_ms;
          row.run_ms -= old.run_ms;
          row.bytes -= old.bytes;
          row.flops -= old.flops;
        }
        if (row.calls > 0) per_kernel.push_back(row);
      }
      codegen::SetProfiling(was_profiling);
      eager_ms = best_of(Backend::kEager);
    } catch (const Error& e) {
      return absl::Status(e.code(), e.what());
    }
    // Bytes that must move: every input read once, every kernel output written once.
    int64_t bytes = 0;
    for (const ir::Node* n : ir::TopologicalOrder({a->node()})) {
      if (n->kind() == ir::NodeKind::kArray) bytes += n->array().nbytes();
    }
    bytes += a->size() * ItemSize(a->dtype());
    // Work: one operation per element each ufunc produces, per element a
    // reduction folds (transcendentals count as one), two per multiply-add
    // of a contraction.
    double flops = 0;
    for (const ir::Node* n : ir::TopologicalOrder({a->node()})) {
      if (n->kind() == ir::NodeKind::kUfunc) flops += static_cast<double>(n->size());
      if (n->kind() == ir::NodeKind::kReduce) flops += static_cast<double>(n->inputs()[0]->size());
      if (n->kind() == ir::NodeKind::kContract) {
        double space = 1;
        for (int w : {0, 1}) {
          for (int d = 0; d < n->inputs()[w]->ndim(); ++d) {
            const int l = n->labels(w)[d];
            if (w == 1 &&
                std::find(n->labels(0).begin(), n->labels(0).end(), l) != n->labels(0).end()) {
              continue;
            }
            space *= static_cast<double>(n->inputs()[w]->shape()[d]);
          }
        }
        flops += 2 * space;
      }
    }
    auto rate = [&](double ms) {
      return absl::StrFormat("%.2f GB/s, %.2f Gop/s", bytes / ms / 1e6, flops / ms / 1e6);
    };
    return absl::StrCat(
        absl::StrFormat("first evaluation %.3f ms, of which compiling %.3f ms (%d kernel(s))\n",
                        first_ms, after.compile_ms - before.compile_ms,
                        static_cast<int>(after.kernels_compiled - before.kernels_compiled)),
        absl::StrFormat("fused: %.3f ms, %s   eager: %.3f ms, %s   (%.1fx)\n", jit_ms, rate(jit_ms),
                        eager_ms, rate(eager_ms), eager_ms / jit_ms),
        "per kernel, over the first and the 5 timed fused evaluations (the profiler's numbers):\n",
        codegen::ProfileReport(per_kernel));
  }
  return Bad(absl::StrCat("unknown command ", cmd, " (:help lists commands)"));
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
  absl::StatusOr<NodePtr> ast = ParseStatement(expr);
  if (!ast.ok()) return ast.status();
  if ((*ast)->kind == Node::kAssign) return Bad("expected an expression, not an assignment");
  std::vector<std::string> names;
  CollectNames(**ast, names);
  return names;
}

absl::StatusOr<std::shared_ptr<const Function>> Session::Trace(absl::string_view expr,
                                                               std::vector<std::string> params) {
  absl::StatusOr<NodePtr> ast = ParseStatement(expr);
  if (!ast.ok()) return ast.status();
  if ((*ast)->kind == Node::kAssign) return Bad("expected an expression, not an assignment");
  Value lambda;
  lambda.kind = Value::kLambda;
  auto l = std::make_shared<Lambda>();
  l->params = std::move(params);
  l->body = std::shared_ptr<const Node>(std::move(*ast));
  lambda.lambda = std::move(l);
  // The traced function keeps the session alive: it reads its variables.
  std::shared_ptr<Impl> impl = impl_;
  const Evaluator eval = [impl](const Node& body) { return impl->Eval(body); };
  absl::StatusOr<Value> f = Jit(Args{{lambda}, {}}, impl->vars, eval);
  if (!f.ok()) return f.status();
  // The Function's callable reads impl->vars and evaluates through impl:
  // its evaluator holds the session, the returned pointer its lambda.
  std::shared_ptr<const Lambda> traced = f->lambda;
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
    absl::StatusOr<NodePtr> ast = ParseStatement(line);
    if (!ast.ok()) return ast.status();
    const EvalStats before = GetEvalStats();
    absl::StatusOr<Value> v = impl_->Eval(**ast);
    if (!v.ok()) return v.status();
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
    if ((*ast)->kind == Node::kAssign || v->kind == Value::kNone) return note;
    if (v->kind == Value::kArray) return note + Array<>(v->array.node()).repr() + "\n";
    if (v->kind == Value::kTuple) {
      // The arrays of a tuple (divmod's results) in one evaluation.
      std::vector<const Array<>*> arrays;
      for (const Value& item : v->items) {
        if (item.kind == Value::kArray) arrays.push_back(&item.array);
      }
      if (arrays.size() > 1) EvaluateAll(arrays);
    }
    // A report (einsum_path's table) prints as text, as print() would.
    if (v->kind == Value::kString && v->s.find('\n') != std::string::npos) return note + v->s;
    return note + Repr(*v) + "\n";
  } catch (const Error& e) {
    return absl::Status(e.code(), e.what());
  }
}

absl::StatusOr<NDArray> Session::EvaluateArray(absl::string_view expr) {
  try {
    absl::StatusOr<NodePtr> ast = ParseStatement(expr);
    if (!ast.ok()) return ast.status();
    if ((*ast)->kind == Node::kAssign) return Bad("expected an expression, not an assignment");
    absl::StatusOr<Value> v = impl_->Eval(**ast);
    if (!v.ok()) return v.status();
    absl::StatusOr<Array<>> a = ToArray(*v, "eval");
    if (!a.ok()) return a.status();
    return Array<>(a->node()).array();
  } catch (const Error& e) {
    return absl::Status(e.code(), e.what());
  }
}

std::vector<std::string> Session::Completions(absl::string_view prefix) const {
  std::vector<std::string> names = BuiltinNames();
  names.push_back("jit");
  names.push_back("lambda");
  for (const auto& [name, v] : impl_->vars) names.push_back(name);
  for (const ExplorerCommand& c : kCommands) names.push_back(c.name);
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
