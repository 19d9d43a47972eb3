// The language's builtins: every ufunc of the op table under its NumPy name,
// the reductions, shape functions, array creation, .npy files, and the
// methods of arrays.
#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "args.h"
#include "lambda.h"
#include "ndjit/linalg.h"
#include "ndjit/runtime/npy.h"
#include "ndjit/runtime/status_macros.h"
#include "signatures.h"
#include "value.h"

namespace ndjit::script {
namespace {

std::mt19937_64& Rng() {
  static std::mt19937_64 rng(0);
  return rng;
}

absl::StatusOr<Value> Random(bool normal, const Args& a) {
  if (const Value* seed = Arg(a, "seed", 1000)) {
    NDJIT_ASSIGN_OR_RETURN(int64_t s, ToInt(*seed, "seed"));
    Rng().seed(static_cast<uint64_t>(s));
  }
  Shape shape;
  double loc = 0, scale = 1;
  if (normal) {
    for (auto [name, index, target] :
         {std::tuple{"loc", 0, &loc}, std::tuple{"scale", 1, &scale}}) {
      if (const Value* v = Arg(a, name, index)) {
        NDJIT_ASSIGN_OR_RETURN(double x, ToFloat(*v, name));
        *target = x;
      }
    }
    if (const Value* v = Arg(a, "size", 2)) {
      NDJIT_ASSIGN_OR_RETURN(Shape s, ToShape(*v, "size"));
      shape = s;
    }
  } else {
    NDJIT_ASSIGN_OR_RETURN(Shape s, ShapeArgs(a.pos, 0, "dimensions"));
    if (!a.pos.empty()) shape = s;
  }
  NDJIT_ASSIGN_OR_RETURN(NDArray out, NDArray::Empty(shape, DType::kFloat64));
  double* p = reinterpret_cast<double*>(out.data());
  std::uniform_real_distribution<double> uni(0, 1);
  std::normal_distribution<double> gauss(loc, scale);
  for (int64_t i = 0; i < out.size(); ++i) p[i] = normal ? gauss(Rng()) : uni(Rng());
  return Value::Arr(Array<>(out));
}

// Reductions share their argument handling: (a, axis, dtype/ddof, keepdims).
// einsum's operands and options: (subscripts, *operands, optimize=).
absl::StatusOr<std::pair<std::vector<Array<>>, PathStrategy>> EinsumArgs(const Args& a,
                                                                         const char* fn) {
  if (a.pos.empty() || a.pos[0].kind != Value::kString) {
    return Bad(absl::StrCat(fn, "() needs a subscripts string first"));
  }
  std::vector<Array<>> ops;
  for (size_t k = 1; k < a.pos.size(); ++k) {
    NDJIT_ASSIGN_OR_RETURN(Array<> x, ToArray(a.pos[k], fn));
    ops.push_back(x);
  }
  // NumPy's dtype= computes in that type: the operands are cast to it, under
  // einsum's default casting='safe'.
  if (auto it = a.kw.find("dtype"); it != a.kw.end() && it->second.kind != Value::kNone) {
    NDJIT_ASSIGN_OR_RETURN(DType t, ToDType(it->second));
    for (Array<>& x : ops) {
      if (!CanCast(x.dtype(), t, Casting::kSafe)) {
        return Bad(absl::StrCat(fn, "(): cannot cast an operand from ", Name(x.dtype()), " to ",
                                Name(t), " under casting='safe'"));
      }
      x = x.astype(t);
    }
  }
  PathStrategy strategy = PathStrategy::kAuto;
  if (auto it = a.kw.find("optimize"); it != a.kw.end()) {
    const Value& o = it->second;
    if (o.kind == Value::kBool) {
      strategy = o.i ? PathStrategy::kAuto : PathStrategy::kNone;
    } else if (o.kind == Value::kString && (o.s == "optimal" || o.s == "greedy")) {
      strategy = o.s == "optimal" ? PathStrategy::kOptimal : PathStrategy::kGreedy;
    } else {
      return Bad(absl::StrCat(fn, "(): optimize must be True, False, 'greedy' or 'optimal', not ",
                              Repr(o)));
    }
  }
  return std::pair{ops, strategy};
}

// random.default_rng(seed) and its methods: lazy Philox arrays
// (<ndjit/random.h>) that fuse into the kernels reading them.
void AddGenerator(std::map<std::string, Fn>& t) {
  t["random.default_rng"] = [](Args& a) -> absl::StatusOr<Value> {
    int64_t seed = 0;
    if (const Value* v = Arg(a, "seed", 0); v != nullptr && v->kind != Value::kNone) {
      NDJIT_ASSIGN_OR_RETURN(int64_t n, ToInt(*v, "seed"));
      seed = n;
    }
    Value g;
    g.kind = Value::kGenerator;
    g.rng = std::make_shared<Generator>(static_cast<uint64_t>(seed));
    return g;
  };
  // (self, numbers..., size=, dtype=): `names` are the numbers' keywords.
  auto method = [&](const char* name, std::vector<std::pair<const char*, double>> numbers,
                    auto draw) {
    t[absl::StrCat("rng.", name)] = [name, numbers, draw](Args& a) -> absl::StatusOr<Value> {
      if (a.pos.empty() || a.pos[0].kind != Value::kGenerator) {
        return Bad(absl::StrCat(name, "() is a method of a Generator"));
      }
      std::vector<double> x;
      for (size_t k = 0; k < numbers.size(); ++k) {
        double v = numbers[k].second;
        if (const Value* given = Arg(a, numbers[k].first, k + 1)) {
          NDJIT_ASSIGN_OR_RETURN(double d, ToFloat(*given, numbers[k].first));
          v = d;
        }
        x.push_back(v);
      }
      Shape shape;
      if (const Value* s = Arg(a, "size", numbers.size() + 1);
          s != nullptr && s->kind != Value::kNone) {
        NDJIT_ASSIGN_OR_RETURN(Shape sh, ToShape(*s, "size"));
        shape = sh;
      }
      DType dtype = DType::kFloat64;
      if (const Value* d = Arg(a, "dtype", 1000)) {
        NDJIT_ASSIGN_OR_RETURN(DType dt, ToDType(*d));
        dtype = dt;
      }
      return Value::Arr(draw(*a.pos[0].rng, x, shape, dtype));
    };
  };
  method("random", {},
         [](Generator& g, const std::vector<double>&, Dims s, DType t) { return g.random(s, t); });
  method("uniform", {{"low", 0.0}, {"high", 1.0}},
         [](Generator& g, const std::vector<double>& x, Dims s, DType t) {
           return g.uniform(x[0], x[1], s, t);
         });
  method("normal", {{"loc", 0.0}, {"scale", 1.0}},
         [](Generator& g, const std::vector<double>& x, Dims s, DType t) {
           return g.normal(x[0], x[1], s, t);
         });
  // integers(low, high): NumPy's, with [0, low) when high is left out.
  method("integers", {{"low", 0.0}, {"high", NAN}},
         [](Generator& g, const std::vector<double>& x, Dims s, DType) {
           return std::isnan(x[1])
                      ? g.integers(0, static_cast<int64_t>(x[0]), s)
                      : g.integers(static_cast<int64_t>(x[0]), static_cast<int64_t>(x[1]), s);
         });
}

// The contractions of linalg.h under NumPy's names.
void AddContractions(std::map<std::string, Fn>& t) {
  t["einsum"] = [](Args& a) -> absl::StatusOr<Value> {
    auto ops = EinsumArgs(a, "einsum");
    if (!ops.ok()) return ops.status();
    return Value::Arr(einsum(a.pos[0].s, ops->first, ops->second));
  };
  // The chosen order as a table (what the REPL prints).
  t["einsum_path"] = [](Args& a) -> absl::StatusOr<Value> {
    auto ops = EinsumArgs(a, "einsum_path");
    if (!ops.ok()) return ops.status();
    Value v;
    v.kind = Value::kString;
    v.s = einsum_path(a.pos[0].s, ops->first, ops->second).ToString();
    return v;
  };
  using Binary = Array<> (*)(const Array<>&, const Array<>&);
  for (const auto& [name, fn] : std::initializer_list<std::pair<const char*, Binary>>{
           {"matmul", matmul}, {"dot", dot}, {"inner", inner}, {"outer", outer}, {"vdot", vdot}}) {
    t[name] = [name = name, fn = fn](Args& a) -> absl::StatusOr<Value> {
      if (a.pos.size() != 2) return Bad(absl::StrCat(name, "() takes 2 arrays"));
      absl::StatusOr<Array<>> x = ToArray(a.pos[0], name), y = ToArray(a.pos[1], name);
      if (!x.ok()) return x.status();
      if (!y.ok()) return y.status();
      return Value::Arr(fn(*x, *y));
    };
  }
  t["tensordot"] = [](Args& a) -> absl::StatusOr<Value> {
    if (a.pos.size() < 2) return Bad("tensordot() takes 2 arrays and axes");
    absl::StatusOr<Array<>> x = ToArray(a.pos[0], "tensordot"), y = ToArray(a.pos[1], "tensordot");
    if (!x.ok()) return x.status();
    if (!y.ok()) return y.status();
    const Value* axes = Arg(a, "axes", 2);
    if (axes == nullptr) return Value::Arr(tensordot(*x, *y));
    if (axes->kind == Value::kTuple && axes->items.size() == 2) {
      absl::StatusOr<Shape> xa = ToShape(axes->items[0], "axes"),
                            ya = ToShape(axes->items[1], "axes");
      if (!xa.ok()) return xa.status();
      if (!ya.ok()) return ya.status();
      return Value::Arr(tensordot(*x, *y, *xa, *ya));
    }
    NDJIT_ASSIGN_OR_RETURN(int64_t n, ToInt(*axes, "axes"));
    return Value::Arr(tensordot(*x, *y, n));
  };
  for (const char* name : {"trace", "diagonal"}) {
    t[name] = [name](Args& a) -> absl::StatusOr<Value> {
      if (a.pos.empty()) return Bad(absl::StrCat(name, "() missing required argument 'a'"));
      NDJIT_ASSIGN_OR_RETURN(Array<> x, ToArray(a.pos[0], name));
      int64_t p[3] = {0, 0, 1};
      const char* names[3] = {"offset", "axis1", "axis2"};
      for (int k = 0; k < 3; ++k) {
        if (const Value* v = Arg(a, names[k], k + 1)) {
          NDJIT_ASSIGN_OR_RETURN(int64_t n, ToInt(*v, names[k]));
          p[k] = n;
        }
      }
      return Value::Arr(std::string(name) == "trace" ? trace(x, p[0], p[1], p[2])
                                                     : diagonal(x, p[0], p[1], p[2]));
    };
  }
  // linalg.multi_dot((a, b, c)) or multi_dot(a, b, c).
  t["linalg.multi_dot"] = [](Args& a) -> absl::StatusOr<Value> {
    const std::vector<Value>& items =
        a.pos.size() == 1 && a.pos[0].kind == Value::kTuple ? a.pos[0].items : a.pos;
    std::vector<Array<>> arrays;
    for (const Value& v : items) {
      NDJIT_ASSIGN_OR_RETURN(Array<> x, ToArray(v, "multi_dot"));
      arrays.push_back(x);
    }
    return Value::Arr(multi_dot(arrays));
  };
}

std::map<std::string, Fn>& Table() {
  static auto* table = new std::map<std::string, Fn>([] {
    std::map<std::string, Fn> t;
    for (int k = 0; k < ir::kNumUfuncs; ++k) {
      const auto op = static_cast<ir::Ufunc>(k);
      t[std::string(ir::Name(op))] = [op](Args& a) { return ApplyUfunc(op, a.pos); };
    }
    t["abs"] = t["absolute"];
    // Two results as a tuple; printed, both come from one evaluation.
    t["divmod"] = [](Args& a) -> absl::StatusOr<Value> {
      if (a.pos[0].IsNumber() && a.pos[1].IsNumber()) {
        absl::StatusOr<Value> q = NumberOp("//", a.pos[0], a.pos[1]);
        if (!q.ok()) return q;
        absl::StatusOr<Value> r = NumberOp("%", a.pos[0], a.pos[1]);
        if (!r.ok()) return r;
        Value t;
        t.kind = Value::kTuple;
        t.items = {*q, *r};
        return t;
      }
      absl::StatusOr<Value> q = ApplyUfunc(ir::Ufunc::kFloorDivide, a.pos);
      if (!q.ok()) return q;
      absl::StatusOr<Value> r = ApplyUfunc(ir::Ufunc::kRemainder, a.pos);
      if (!r.ok()) return r;
      Value t;
      t.kind = Value::kTuple;
      t.items = {*q, *r};
      return t;
    };
    t["modf"] = [](Args& a) -> absl::StatusOr<Value> {
      NDJIT_ASSIGN_OR_RETURN(Array<> x, ToArray(a.pos[0], "modf"));
      auto [frac, whole] = modf(x);
      Value t;
      t.kind = Value::kTuple;
      t.items = {Value::Arr(frac), Value::Arr(whole)};
      return t;
    };
    t["conj"] = t["conjugate"];
    t["true_divide"] = t["divide"];
    AddReductions(t);
    auto array_arg = [](Args& a, const char* fn) -> absl::StatusOr<Array<>> {
      if (a.pos.empty()) return Bad(absl::StrCat(fn, "() missing required argument 'a'"));
      return ToArray(a.pos[0], fn);
    };
    t["transpose"] = [array_arg](Args& a) -> absl::StatusOr<Value> {
      NDJIT_ASSIGN_OR_RETURN(Array<> x, array_arg(a, "transpose"));
      Shape axes;
      if (a.pos.size() > 1 && a.pos[1].kind != Value::kNone) {
        NDJIT_ASSIGN_OR_RETURN(Shape s, ShapeArgs(a.pos, 1, "axes"));
        axes = s;
      }
      return Value::Arr(x.transpose(axes));
    };
    t["reshape"] = [array_arg](Args& a) -> absl::StatusOr<Value> {
      NDJIT_ASSIGN_OR_RETURN(Array<> x, array_arg(a, "reshape"));
      NDJIT_ASSIGN_OR_RETURN(Shape s, ShapeArgs(a.pos, 1, "shape"));
      return Value::Arr(x.reshape(s));
    };
    t["broadcast_to"] = [array_arg](Args& a) -> absl::StatusOr<Value> {
      NDJIT_ASSIGN_OR_RETURN(Array<> x, array_arg(a, "broadcast_to"));
      const Value* s = Arg(a, "shape", 1);
      if (s == nullptr) return Bad("broadcast_to() missing required argument 'shape'");
      NDJIT_ASSIGN_OR_RETURN(Shape shape, ToShape(*s, "shape"));
      return Value::Arr(x.broadcast_to(shape));
    };
    t["squeeze"] = [array_arg](Args& a) -> absl::StatusOr<Value> {
      NDJIT_ASSIGN_OR_RETURN(Array<> x, array_arg(a, "squeeze"));
      const Value* ax = Arg(a, "axis", 1);
      if (ax == nullptr || ax->kind == Value::kNone) return Value::Arr(x.squeeze());
      NDJIT_ASSIGN_OR_RETURN(Shape s, ToShape(*ax, "axis"));
      return Value::Arr(x.squeeze(Dims(s)));
    };
    t["expand_dims"] = [array_arg](Args& a) -> absl::StatusOr<Value> {
      NDJIT_ASSIGN_OR_RETURN(Array<> x, array_arg(a, "expand_dims"));
      const Value* ax = Arg(a, "axis", 1);
      if (ax == nullptr) return Bad("expand_dims() missing required argument 'axis'");
      NDJIT_ASSIGN_OR_RETURN(Shape s, ToShape(*ax, "axis"));
      return Value::Arr(x.expand_dims(s));
    };
    t["astype"] = [array_arg](Args& a) -> absl::StatusOr<Value> {
      NDJIT_ASSIGN_OR_RETURN(Array<> x, array_arg(a, "astype"));
      const Value* d = Arg(a, "dtype", 1);
      if (d == nullptr) return Bad("astype() missing required argument 'dtype'");
      NDJIT_ASSIGN_OR_RETURN(DType t, ToDType(*d));
      return Value::Arr(x.astype(t));
    };
    auto creation = [](const char* fn, double fill) {
      return [fn, fill](Args& a) -> absl::StatusOr<Value> {
        const Value* s = Arg(a, "shape", 0);
        if (s == nullptr) return Bad(absl::StrCat(fn, "() missing required argument 'shape'"));
        NDJIT_ASSIGN_OR_RETURN(Shape shape, ToShape(*s, "shape"));
        double value = fill;
        size_t dtype_at = 1;
        if (std::string(fn) == "full") {
          const Value* v = Arg(a, "fill_value", 1);
          if (v == nullptr) return Bad("full() missing required argument 'fill_value'");
          NDJIT_ASSIGN_OR_RETURN(double x, ToFloat(*v, "fill_value"));
          value = x;
          dtype_at = 2;
        }
        DType t = DType::kFloat64;
        if (const Value* d = Arg(a, "dtype", dtype_at)) {
          NDJIT_ASSIGN_OR_RETURN(DType dt, ToDType(*d));
          t = dt;
        }
        NDJIT_ASSIGN_OR_RETURN(NDArray out, NDArray::Full(shape, t, value));
        return Value::Arr(Array<>(out));
      };
    };
    t["zeros"] = creation("zeros", 0);
    t["ones"] = creation("ones", 1);
    t["full"] = creation("full", 0);
    t["arange"] = [](Args& a) -> absl::StatusOr<Value> {
      if (a.pos.empty() || a.pos.size() > 3)
        return Bad("arange() takes 1 to 3 positional arguments");
      bool ints = true;
      for (const Value& v : a.pos) ints &= v.kind == Value::kInt || v.kind == Value::kBool;
      DType t = ints ? DType::kInt64 : DType::kFloat64;
      if (const Value* d = Arg(a, "dtype", 1000)) {
        NDJIT_ASSIGN_OR_RETURN(DType dt, ToDType(*d));
        t = dt;
      }
      absl::StatusOr<NDArray> out;
      if (ints) {
        // Exact in int64, as NumPy is: 2**62 + i is no float64 value.
        const int64_t start = a.pos.size() > 1 ? a.pos[0].i : 0;
        const int64_t stop = a.pos.size() > 1 ? a.pos[1].i : a.pos[0].i;
        const int64_t step = a.pos.size() > 2 ? a.pos[2].i : 1;
        if (step == 0) return Bad("Maximum allowed size exceeded");
        const __int128 diff = static_cast<__int128>(stop) - start;
        __int128 n = diff / step;
        if (diff % step != 0 && (diff % step > 0) == (step > 0)) ++n;  // ceil
        out = NDArray::Range(start, step, static_cast<int64_t>(std::max<__int128>(n, 0)), t);
      } else {
        std::vector<double> p;
        for (const Value& v : a.pos) {
          NDJIT_ASSIGN_OR_RETURN(double x, ToFloat(v, "arange() argument"));
          p.push_back(x);
        }
        const double start = p.size() > 1 ? p[0] : 0, stop = p.size() > 1 ? p[1] : p[0];
        const double step = p.size() > 2 ? p[2] : 1;
        if (step == 0) return Bad("Maximum allowed size exceeded");
        // NumPy's length rule: an infinite quotient is too large whatever its
        // sign, and a quotient that underflows to zero counts one element
        // when positive (arange(0, 5, inf) is [0.]).
        const double q = (stop - start) / step;
        if (std::isnan(q)) return Bad("arange: cannot compute length");
        double n = std::ceil(q);
        if (q == 0 && stop != start) n = std::signbit(q) ? 0 : 1;
        if (std::isinf(q) || n >= 0x1p63) return Bad("Maximum allowed size exceeded");
        out = NDArray::Range(start, step, std::max<int64_t>(0, static_cast<int64_t>(n)), t);
      }
      if (!out.ok()) return out.status();
      if (t == DType::kBool && out->size() > 2) {
        return Bad("arange() is only supported for booleans when the result has at most length 2.");
      }
      return Value::Arr(Array<>(*out));
    };
    t["linspace"] = [](Args& a) -> absl::StatusOr<Value> {
      if (a.pos.size() < 2) return Bad("linspace() needs start and stop");
      absl::StatusOr<double> lo = ToFloat(a.pos[0], "start"), hi = ToFloat(a.pos[1], "stop");
      if (!lo.ok()) return lo.status();
      if (!hi.ok()) return hi.status();
      int64_t n = 50;
      if (const Value* v = Arg(a, "num", 2)) {
        NDJIT_ASSIGN_OR_RETURN(int64_t k, ToInt(*v, "num"));
        if (k < 0) return Bad(absl::StrCat("Number of samples, ", k, ", must be non-negative."));
        n = k;
      }
      NDJIT_ASSIGN_OR_RETURN(NDArray out, NDArray::Empty({n}, DType::kFloat64));
      for (int64_t i = 0; i < n; ++i) {
        reinterpret_cast<double*>(out.data())[i] =
            n == 1 ? *lo : *lo + (*hi - *lo) * static_cast<double>(i) / static_cast<double>(n - 1);
      }
      return Value::Arr(Array<>(out));
    };
    t["eye"] = [](Args& a) -> absl::StatusOr<Value> {
      if (a.pos.empty()) return Bad("eye() missing required argument 'N'");
      NDJIT_ASSIGN_OR_RETURN(int64_t n, ToInt(a.pos[0], "N"));
      NDJIT_ASSIGN_OR_RETURN(NDArray out, NDArray::Zeros({n, n}, DType::kFloat64));
      for (int64_t i = 0; i < n; ++i) reinterpret_cast<double*>(out.data())[i * (n + 1)] = 1;
      return Value::Arr(Array<>(out));
    };
    t["random.rand"] = [](Args& a) { return Random(false, a); };
    t["random.normal"] = [](Args& a) { return Random(true, a); };
    t["random.seed"] = [](Args& a) -> absl::StatusOr<Value> {
      if (a.pos.empty()) return Bad("seed() missing required argument 'seed'");
      NDJIT_ASSIGN_OR_RETURN(int64_t s, ToInt(a.pos[0], "seed"));
      Rng().seed(static_cast<uint64_t>(s));
      return Value();
    };
    // np.array / np.asarray: the value computed now (optionally cast), so
    // later expressions read it instead of recomputing it.
    t["array"] = [](Args& a) -> absl::StatusOr<Value> {
      if (a.pos.empty()) return Bad("array() missing required argument 'object'");
      if (IsBytes(a.pos[0])) {
        const Value* d = Arg(a, "dtype", 1);
        NDJIT_ASSIGN_OR_RETURN(RecordTypePtr width,
                               d == nullptr ? RecordTypePtr() : ToItemType(*d, "array()"));
        if (d != nullptr && d->kind != Value::kNone && (width == nullptr || !(width)->is_bytes())) {
          return Bad(absl::StrCat("array(): bytes cannot be read as ", Repr(*d)));
        }
        NDJIT_ASSIGN_OR_RETURN(RecordArray r,
                               ToBytesArray(a.pos[0], width == nullptr ? 0 : (width)->itemsize()));
        return Value::Records(std::move(r));
      }
      NDJIT_ASSIGN_OR_RETURN(Array<> x, ToArray(a.pos[0], "array"));
      Array<> v = x;
      if (const Value* d = Arg(a, "dtype", 1); d != nullptr && d->kind != Value::kNone) {
        NDJIT_ASSIGN_OR_RETURN(DType t, ToDType(*d));
        v = v.astype(t);
      }
      return Value::Arr(Array<>(Array<>(v.node()).array()));
    };
    t["asarray"] = t["array"];
    t["take"] = [](Args& a) -> absl::StatusOr<Value> {
      if (a.pos.size() < 2) return Bad("take() needs an array and indices");
      absl::StatusOr<Array<>> x = ToArray(a.pos[0], "take"), i = ToArray(a.pos[1], "take");
      if (!x.ok()) return x.status();
      if (!i.ok()) return i.status();
      std::optional<int64_t> axis;
      if (const Value* v = Arg(a, "axis", 2); v != nullptr && v->kind != Value::kNone) {
        NDJIT_ASSIGN_OR_RETURN(int64_t n, ToInt(*v, "axis"));
        axis = n;
      }
      try {
        return Value::Arr(take(*x, *i, axis));
      } catch (const Error& e) {
        return absl::Status(e.code(), e.what());
      }
    };
    t["ascontiguousarray"] = [](Args& a) -> absl::StatusOr<Value> {
      if (a.pos.empty()) return Bad("ascontiguousarray() missing required argument 'a'");
      NDJIT_ASSIGN_OR_RETURN(Array<> x, ToArray(a.pos[0], "ascontiguousarray"));
      NDJIT_ASSIGN_OR_RETURN(NDArray c, AsContiguousArray(Array<>(x.node()).array()));
      return Value::Arr(Array<>(c));
    };
    t["load"] = [](Args& a) -> absl::StatusOr<Value> {
      if (a.pos.empty() || a.pos[0].kind != Value::kString) return Bad("load() needs a file name");
      NDJIT_ASSIGN_OR_RETURN(NDArray x, LoadNpy(a.pos[0].s));
      return Value::Arr(Array<>(x));
    };
    t["save"] = [](Args& a) -> absl::StatusOr<Value> {
      if (a.pos.size() != 2 || a.pos[0].kind != Value::kString) {
        return Bad("save() needs a file name and an array");
      }
      NDJIT_ASSIGN_OR_RETURN(Array<> x, ToArray(a.pos[1], "save"));
      NDJIT_RETURN_IF_ERROR(SaveNpy(a.pos[0].s, x.array()));
      return Value();
    };
    AddContractions(t);
    AddComposites(t);
    AddGenerator(t);
    AddRecords(t);
    return t;
  }());
  return *table;
}

}  // namespace

bool IsBuiltin(const std::string& name) { return Table().contains(name); }

bool IsMethod(const std::string& name) {
  static const char* kMethods[] = {"sum",    "prod",   "mean",     "max",       "min",
                                   "any",    "all",    "var",      "std",       "argmax",
                                   "argmin", "astype", "reshape",  "transpose", "squeeze",
                                   "dot",    "trace",  "diagonal", "cumsum",    "cumprod"};
  for (const char* m : kMethods) {
    if (name == m) return true;
  }
  return false;
}

std::vector<std::string> BuiltinNames() {
  std::vector<std::string> out;
  for (const auto& [name, fn] : Table()) out.push_back(name);
  return out;
}

absl::StatusOr<Value> CallBuiltin(const std::string& name, Args args) {
  auto it = Table().find(name);
  if (it == Table().end()) return Bad(absl::StrCat("name '", name, "' is not defined"));
  const Signature* sig = FindSignature(name);
  if (sig == nullptr) return absl::InternalError(absl::StrCat(name, "() has no signature"));
  NDJIT_RETURN_IF_ERROR(sig->Check(args));
  // NumPy's out=, for every builtin that takes it: the value is written into
  // that array (broadcast, cast with same_kind), which is also the result.
  Value out;
  if (auto o = args.kw.find("out"); o != args.kw.end()) {
    out = std::move(o->second);
    args.kw.erase(o);
    if (out.kind != Value::kNone && out.kind != Value::kArray) {
      return Bad(absl::StrCat("out must be an array, not ", KindName(out)));
    }
  }
  try {
    absl::StatusOr<Value> v = it->second(args);
    if (!v.ok() || out.kind != Value::kArray) return v;
    NDJIT_ASSIGN_OR_RETURN(Array<> value, ToArray(*v, name));
    // The operands' handles go first: a handle still alive at the write
    // counts as a reader whose value must be computed before it.
    args = Args();
    v = Value();
    value.eval_into(out.array.array());
    return out;
  } catch (const Error& e) {
    return absl::Status(e.code(), e.what());
  }
}

absl::StatusOr<Array<>> ToArray(const Value& v, const std::string& what) {
  switch (v.kind) {
    case Value::kArray:
      return v.array;
    case Value::kBool:
    case Value::kInt:
    case Value::kFloat:
    case Value::kComplex: {
      const DType t = v.kind == Value::kBool      ? DType::kBool
                      : v.kind == Value::kInt     ? DType::kInt64
                      : v.kind == Value::kComplex ? DType::kComplex128
                                                  : DType::kFloat64;
      ir::ScalarValue s;
      s.i = v.kind == Value::kFloat || v.kind == Value::kComplex ? 0 : v.i;
      s.c = v.kind == Value::kFloat     ? v.f
            : v.kind == Value::kComplex ? v.c
                                        : static_cast<double>(v.i);
      NDJIT_ASSIGN_OR_RETURN(NDArray one, NDArray::Empty({}, t));
      ir::ScalarToStorage(s, t, one.data());
      return Array<>(one);
    }
    case Value::kList:
      return ListToArray(v, what);
    default:
      return Bad(absl::StrCat(what, "(): expected an array or a number, not ", KindName(v)));
  }
}

absl::StatusOr<std::vector<Array<>>> Operands(const std::vector<Value>& ins,
                                              const std::string& what,
                                              const std::function<bool(size_t)>& may_lead,
                                              const std::function<bool(size_t)>& is_exponent) {
  // Python numbers take the dtype of the first array beside them (NEP 50),
  // among those `may_lead` allows (not a condition: where(a > 2, a, 7)
  // stays in a's dtype); an exponent is typed as beside int64.
  const Value* like = nullptr;
  for (size_t k = 0; k < ins.size() && like == nullptr; ++k) {
    if (ins[k].kind == Value::kArray && (!may_lead || may_lead(k))) like = &ins[k];
  }
  std::vector<Array<>> out;
  for (size_t k = 0; k < ins.size(); ++k) {
    const Value& v = ins[k];
    if ((like != nullptr || (is_exponent && is_exponent(k))) && v.IsNumber()) {
      const DType t = is_exponent && is_exponent(k) ? DType::kInt64 : like->array.dtype();
      out.push_back(v.kind == Value::kFloat     ? Weak(t, v.f)
                    : v.kind == Value::kComplex ? Weak(t, v.c)
                    : v.kind == Value::kBool    ? Weak(t, v.i != 0)
                                                : Weak(t, v.i));
      continue;
    }
    NDJIT_ASSIGN_OR_RETURN(Array<> a, ToArray(v, what));
    out.push_back(a);
  }
  return out;
}

absl::StatusOr<Value> ApplyUfunc(ir::Ufunc op, const std::vector<Value>& ins) {
  const ir::UfuncInfo& info = ir::Info(op);
  if (static_cast<int>(ins.size()) != info.arity) {
    return Bad(
        absl::StrCat(info.name, "() takes ", info.arity, " arguments (", ins.size(), " given)"));
  }
  if (std::any_of(ins.begin(), ins.end(), IsBytes)) return BytesUfunc(op, ins);
  try {
    absl::StatusOr<std::vector<Array<>>> arrays = Operands(
        ins, std::string(info.name),
        [op](size_t k) {
          return !ir::IsCondition(op, static_cast<int>(k)) &&
                 !ir::IsExponent(op, static_cast<int>(k));
        },
        [op](size_t k) { return ir::IsExponent(op, static_cast<int>(k)); });
    if (!arrays.ok()) return arrays.status();
    std::vector<ir::NodePtr> nodes;
    for (const Array<>& a : *arrays) nodes.push_back(a.node());
    NDJIT_ASSIGN_OR_RETURN(ir::NodePtr n, ir::MakeUfunc(op, nodes));
    return Value::Arr(Array<>(n));
  } catch (const Error& e) {
    return absl::Status(e.code(), e.what());
  }
}

namespace {

// Python's repr of a float; without `add_dot`, 2.0 is "2" (as in 2j).
std::string PyFloatRepr(double x, bool add_dot) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  int digits = 1;  // Python's repr: the shortest digits that read back
  std::string e;
  for (; digits < 17; ++digits) {
    e = absl::StrFormat("%.*e", digits - 1, x);
    if (std::strtod(e.c_str(), nullptr) == x) break;
  }
  e = absl::StrFormat("%.*e", digits - 1, x);
  const int exponent = std::atoi(e.c_str() + e.find('e') + 1);
  if (exponent < -4 || exponent >= 16) return e;  // "1e-05", "1.5e+16"
  std::string s = absl::StrFormat("%.*f", std::max(0, digits - 1 - exponent), x);
  if (add_dot && s.find('.') == std::string::npos) s += ".0";
  return s;
}

}  // namespace

