// The op table: every ufunc declared once, with its NumPy name, arity, the
// loops NumPy defines for it (which dtypes it computes in), its output rule
// and its IEEE behaviour. The graph builder, the printer, the evaluators,
// the codegen and the REPL's name lookup all read this table.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ndjit/runtime/dtype.h"

namespace ndjit::ir {

// Loop type strings use NumPy's type characters, in NumPy's loop order:
// ? bool, b/B int8/uint8, h/H int16/uint16, i/I int32/uint32, l/L int64/uint64,
// e/f/d float16/32/64, F/D complex64/128. An op computes in the first listed
// type every input can be cast to safely (NumPy's loop search).
#define NDJIT_LOOPS_ALL "?bBhHiIlLefdFD"
#define NDJIT_LOOPS_NUM "bBhHiIlLefdFD"
#define NDJIT_LOOPS_REAL "bBhHiIlLefd"
#define NDJIT_LOOPS_INT "bBhHiIlL"
#define NDJIT_LOOPS_BITS "?bBhHiIlL"
#define NDJIT_LOOPS_FLOAT "efd"
#define NDJIT_LOOPS_INEXACT "efdFD"

// Output rules: kSame (the loop type), kBool, kReal (complex -> its
// component type, as absolute does).
// Flags: kNoBool (NumPy rejects bool inputs with a dedicated message),
// kIntToDouble (integer inputs compute in float64: true_divide),
// kExact (IEEE-exact: the JIT must match the reference bit for bit),
// kKeepsZero (f(+-0) = +-0, the zero's sign included),
// kUniform (the loop must be the input's own type, no safe widening: NumPy's
// uniform type resolver, so positive has no bool loop),
// kIntExponent (the second input is an integer exponent, NumPy's 'l' loops:
// it must cast safely to int64, a Python number there is typed as int64,
// and the first input alone picks the float loop; the kernels receive it
// converted to that float type, exact where it matters, see ldexp in
// scalar_ops.h).
//
// X(Enumerator, NumPy name (an identifier), arity, loops, output rule, flags, operator,
//   libm: the C library's name of the function for float64, "" if none; its
//   float32 one adds "f". The JIT calls it lane by lane where no vector
//   version is linked in, and the vector math bitcode defines ndjit_<libm>_f32/_f64.)
#define NDJIT_UFUNCS(X)                                                                 \
  X(kAdd, add, 2, NDJIT_LOOPS_ALL, kSame, kExact, "+", "")                              \
  X(kSubtract, subtract, 2, NDJIT_LOOPS_NUM, kSame, kExact | kNoBool, "-", "")          \
  X(kMultiply, multiply, 2, NDJIT_LOOPS_ALL, kSame, kExact, "*", "")                    \
  X(kTrueDivide, divide, 2, NDJIT_LOOPS_INEXACT, kSame, kExact | kIntToDouble, "/", "") \
  X(kFloorDivide, floor_divide, 2, NDJIT_LOOPS_REAL, kSame, kExact, "//", "")           \
  X(kRemainder, remainder, 2, NDJIT_LOOPS_REAL, kSame, kExact, "%", "")                 \
  X(kFmod, fmod, 2, NDJIT_LOOPS_REAL, kSame, kExact, "", "")                            \
  X(kPower, power, 2, NDJIT_LOOPS_NUM, kSame, 0, "**", "pow")                           \
  X(kNegative, negative, 1, NDJIT_LOOPS_NUM, kSame, kExact | kNoBool, "-", "")          \
  X(kPositive, positive, 1, NDJIT_LOOPS_NUM, kSame, kExact | kUniform, "+", "")         \
  X(kAbsolute, absolute, 1, NDJIT_LOOPS_ALL, kReal, kExact, "", "")                     \
  X(kSign, sign, 1, NDJIT_LOOPS_NUM, kSame, kExact, "", "")                             \
  X(kEqual, equal, 2, NDJIT_LOOPS_ALL, kBool, kExact, "==", "")                         \
  X(kNotEqual, not_equal, 2, NDJIT_LOOPS_ALL, kBool, kExact, "!=", "")                  \
  X(kLess, less, 2, NDJIT_LOOPS_ALL, kBool, kExact, "<", "")                            \
  X(kLessEqual, less_equal, 2, NDJIT_LOOPS_ALL, kBool, kExact, "<=", "")                \
  X(kGreater, greater, 2, NDJIT_LOOPS_ALL, kBool, kExact, ">", "")                      \
  X(kGreaterEqual, greater_equal, 2, NDJIT_LOOPS_ALL, kBool, kExact, ">=", "")          \
  X(kLogicalAnd, logical_and, 2, NDJIT_LOOPS_ALL, kBool, kExact, "", "")                \
  X(kLogicalOr, logical_or, 2, NDJIT_LOOPS_ALL, kBool, kExact, "", "")                  \
  X(kLogicalXor, logical_xor, 2, NDJIT_LOOPS_ALL, kBool, kExact, "", "")                \
  X(kLogicalNot, logical_not, 1, NDJIT_LOOPS_ALL, kBool, kExact, "", "")                \
  X(kBitwiseAnd, bitwise_and, 2, NDJIT_LOOPS_BITS, kSame, kExact, "&", "")              \
  X(kBitwiseOr, bitwise_or, 2, NDJIT_LOOPS_BITS, kSame, kExact, "|", "")                \
  X(kBitwiseXor, bitwise_xor, 2, NDJIT_LOOPS_BITS, kSame, kExact, "^", "")              \
  X(kInvert, invert, 1, NDJIT_LOOPS_BITS, kSame, kExact, "~", "")                       \
  X(kLeftShift, left_shift, 2, NDJIT_LOOPS_INT, kSame, kExact, "<<", "")                \
  X(kRightShift, right_shift, 2, NDJIT_LOOPS_INT, kSame, kExact, ">>", "")              \
  X(kMinimum, minimum, 2, NDJIT_LOOPS_ALL, kSame, kExact, "", "")                       \
  X(kMaximum, maximum, 2, NDJIT_LOOPS_ALL, kSame, kExact, "", "")                       \
  X(kFmin, fmin, 2, NDJIT_LOOPS_ALL, kSame, kExact, "", "")                             \
  X(kFmax, fmax, 2, NDJIT_LOOPS_ALL, kSame, kExact, "", "")                             \
  X(kWhere, where, 3, NDJIT_LOOPS_ALL, kSame, kExact, "", "")                           \
  X(kClip, clip, 3, NDJIT_LOOPS_ALL, kSame, kExact, "", "")                             \
  X(kFloor, floor, 1, NDJIT_LOOPS_FLOAT, kSame, kExact, "", "")                         \
  X(kCeil, ceil, 1, NDJIT_LOOPS_FLOAT, kSame, kExact, "", "")                           \
  X(kTrunc, trunc, 1, NDJIT_LOOPS_FLOAT, kSame, kExact, "", "")                         \
  X(kRint, rint, 1, NDJIT_LOOPS_INEXACT, kSame, kExact, "", "")                         \
  X(kSqrt, sqrt, 1, NDJIT_LOOPS_INEXACT, kSame, kExact, "", "")                         \
  X(kCbrt, cbrt, 1, NDJIT_LOOPS_FLOAT, kSame, kKeepsZero, "", "cbrt")                   \
  X(kSquare, square, 1, NDJIT_LOOPS_NUM, kSame, kExact, "", "")                         \
  X(kReciprocal, reciprocal, 1, NDJIT_LOOPS_NUM, kSame, kExact, "", "")                 \
  X(kExp, exp, 1, NDJIT_LOOPS_INEXACT, kSame, 0, "", "exp")                             \
  X(kExp2, exp2, 1, NDJIT_LOOPS_INEXACT, kSame, 0, "", "exp2")                          \
  X(kExpm1, expm1, 1, NDJIT_LOOPS_INEXACT, kSame, kKeepsZero, "", "expm1")              \
  X(kLog, log, 1, NDJIT_LOOPS_INEXACT, kSame, 0, "", "log")                             \
  X(kLog2, log2, 1, NDJIT_LOOPS_INEXACT, kSame, 0, "", "log2")                          \
  X(kLog10, log10, 1, NDJIT_LOOPS_INEXACT, kSame, 0, "", "log10")                       \
  X(kLog1p, log1p, 1, NDJIT_LOOPS_INEXACT, kSame, kKeepsZero, "", "log1p")              \
  X(kSin, sin, 1, NDJIT_LOOPS_INEXACT, kSame, kKeepsZero, "", "sin")                    \
  X(kCos, cos, 1, NDJIT_LOOPS_INEXACT, kSame, 0, "", "cos")                             \
  X(kTan, tan, 1, NDJIT_LOOPS_INEXACT, kSame, kKeepsZero, "", "tan")                    \
  X(kArcsin, arcsin, 1, NDJIT_LOOPS_INEXACT, kSame, kKeepsZero, "", "asin")             \
  X(kArccos, arccos, 1, NDJIT_LOOPS_INEXACT, kSame, 0, "", "acos")                      \
  X(kArctan, arctan, 1, NDJIT_LOOPS_INEXACT, kSame, kKeepsZero, "", "atan")             \
  X(kArctan2, arctan2, 2, NDJIT_LOOPS_FLOAT, kSame, 0, "", "atan2")                     \
  X(kSinh, sinh, 1, NDJIT_LOOPS_INEXACT, kSame, kKeepsZero, "", "sinh")                 \
  X(kCosh, cosh, 1, NDJIT_LOOPS_INEXACT, kSame, 0, "", "cosh")                          \
  X(kTanh, tanh, 1, NDJIT_LOOPS_INEXACT, kSame, kKeepsZero, "", "tanh")                 \
  X(kArcsinh, arcsinh, 1, NDJIT_LOOPS_INEXACT, kSame, kKeepsZero, "", "asinh")          \
  X(kArccosh, arccosh, 1, NDJIT_LOOPS_INEXACT, kSame, 0, "", "acosh")                   \
  X(kArctanh, arctanh, 1, NDJIT_LOOPS_INEXACT, kSame, kKeepsZero, "", "atanh")          \
  X(kHypot, hypot, 2, NDJIT_LOOPS_FLOAT, kSame, 0, "", "hypot")                         \
  X(kCopysign, copysign, 2, NDJIT_LOOPS_FLOAT, kSame, kExact, "", "")                   \
  X(kNextafter, nextafter, 2, NDJIT_LOOPS_FLOAT, kSame, kExact, "", "")                 \
  X(kLdexp, ldexp, 2, NDJIT_LOOPS_FLOAT, kSame, kExact | kIntExponent, "", "")          \
  X(kIsnan, isnan, 1, NDJIT_LOOPS_ALL, kBool, kExact, "", "")                           \
  X(kIsinf, isinf, 1, NDJIT_LOOPS_ALL, kBool, kExact, "", "")                           \
  X(kIsfinite, isfinite, 1, NDJIT_LOOPS_ALL, kBool, kExact, "", "")                     \
  X(kConjugate, conjugate, 1, NDJIT_LOOPS_NUM, kSame, kExact, "", "")                   \
  X(kReal, real, 1, NDJIT_LOOPS_ALL, kReal, kExact, "", "")                             \
  X(kImag, imag, 1, NDJIT_LOOPS_ALL, kReal, kExact, "", "")

enum class Ufunc : uint8_t {
#define NDJIT_X(e, name, arity, loops, out, flags, sym, libm) e,
  NDJIT_UFUNCS(NDJIT_X)
#undef NDJIT_X
};

inline constexpr int kNumUfuncs = 0
#define NDJIT_X(e, name, arity, loops, out, flags, sym, libm) +1
    NDJIT_UFUNCS(NDJIT_X)
#undef NDJIT_X
    ;

enum class OutputRule : uint8_t { kSame, kBool, kReal };

enum UfuncFlags : uint32_t {
  kExact = 1u << 0,
  kNoBool = 1u << 1,
  kIntToDouble = 1u << 2,
  // f(+-0) = +-0: a zero input comes back with its sign (odd functions
  // through the origin), which vector approximations need not preserve.
  kKeepsZero = 1u << 3,
  kUniform = 1u << 4,
  kIntExponent = 1u << 5,
};

struct UfuncInfo {
  absl::string_view name;   // NumPy's name: "add", "arctan2"
  int arity;                // number of inputs
  absl::string_view loops;  // NumPy type characters, in search order
  OutputRule output;
  uint32_t flags;
  absl::string_view symbol;  // Python operator, "" if none
  absl::string_view libm;    // C's name: "sin", "atan2", "pow"; "" if none
};

const UfuncInfo& Info(Ufunc u);
inline absl::string_view Name(Ufunc u) { return Info(u).name; }

// NumPy's names and common aliases ("abs", "true_divide", "mod", "conj").
absl::StatusOr<Ufunc> UfuncFromName(absl::string_view name);

// The dtypes a ufunc application computes in and produces.
struct Signature {
  DType compute;  // inputs are cast to this before the op
  DType output;
};

// NumPy's loop search: the first loop type every input casts to safely.
// Errors carry NumPy's texts, e.g. "ufunc 'floor' not supported for the
// input types, and the inputs could not be safely coerced to any supported
// types according to the casting rule ''safe''".
absl::StatusOr<Signature> ResolveSignature(Ufunc u, absl::Span<const DType> inputs);

// Whether input k of `u` is a condition, read as bool, rather than a value
// whose dtype takes part in choosing the loop (and in typing Python scalars
// beside it): where's first input.
inline bool IsCondition(Ufunc u, int k) { return u == Ufunc::kWhere && k == 0; }

// Whether input k of `u` is an integer exponent (kIntExponent): ldexp's second.
bool IsExponent(Ufunc u, int k);

// The NumPy type character of a dtype ('?', 'b', ..., 'D').
char TypeChar(DType t);

}  // namespace ndjit::ir
