#include "ndjit/ir/ops.h"

#include <array>
#include <atomic>
#include <memory>
#include <optional>

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

// Loop search answers for unary and binary signatures, each found on first
// use and kept: the search runs on every graph construction and must be
// cheap, and a process uses a few of the table's entries, so none is
// computed before it is asked for. An entry packs its state and answer in
// one word: threads racing to fill it store the same value.
class SignatureTable {
 public:
  std::optional<Signature> Find(Ufunc u, DType a, DType b) {
    std::atomic<uint32_t>& e =
        entries_[(static_cast<int>(u) * kNumDTypes + static_cast<int>(a)) * kNumDTypes +
                 static_cast<int>(b)];
    uint32_t v = e.load(std::memory_order_relaxed);
    if (v == kUnknown) {
      const DType in[2] = {a, b};
      absl::StatusOr<Signature> s = SearchLoops(u, absl::MakeConstSpan(in, Info(u).arity));
      v = s.ok()
              ? kFound | static_cast<uint32_t>(s->compute) | static_cast<uint32_t>(s->output) << 8
              : kNoLoop;
      e.store(v, std::memory_order_relaxed);
    }
    if (v == kNoLoop) return std::nullopt;
    return Signature{static_cast<DType>(v & 0xff), static_cast<DType>(v >> 8 & 0xff)};
  }

 private:
  static constexpr uint32_t kUnknown = 0, kNoLoop = 1, kFound = 1u << 16;
  std::unique_ptr<std::atomic<uint32_t>[]> entries_ {
    new std::atomic<uint32_t>[ kNumUfuncs * kNumDTypes * kNumDTypes ]()
  };
};

}  // namespace

absl::StatusOr<Signature> ResolveSignature(Ufunc u, absl::Span<const DType> inputs) {
  const int arity = Info(u).arity;
  if (arity <= 2 && static_cast<int>(inputs.size()) == arity) {
    static SignatureTable* table = new SignatureTable;
    if (std::optional<Signature> sig =
            table->Find(u, inputs[0], arity == 2 ? inputs[1] : DType::kBool)) {
      return *sig;
    }
  }
  // Errors (and three-input ops) take the slow path, which builds the text.
  return SearchLoops(u, inputs);
}

}  // namespace ndjit::ir