std::string Repr(const Value& v) {
  switch (v.kind) {
    case Value::kNone:
      return "None";
    case Value::kArray:
      return v.array.repr();
    case Value::kInt:
      return absl::StrCat(v.i);
    case Value::kFloat:
      return PyFloatRepr(v.f, /*add_dot=*/true);
    case Value::kComplex: {
      // Python's: "2j" with a zero (positive) real part, else "(1.5-2j)".
      const std::string im = PyFloatRepr(v.c.imag(), /*add_dot=*/false) + "j";
      if (v.c.real() == 0 && !std::signbit(v.c.real())) return im;
      const bool sign = std::signbit(v.c.imag()) || std::isnan(v.c.imag());
      return absl::StrCat("(", PyFloatRepr(v.c.real(), false), sign && im[0] == '-' ? "" : "+", im,
                          ")");
    }
    case Value::kBool:
      return v.i ? "True" : "False";
    case Value::kString:
      return StrRepr(v.s);
    case Value::kBytes:
      return BytesRepr(v.s);
    case Value::kTuple:
    case Value::kList: {
      std::vector<std::string> parts;
      for (const Value& x : v.items) parts.push_back(Repr(x));
      if (v.kind == Value::kList) return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
      return absl::StrCat("(", absl::StrJoin(parts, ", "), v.items.size() == 1 ? ",)" : ")");
    }
    case Value::kDType:
      if (v.record) return v.record->Repr();
      return absl::StrCat("dtype('", Name(v.dtype), "')");
    case Value::kRecords:
      return RecordArrayRepr(v.records);
    case Value::kFunction:
      return absl::StrCat("<function ", v.s, ">");
    case Value::kModule:
      return absl::StrCat("<module '", v.s, "'>");
    case Value::kGenerator:
      return absl::StrCat("Generator(Philox) seed=", v.rng->seed(),
                          " streams drawn=", v.rng->streams_used());
    case Value::kLambda:
      return v.lambda->traced != nullptr ? "<jit function <lambda>>" : "<function <lambda>>";
  }
  return "?";
}

}  // namespace ndjit::script
