// The builtins' signatures in Python's notation, and the checks Python makes
// of a call against a signature.
#include "signatures.h"

#include <map>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ndjit/ir/ops.h"

namespace ndjit::script {
namespace {

// Every builtin that is not a ufunc (those follow from the op table). The
// parameters are those the builtins read; where one reads an argument only
// by position, it is positional-only here. A name listed with `out` gets
// NumPy's out= from CallBuiltin.
constexpr const char* kSignatures[] = {
    "sum(a, axis=None, *, dtype=None, out=None, keepdims=False)",
    "prod(a, axis=None, *, dtype=None, out=None, keepdims=False)",
    "mean(a, axis=None, *, dtype=None, out=None, keepdims=False)",
    "max(a, axis=None, *, out=None, keepdims=False)",
    "min(a, axis=None, *, out=None, keepdims=False)",
    "amax(a, axis=None, *, out=None, keepdims=False)",
    "amin(a, axis=None, *, out=None, keepdims=False)",
    "any(a, axis=None, *, out=None, keepdims=False)",
    "all(a, axis=None, *, out=None, keepdims=False)",
    "logsumexp(a, axis=None, *, out=None, keepdims=False)",
    "var(a, axis=None, *, out=None, ddof=0, keepdims=False)",
    "std(a, axis=None, *, out=None, ddof=0, keepdims=False)",
    "argmax(a, axis=None, *, out=None, keepdims=False)",
    "argmin(a, axis=None, *, out=None, keepdims=False)",
    "cumsum(a, axis=None, dtype=None, out=None)",
    "cumprod(a, axis=None, dtype=None, out=None)",
    "ufunc.accumulate(ufunc, array, /, axis=0, dtype=None, out=None)",
    "ufunc.at(ufunc, a, indices, b=None, /)",
    "nansum(a, axis=None, *, dtype=None, out=None, keepdims=False)",
    "nanprod(a, axis=None, *, dtype=None, out=None, keepdims=False)",
    "nanmean(a, axis=None, *, dtype=None, out=None, keepdims=False)",
    "nanmax(a, axis=None, *, out=None, keepdims=False)",
    "nanmin(a, axis=None, *, out=None, keepdims=False)",
    "nanvar(a, axis=None, *, out=None, ddof=0, keepdims=False)",
    "nanstd(a, axis=None, *, out=None, ddof=0, keepdims=False)",
    "nanargmax(a, axis=None, *, out=None, keepdims=False)",
    "nanargmin(a, axis=None, *, out=None, keepdims=False)",
    "transpose(a, /, *axes)",
    "reshape(a, /, *shape)",
    "broadcast_to(array, /, shape)",
    "squeeze(a, /, axis=None)",
    "expand_dims(a, /, axis)",
    "astype(a, /, dtype)",
    "zeros(shape, dtype=None)",
    "ones(shape, dtype=None)",
    "full(shape, fill_value, dtype=None)",
    "arange(*args, dtype=None)",
    "linspace(start, stop, /, num=50)",
    "eye(N, /)",
    "random.rand(*dimensions, seed=None)",
    "random.normal(loc=0.0, scale=1.0, size=None, *, seed=None)",
    "random.seed(seed, /)",
    "random.default_rng(seed=None, /)",
    "rng.random(self, /, size=None, *, dtype=None)",
    "rng.uniform(self, /, low=0.0, high=1.0, size=None, *, dtype=None)",
    "rng.normal(self, /, loc=0.0, scale=1.0, size=None, *, dtype=None)",
    "rng.integers(self, /, low, high=None, size=None, *, dtype=None)",
    "array(object, /, dtype=None)",
    "asarray(object, /, dtype=None)",
    "take(a, indices, /, axis=None)",
    "ascontiguousarray(a, /)",
    "load(file, /, mmap_mode=None)",
    "save(file, arr, /)",
    "open_memmap(filename, /, mode='r+', dtype=None, shape=None)",
    "dtype(dtype, /, align=False)",
    "einsum(subscripts, /, *operands, out=None, dtype=None, optimize=False)",
    "einsum_path(subscripts, /, *operands, optimize='greedy')",
    "matmul(x1, x2, /, *, out=None)",
    "dot(a, b, /, *, out=None)",
    "inner(a, b, /)",
    "outer(a, b, /, *, out=None)",
    "vdot(a, b, /)",
    "tensordot(a, b, /, axes=2)",
    "divmod(x1, x2, /)",
    "degrees(x, /, *, out=None)",
    "radians(x, /, *, out=None)",
    "rad2deg(x, /, *, out=None)",
    "deg2rad(x, /, *, out=None)",
    "signbit(x, /, *, out=None)",
    "bitwise_not(x, /, *, out=None)",
    "logaddexp(x1, x2, /, *, out=None)",
    "logaddexp2(x1, x2, /, *, out=None)",
    "heaviside(x1, x2, /, *, out=None)",
    "float_power(x1, x2, /, *, out=None)",
    "copy(a, /)",
    "zeros_like(a, dtype=None)",
    "ones_like(a, dtype=None)",
    "full_like(a, fill_value, dtype=None)",
    "modf(x, /)",
    "frexp(x, /)",
    "contains(haystack, needle, /)",
    "spacing(x, /, *, out=None)",
    "trace(a, /, offset=0, axis1=0, axis2=1, *, out=None)",
    "diagonal(a, /, offset=0, axis1=0, axis2=1)",
    "linalg.multi_dot(*arrays, out=None)",
};

std::string UfuncSignature(absl::string_view name, int arity) {
  if (name == "where") return "where(condition, x, y, /)";
  if (arity == 1) return absl::StrCat(name, "(x, /, *, out=None)");
  std::vector<std::string> xs;
  for (int i = 1; i <= arity; ++i) xs.push_back(absl::StrCat("x", i));
  return absl::StrCat(name, "(", absl::StrJoin(xs, ", "), ", /, *, out=None)");
}

}  // namespace

Signature Signature::Parse(const std::string& text) {
  Signature s;
  const size_t open = text.find('(');
  s.name = text.substr(0, open);
  std::string inside = text.substr(open + 1, text.size() - open - 2);
  bool keyword_only = false;
  std::vector<Param> before_slash;
  for (absl::string_view item : absl::StrSplit(inside, ", ", absl::SkipEmpty())) {
    if (item == "/") {
      for (Param& p : s.params) p.positional_only = true;
      continue;
    }
    if (item == "*") {
      keyword_only = true;
      continue;
    }
    if (absl::ConsumePrefix(&item, "*")) {
      s.varargs = true;
      keyword_only = true;
      continue;
    }
    Param p;
    const size_t eq = item.find('=');
    p.name = std::string(item.substr(0, eq));
    p.required = eq == absl::string_view::npos;
    p.keyword_only = keyword_only;
    s.takes_out |= p.name == "out";
    s.params.push_back(std::move(p));
  }
  return s;
}

std::string Signature::ToString() const {
  std::vector<std::string> items;
  bool starred = false;
  for (size_t i = 0; i < params.size(); ++i) {
    const Param& p = params[i];
    if (p.keyword_only && !starred) {
      items.push_back(varargs ? "*args" : "*");
      starred = true;
    }
    items.push_back(p.required ? p.name : absl::StrCat(p.name, "=..."));
    if (p.positional_only && (i + 1 == params.size() || !params[i + 1].positional_only)) {
      items.push_back("/");
    }
  }
  if (varargs && !starred) items.push_back("*args");
  return absl::StrCat(name, "(", absl::StrJoin(items, ", "), ")");
}

absl::Status Signature::Check(const Args& a) const {
  const std::string fn = absl::StrCat(name.substr(name.rfind('.') + 1), "()");
  size_t positional = 0, required = 0;
  for (const Param& p : params) {
    if (p.keyword_only) continue;
    ++positional;
    required += p.required;
  }
  if (!varargs && a.pos.size() > positional) {
    const std::string takes = required == positional
                                  ? absl::StrCat(positional)
                                  : absl::StrCat("from ", required, " to ", positional);
    return absl::InvalidArgumentError(
        absl::StrCat(fn, " takes ", takes, " positional argument", positional == 1 ? "" : "s",
                     " but ", a.pos.size(), a.pos.size() == 1 ? " was" : " were", " given"));
  }
  std::vector<std::string> by_keyword;
  for (const auto& [key, value] : a.kw) {
    const Param* p = nullptr;
    size_t index = 0;
    for (; index < params.size(); ++index) {
      if (params[index].name == key) {
        p = &params[index];
        break;
      }
    }
    if (p == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(fn, " got an unexpected keyword argument '", key, "'"));
    }
    if (p->positional_only) {
      by_keyword.push_back(absl::StrCat("'", key, "'"));
      continue;
    }
    if (!p->keyword_only && index < a.pos.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(fn, " got multiple values for argument '", key, "'"));
    }
  }
  if (!by_keyword.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(fn, " got some positional-only arguments passed as keyword arguments: ",
                     absl::StrJoin(by_keyword, ", ")));
  }
  std::vector<std::string> missing;
  bool keyword_only = false;
  for (size_t i = 0; i < params.size(); ++i) {
    const Param& p = params[i];
    if (!p.required) continue;
    const bool given = (!p.keyword_only && i < a.pos.size()) || a.kw.contains(p.name);
    if (given) continue;
    missing.push_back(absl::StrCat("'", p.name, "'"));
    keyword_only |= p.keyword_only;
  }
  if (!missing.empty()) {
    const size_t n = missing.size();
    std::string list = missing.back();
    if (n > 1) {
      missing.pop_back();
      list = absl::StrCat(absl::StrJoin(missing, ", "), " and ", list);
    }
    return absl::InvalidArgumentError(absl::StrCat(fn, " missing ", n, " required ",
                                                   keyword_only ? "keyword-only" : "positional",
                                                   " argument", n > 1 ? "s" : "", ": ", list));
  }
  return absl::OkStatus();
}

const Signature* FindSignature(const std::string& name) {
  static const auto* table = [] {
    auto* t = new std::map<std::string, Signature, std::less<>>;
    for (const char* text : kSignatures) {
      Signature s = Signature::Parse(text);
      t->emplace(s.name, std::move(s));
    }
    return t;
  }();
  if (auto it = table->find(name); it != table->end()) return &it->second;
  // Ufuncs and their aliases: one signature per name, made on first use.
  absl::StatusOr<ir::Ufunc> op = ir::UfuncFromName(name);
  if (!op.ok()) return nullptr;
  static auto* ufuncs = new std::map<std::string, std::unique_ptr<Signature>, std::less<>>;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::unique_ptr<Signature>& s = (*ufuncs)[name];
  if (s == nullptr) {
    s = std::make_unique<Signature>(Signature::Parse(UfuncSignature(name, ir::Info(*op).arity)));
  }
  return s.get();
}

}  // namespace ndjit::script
