#include "ndjit/ir/ops.h"

#include <array>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ndjit::ir {
namespace {

constexpr std::array<UfuncInfo, kNumUfuncs> kUfuncs = {{
#define NDJIT_X(e, name, arity, loops, out, flags, sym, libm) \
  {#name, arity, loops, OutputRule::out, static_cast<uint32_t>(flags), sym, libm},
    NDJIT_UFUNCS(NDJIT_X)
#undef NDJIT_X
}};

constexpr absl::string_view kTypeChars = "?bhilBHILefdFD";
constexpr DType kTypeCharDTypes[] = {
    DType::kBool,    DType::kInt8,    DType::kInt16,     DType::kInt32,     DType::kInt64,
    DType::kUInt8,   DType::kUInt16,  DType::kUInt32,    DType::kUInt64,    DType::kFloat16,
    DType::kFloat32, DType::kFloat64, DType::kComplex64, DType::kComplex128};

DType FromTypeChar(char c) { return kTypeCharDTypes[kTypeChars.find(c)]; }

std::string DTypeList(absl::Span<const DType> inputs) {
  return absl::StrJoin(inputs, ", ", [](std::string* out, DType t) {
    absl::StrAppend(out, "dtype('", Name(t), "')");
  });
}

}  // namespace

const UfuncInfo& Info(Ufunc u) { return kUfuncs[static_cast<int>(u)]; }

char TypeChar(DType t) {
  for (size_t i = 0; i < kTypeChars.size(); ++i) {
    if (kTypeCharDTypes[i] == t) return kTypeChars[i];
  }
  return '?';
}

bool IsExponent(Ufunc u, int k) { return k == 1 && (Info(u).flags & kIntExponent); }

absl::StatusOr<Ufunc> UfuncFromName(absl::string_view name) {
  static constexpr std::pair<absl::string_view, Ufunc> kAliases[] = {
      {"true_divide", Ufunc::kTrueDivide},
      {"abs", Ufunc::kAbsolute},
      {"mod", Ufunc::kRemainder},
      {"conj", Ufunc::kConjugate},
      {"pow", Ufunc::kPower},
      {"bitwise_not", Ufunc::kInvert},
      {"asin", Ufunc::kArcsin},
      {"acos", Ufunc::kArccos},
      {"atan", Ufunc::kArctan},
      {"atan2", Ufunc::kArctan2},
      {"asinh", Ufunc::kArcsinh},
      {"acosh", Ufunc::kArccosh},
      {"atanh", Ufunc::kArctanh},
  };
  for (int i = 0; i < kNumUfuncs; ++i) {
    if (kUfuncs[i].name == name) return static_cast<Ufunc>(i);
  }
  for (const auto& [alias, u] : kAliases) {
    if (alias == name) return u;
  }
  return absl::NotFoundError(absl::StrCat("no ufunc named '", name, "'"));
}

static absl::StatusOr<Signature> SearchLoops(Ufunc u, absl::Span<const DType> inputs) {
  const UfuncInfo& info = Info(u);
  if (static_cast<int>(inputs.size()) != info.arity) {
    return absl::InvalidArgumentError(
        absl::StrCat(info.name, "() takes ", info.arity, " arguments, got ", inputs.size()));
  }
  // where(cond, x, y): any condition is read as bool; x and y pick the loop.
  if (IsCondition(u, 0)) inputs = inputs.subspan(1);
  if (info.flags & kNoBool) {
    bool all_bool = true;
    for (DType t : inputs) all_bool &= t == DType::kBool;
    if (all_bool) {
      return absl::InvalidArgumentError(absl::StrCat(
          "numpy boolean ", info.name, ", the `", info.symbol, "` operator, is not supported, ",
          info.arity == 1
              ? "use the `~` operator or the logical_not function instead."
              : "use the bitwise_xor, the `^` operator, or the logical_xor function instead."));
    }
  }
  const absl::Span<const DType> given = inputs;
  // An integer exponent takes no part in the search; any other has no loop.
  absl::string_view loops = info.loops;
  if (info.flags & kIntExponent) {
    if (!CanCast(inputs[1], DType::kInt64, Casting::kSafe)) loops = "";
    inputs = inputs.first(1);
  }
  bool any_inexact = false;
  for (DType t : inputs) any_inexact |= IsFloating(t) || IsComplex(t);
  for (char c : loops) {
    const DType loop = FromTypeChar(c);
    // True division of integers (and bools) computes in float64.
    if ((info.flags & kIntToDouble) && !any_inexact && loop != DType::kFloat64) continue;
    bool fits = true;
    for (DType t : inputs)
      fits &= (info.flags & kUniform) ? t == loop : CanCast(t, loop, Casting::kSafe);
    if (!fits) continue;
    Signature sig{loop, loop};
    if (info.output == OutputRule::kBool) {
      sig.output = DType::kBool;
    } else if (info.output == OutputRule::kReal && IsComplex(loop)) {
      sig.output = loop == DType::kComplex64 ? DType::kFloat32 : DType::kFloat64;
    }
    return sig;
  }
  if (info.flags & kUniform) {
    std::vector<std::string> types;
    for (DType t : inputs) {
      types.push_back(
          absl::StrCat("<class 'numpy.dtype[", t == DType::kBool ? "bool_" : Name(t), "]'>"));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "ufunc '", info.name, "' did not contain a loop with signature matching types ",
        absl::StrJoin(types, ", "), " -> None"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "ufunc '", info.name, "' not supported for the input types (", DTypeList(given),
      "), and the inputs could not be safely coerced to any supported types according to the "
      "casting rule ''safe''"));
}

namespace {

// Loop search answers for every unary and binary signature, computed once:
// the search runs on every graph construction and must be cheap.
struct SignatureTable {
  struct Entry {
    bool ok = false;
    Signature sig;
  };
  std::vector<Entry> entries = std::vector<Entry>(kNumUfuncs * kNumDTypes * kNumDTypes);
  SignatureTable() {
    for (int u = 0; u < kNumUfuncs; ++u) {
      const auto op = static_cast<Ufunc>(u);
      if (Info(op).arity > 2) continue;
      for (int a = 0; a < kNumDTypes; ++a) {
        for (int b = 0; b < (Info(op).arity == 2 ? kNumDTypes : 1); ++b) {
          const DType in[2] = {static_cast<DType>(a), static_cast<DType>(b)};
          absl::StatusOr<Signature> s = SearchLoops(op, absl::MakeConstSpan(in, Info(op).arity));
          Entry& e = entries[(u * kNumDTypes + a) * kNumDTypes + b];
          e.ok = s.ok();
          if (s.ok()) e.sig = *s;
        }
      }
    }
  }
};

}  // namespace

absl::StatusOr<Signature> ResolveSignature(Ufunc u, absl::Span<const DType> inputs) {
  const int arity = Info(u).arity;
  if (arity <= 2 && static_cast<int>(inputs.size()) == arity) {
    static const SignatureTable* table = new SignatureTable;
    const int a = static_cast<int>(inputs[0]);
    const int b = arity == 2 ? static_cast<int>(inputs[1]) : 0;
    const SignatureTable::Entry& e =
        table->entries[(static_cast<int>(u) * kNumDTypes + a) * kNumDTypes + b];
    if (e.ok) return e.sig;
  }
  // Errors (and three-input ops) take the slow path, which builds the text.
  return SearchLoops(u, inputs);
}

}  // namespace ndjit::ir
