// The language's reductions: NumPy's (sum, mean, var, argmax, ...), the
// nan-reductions, and the running ones (cumsum, cumprod, ufunc.accumulate),
// and ufunc.at, the in-place element loop beside them.
#include <optional>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "args.h"
#include "ndjit/runtime/status_macros.h"
#include "value.h"

namespace ndjit::script {
namespace {

Fn Reduction(const std::string& name) {
  return [name](Args& a) -> absl::StatusOr<Value> {
    if (a.pos.empty()) return Bad(absl::StrCat(name, "() missing required argument 'a'"));
    NDJIT_ASSIGN_OR_RETURN(Array<> x, ToArray(a.pos[0], name));
    const bool keep = Truthy(Arg(a, "keepdims", 1000), false);
    const Value* axis_v = Arg(a, "axis", 1);
    if (name == "argmax" || name == "argmin" || name == "nanargmax" || name == "nanargmin") {
      std::optional<int64_t> axis;
      if (axis_v != nullptr && axis_v->kind != Value::kNone) {
        NDJIT_ASSIGN_OR_RETURN(int64_t n, ToInt(*axis_v, "axis"));
        axis = n;
      }
      if (name == "argmax") return Value::Arr(argmax(x, axis, keep));
      if (name == "argmin") return Value::Arr(argmin(x, axis, keep));
      if (name == "nanargmax") return Value::Arr(nanargmax(x, axis, keep));
      return Value::Arr(nanargmin(x, axis, keep));
    }
    NDJIT_ASSIGN_OR_RETURN(Axis axis, ToAxis(axis_v));
    std::optional<DType> dtype;
    if (const Value* d = Arg(a, "dtype", 1000); d != nullptr && d->kind != Value::kNone) {
      NDJIT_ASSIGN_OR_RETURN(DType t, ToDType(*d));
      dtype = t;
    }
    if (name == "sum") return Value::Arr(sum(x, axis, keep, dtype));
    if (name == "prod") return Value::Arr(prod(x, axis, keep, dtype));
    if (name == "mean") return Value::Arr(mean(x, axis, keep, dtype));
    if (name == "max" || name == "amax") return Value::Arr(max(x, axis, keep));
    if (name == "min" || name == "amin") return Value::Arr(min(x, axis, keep));
    if (name == "any") return Value::Arr(any(x, axis, keep));
    if (name == "all") return Value::Arr(all(x, axis, keep));
    if (name == "logsumexp") return Value::Arr(logsumexp(x, axis, keep));
    if (name == "nansum") return Value::Arr(nansum(x, axis, keep, dtype));
    if (name == "nanprod") return Value::Arr(nanprod(x, axis, keep, dtype));
    if (name == "nanmean") return Value::Arr(nanmean(x, axis, keep, dtype));
    if (name == "nanmax") return Value::Arr(nanmax(x, axis, keep));
    if (name == "nanmin") return Value::Arr(nanmin(x, axis, keep));
    int64_t ddof = 0;
    if (const Value* d = Arg(a, "ddof", 1000)) {
      NDJIT_ASSIGN_OR_RETURN(int64_t n, ToInt(*d, "ddof"));
      ddof = n;
    }
    if (name == "var") return Value::Arr(var(x, axis, ddof, keep));
    if (name == "nanvar") return Value::Arr(nanvar(x, axis, ddof, keep));
    if (name == "nanstd") return Value::Arr(nanstd(x, axis, ddof, keep));
    return Value::Arr(stddev(x, axis, ddof, keep));
  };
}

}  // namespace

void AddReductions(std::map<std::string, Fn>& t) {
  for (const char* r :
       {"sum",     "prod",   "mean",   "max",    "min",    "amax",      "amin",     "any",
        "all",     "var",    "std",    "argmax", "argmin", "logsumexp", "nansum",   "nanprod",
        "nanmean", "nanmax", "nanmin", "nanvar", "nanstd", "nanargmax", "nanargmin"}) {
    t[r] = Reduction(r);
  }
  // Running reductions: (a, axis=None, dtype=None) and ufunc.accumulate's
  // (ufunc name, array, axis=0, dtype=None), the form NumPy's ufunc
  // method reaches through Python.
  auto scan = [](Args& a, size_t first, const std::string& fn, std::optional<int64_t> default_axis)
      -> absl::StatusOr<std::tuple<Array<>, std::optional<int64_t>, std::optional<DType>>> {
    if (a.pos.size() <= first) return Bad(absl::StrCat(fn, "() missing required argument"));
    NDJIT_ASSIGN_OR_RETURN(Array<> x, ToArray(a.pos[first], fn));
    std::optional<int64_t> axis = default_axis;
    if (const Value* v = Arg(a, "axis", first + 1)) {
      if (v->kind == Value::kNone) {
        axis.reset();
      } else {
        NDJIT_ASSIGN_OR_RETURN(int64_t n, ToInt(*v, "axis"));
        axis = n;
      }
    }
    std::optional<DType> dtype;
    if (const Value* d = Arg(a, "dtype", first + 2); d != nullptr && d->kind != Value::kNone) {
      NDJIT_ASSIGN_OR_RETURN(DType t, ToDType(*d));
      dtype = t;
    }
    return std::tuple{std::move(x), axis, dtype};
  };
  for (const char* name : {"cumsum", "cumprod"}) {
    t[name] = [scan, name = std::string(name)](Args& a) -> absl::StatusOr<Value> {
      auto s = scan(a, 0, name, std::nullopt);
      if (!s.ok()) return s.status();
      auto& [x, axis, dtype] = *s;
      return Value::Arr(name == "cumsum" ? cumsum(x, axis, dtype) : cumprod(x, axis, dtype));
    };
  }
  t["ufunc.accumulate"] = [scan](Args& a) -> absl::StatusOr<Value> {
    if (a.pos.empty() || a.pos[0].kind != Value::kString) {
      return Bad("ufunc.accumulate() takes the ufunc's name first");
    }
    NDJIT_ASSIGN_OR_RETURN(ir::Ufunc op, ir::UfuncFromName(a.pos[0].s));
    auto s = scan(a, 1, a.pos[0].s + ".accumulate", int64_t{0});
    if (!s.ok()) return s.status();
    auto& [x, axis, dtype] = *s;
    if (!axis.has_value()) return Bad("accumulate does not allow multiple axes");
    return Value::Arr(accumulate(op, x, *axis, dtype));
  };
  // ufunc.at(name, a, indices, b): in place, as NumPy's; the indices an int,
  // an index array (or list) or a tuple of those and None.
  t["ufunc.at"] = [](Args& a) -> absl::StatusOr<Value> {
    if (a.pos.size() < 3 || a.pos[0].kind != Value::kString || a.pos[1].kind != Value::kArray) {
      return Bad("ufunc.at() takes the ufunc's name, an array and the indices");
    }
    NDJIT_ASSIGN_OR_RETURN(ir::Ufunc op, ir::UfuncFromName(a.pos[0].s));
    const Value& key = a.pos[2];
    std::vector<ArrayIndexItem> items;
    for (const Value& k : key.kind == Value::kTuple ? key.items : std::vector<Value>{key}) {
      if (k.kind == Value::kInt) {
        items.push_back(IndexItem(k.i));
      } else if (k.kind == Value::kNone) {
        items.push_back(IndexItem(NewAxis{}));
      } else {
        NDJIT_ASSIGN_OR_RETURN(Array<> x, ToArray(k, "ufunc.at"));
        items.push_back(std::move(x));
      }
    }
    std::optional<Array<>> b;
    if (a.pos.size() > 3 && a.pos[3].kind != Value::kNone) {
      NDJIT_ASSIGN_OR_RETURN(std::vector<Array<>> v, Operands({a.pos[1], a.pos[3]}, "ufunc.at"));
      b = (v)[1];
    }
    try {
      ufunc_at(op, a.pos[1].array, items, b);
    } catch (const Error& e) {
      return absl::Status(e.code(), e.what());
    }
    return Value();
  };
}

}  // namespace ndjit::script
