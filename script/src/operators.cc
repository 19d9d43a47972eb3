// Python's operators: which ufunc each one is, and their arithmetic on two
// Python numbers.
#include <cmath>

#include <complex>
#include "absl/strings/str_cat.h"

#include "args.h"

namespace ndjit::script {

absl::StatusOr<ir::Ufunc> OperatorUfunc(const std::string& op) {
  static const std::pair<const char*, ir::Ufunc> kOps[] = {
      {"+", ir::Ufunc::kAdd},          {"-", ir::Ufunc::kSubtract},
      {"*", ir::Ufunc::kMultiply},     {"/", ir::Ufunc::kTrueDivide},
      {"//", ir::Ufunc::kFloorDivide}, {"%", ir::Ufunc::kRemainder},
      {"**", ir::Ufunc::kPower},       {"&", ir::Ufunc::kBitwiseAnd},
      {"|", ir::Ufunc::kBitwiseOr},    {"^", ir::Ufunc::kBitwiseXor},
      {"<<", ir::Ufunc::kLeftShift},   {">>", ir::Ufunc::kRightShift},
      {"==", ir::Ufunc::kEqual},       {"!=", ir::Ufunc::kNotEqual},
      {"<", ir::Ufunc::kLess},         {"<=", ir::Ufunc::kLessEqual},
      {">", ir::Ufunc::kGreater},      {">=", ir::Ufunc::kGreaterEqual}};
  for (const auto& [text, op_enum] : kOps) {
    if (op == text) return op_enum;
  }
  return Bad(absl::StrCat("unsupported operator ", op));
}

namespace {

std::complex<double> AsComplex(const Value& v) {
  if (v.kind == Value::kComplex) return v.c;
  return v.kind == Value::kFloat ? v.f : static_cast<double>(v.i);
}

// Python's complex arithmetic: no ordering, no floor division.
absl::StatusOr<Value> ComplexOp(const std::string& op, const Value& a, const Value& b) {
  const std::complex<double> x = AsComplex(a), y = AsComplex(b);
  if (op == "==") return Value::Bool(x == y);
  if (op == "!=") return Value::Bool(x != y);
  if (op == "+") return Value::Complex(x + y);
  if (op == "-") return Value::Complex(x - y);
  if (op == "*") return Value::Complex(x * y);
  if (op == "/") {
    if (y == 0.0) return Bad("complex division by zero");
    return Value::Complex(x / y);
  }
  if (op == "**") {
    if (x == 0.0 && (y.imag() != 0 || y.real() < 0)) {
      return Bad("0.0 to a negative or complex power");
    }
    if (y == 0.0) return Value::Complex(1.0);
    return Value::Complex(std::pow(x, y));
  }
  const char* relation = op == "<" || op == "<=" || op == ">" || op == ">="
                             ? "' not supported between instances of '"
                             : nullptr;
  if (relation != nullptr) {
    return Bad(absl::StrCat("'", op, relation, KindName(a), "' and '", KindName(b), "'"));
  }
  return Bad(absl::StrCat("unsupported operand type(s) for ", op, ": '", KindName(a), "' and '",
                          KindName(b), "'"));
}

}  // namespace

// Python's arithmetic on two numbers (ints stay ints where Python's do).
absl::StatusOr<Value> NumberOp(const std::string& op, const Value& a, const Value& b) {
  if (a.kind == Value::kComplex || b.kind == Value::kComplex) return ComplexOp(op, a, b);
  const bool ints = a.kind != Value::kFloat && b.kind != Value::kFloat;
  const double x = a.kind == Value::kFloat ? a.f : static_cast<double>(a.i);
  const double y = b.kind == Value::kFloat ? b.f : static_cast<double>(b.i);
  if (op == "==") return Value::Bool(x == y);
  if (op == "!=") return Value::Bool(x != y);
  if (op == "<") return Value::Bool(x < y);
  if (op == "<=") return Value::Bool(x <= y);
  if (op == ">") return Value::Bool(x > y);
  if (op == ">=") return Value::Bool(x >= y);
  if (op == "/") {
    if (y == 0) return Bad("division by zero");
    return Value::Float(x / y);
  }
  if ((op == "//" || op == "%") && y == 0) return Bad("integer division or modulo by zero");
  if (ints) {
    // Python's ints are unbounded; these are 64-bit, and leaving the range
    // is an error rather than a wrapped (or undefined) result.
    const int64_t i = a.i, j = b.i;
    int64_t r = 0;
    using Result = absl::StatusOr<Value>;
    const auto overflow = [&]() -> Result {
      return Bad(absl::StrCat("integer overflow in ", i, " ", op, " ", j));
    };
    const auto value = [](int64_t v) -> Result { return Value::Int(v); };
    if (op == "+") return __builtin_add_overflow(i, j, &r) ? overflow() : value(r);
    if (op == "-") return __builtin_sub_overflow(i, j, &r) ? overflow() : value(r);
    if (op == "*") return __builtin_mul_overflow(i, j, &r) ? overflow() : value(r);
    if (op == "//" || op == "%") {
      if (i == INT64_MIN && j == -1) return op == "%" ? value(0) : overflow();
      const int64_t q = i / j - ((i % j != 0) && ((i < 0) != (j < 0)));
      return op == "//" ? Value::Int(q) : Value::Int(i - q * j);
    }
    if (op == "**" && j >= 0) {
      int64_t p = 1, base = i;
      for (int64_t e = j; e > 0; e >>= 1) {
        if ((e & 1) && __builtin_mul_overflow(p, base, &p)) return overflow();
        if (e > 1 && __builtin_mul_overflow(base, base, &base)) return overflow();
      }
      return Value::Int(p);
    }
    if (op == "&") return Value::Int(i & j);
    if (op == "|") return Value::Int(i | j);
    if (op == "^") return Value::Int(i ^ j);
    if (op == "<<" || op == ">>") {
      if (j < 0) return Bad("negative shift count");
      if (op == ">>") return Value::Int(j >= 64 ? (i < 0 ? -1 : 0) : i >> j);
      if (i == 0) return Value::Int(0);
      if (j >= 63 || (i > 0 ? i > (INT64_MAX >> j) : i < (INT64_MIN >> j))) return overflow();
      return Value::Int(static_cast<int64_t>(static_cast<uint64_t>(i) << j));
    }
  }
  if (op == "+") return Value::Float(x + y);
  if (op == "-") return Value::Float(x - y);
  if (op == "*") return Value::Float(x * y);
  if (op == "**") return Value::Float(std::pow(x, y));
  if (op == "//") return Value::Float(std::floor(x / y));
  if (op == "%") return Value::Float(x - std::floor(x / y) * y);
  return Bad(absl::StrCat("unsupported operand type(s) for ", op, ": 'float' and 'float'"));
}

}  // namespace ndjit::script
