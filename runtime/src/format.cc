// NumPy-style printing of arrays (repr), for the demo, the REPL and tests.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ndjit/runtime/cast.h"
#include "ndjit/runtime/ndarray.h"
#include "ndjit/runtime/record.h"

namespace ndjit {
namespace {

// Arrays with more elements are summarised with "..." (NumPy's threshold).
constexpr int64_t kSummaryThreshold = 1000;
constexpr int64_t kEdgeItems = 3;
// NumPy's line width, less the ',' that follows the values in a repr.
constexpr size_t kLineWidth = 75;
constexpr size_t kValuesWidth = kLineWidth - 1;

size_t LastLineLength(const std::string& text) {
  const size_t newline = text.rfind('\n');
  return text.size() - (newline == std::string::npos ? 0 : newline + 1);
}

// One value of the innermost axis `axis` (`last` of its row or not), as
// NumPy's _formatArray places it: on the current line unless that would pass
// the width (one less for each enclosing '[', and one less again for values
// a ',' follows), then on a new line under the row's first value.
void AppendWrapped(const std::string& word, int axis, bool last, std::string* out) {
  const size_t indent = 7 + axis;  // "array([" and one '[' per enclosing axis
  const size_t width = kValuesWidth - axis - (last ? 0 : 1);
  const size_t line = LastLineLength(*out);
  if (line > indent && line + word.size() > width) {
    while (out->back() == ' ') out->pop_back();
    absl::StrAppend(out, "\n", std::string(indent, ' '));
  }
  out->append(word);
  if (!last) out->append(", ");
}

// Significant digits of the shortest text that reads back as the same
// value of `dtype` (float16, float32 or float64).
int UniqueDigits(double x, DType dtype) {
  int digits = 1;
  for (; digits < 17; ++digits) {
    const double back = std::strtod(absl::StrFormat("%.*e", digits - 1, x).c_str(), nullptr);
    const bool same = dtype == DType::kFloat16   ? DoubleToHalfBits(back) == DoubleToHalfBits(x)
                      : dtype == DType::kFloat32 ? static_cast<float>(back) == static_cast<float>(x)
                                                 : back == x;
    if (same) break;
  }
  return digits;
}

// How a column of floats prints (NumPy's FloatingFormat, precision 8,
// floatmode 'maxprec'): positional, or scientific for the whole column when
// its finite nonzero magnitudes reach 1e8, go below 1e-4 or span more than
// 1e3; then every mantissa has the column's digits and every exponent its
// width.
struct FloatMode {
  bool exp = false;
  int precision = 0;   // mantissa digits after the point, scientific only
  int exp_digits = 2;  // exponent digits, scientific only
};

// x in scientific form, the shortest mantissa with at most 8 digits after
// its point and no trailing zeros ("1.5", "1."), and its exponent.
std::pair<std::string, int> Scientific(double x, DType dtype) {
  const std::string e = absl::StrFormat("%.*e", std::min(UniqueDigits(x, dtype), 9) - 1, x);
  std::string mantissa = e.substr(0, e.find('e'));
  if (mantissa.find('.') == std::string::npos) mantissa += ".";
  while (mantissa.back() == '0') mantissa.pop_back();
  return {mantissa, std::atoi(e.c_str() + e.find('e') + 1)};
}

FloatMode ChooseMode(const std::vector<double>& xs, DType dtype) {
  FloatMode m;
  double hi = 0, lo = INFINITY;
  for (double x : xs) {
    if (!std::isfinite(x) || x == 0) continue;
    hi = std::max(hi, std::fabs(x));
    lo = std::min(lo, std::fabs(x));
  }
  if (hi == 0) return m;
  m.exp = hi >= 1e8 || lo < 1e-4 || hi / lo > 1e3;
  if (!m.exp) return m;
  for (double x : xs) {
    if (!std::isfinite(x)) continue;
    const auto [mantissa, exponent] = Scientific(x, dtype);
    m.precision = std::max(m.precision, static_cast<int>(mantissa.size() - mantissa.find('.') - 1));
    m.exp_digits = std::max(m.exp_digits, std::abs(exponent) >= 100 ? 3 : 2);
  }
  return m;
}

// NumPy's default float text: positional, the shortest digits that read
// back as the same value of `dtype` rounded to at most 8 after the point;
// scientific as `mode` says (alone, outside [1e-4, 1e16)).
std::string FormatReal(double x, DType dtype, const FloatMode* mode = nullptr) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  const int digits = UniqueDigits(x, dtype);
  const double mag = std::fabs(x);
  const bool exp = mode != nullptr ? mode->exp : !(mag == 0 || (mag >= 1e-4 && mag < 1e16));
  if (!exp) {
    // The exponent as %e rounds it (9.9999999e-5 is 1.0e-4 there).
    const std::string e = absl::StrFormat("%.*e", digits - 1, x);
    const int exponent = std::atoi(e.c_str() + e.find('e') + 1);
    std::string s = absl::StrFormat("%.*f", std::clamp(digits - 1 - exponent, 0, 8), x);
    if (s.find('.') != std::string::npos) {
      while (s.back() == '0') s.pop_back();
    } else {
      s += ".";  // NumPy marks floats that print as integers: "1."
    }
    return s;
  }
  // Padded with zeros to the column's digits: "1.5e-05", "2.0e+00".
  auto [mantissa, exponent] = Scientific(x, dtype);
  if (mode != nullptr) {
    const int have = static_cast<int>(mantissa.size() - mantissa.find('.') - 1);
    mantissa.append(std::max(0, mode->precision - have), '0');
  }
  const int exp_digits = mode != nullptr ? mode->exp_digits : 2;
  return absl::StrFormat("%se%c%0*d", mantissa, exponent < 0 ? '-' : '+', exp_digits,
                         std::abs(exponent));
}

std::string FormatElement(const char* p, DType dtype) {
  switch (Kind(dtype)) {
    case DTypeKind::kBool:
      return *reinterpret_cast<const uint8_t*>(p) ? "True" : "False";
    case DTypeKind::kInt: {
      int64_t v;
      GetCastFn(dtype, DType::kInt64)(p, 0, reinterpret_cast<char*>(&v), 0, 1);
      return absl::StrCat(v);
    }
    case DTypeKind::kUInt: {
      uint64_t v;
      GetCastFn(dtype, DType::kUInt64)(p, 0, reinterpret_cast<char*>(&v), 0, 1);
      return absl::StrCat(v);
    }
    case DTypeKind::kFloat: {
      double v;
      GetCastFn(dtype, DType::kFloat64)(p, 0, reinterpret_cast<char*>(&v), 0, 1);
      return FormatReal(v, dtype);
    }
    case DTypeKind::kComplex: {
      std::complex<double> v;
      GetCastFn(dtype, DType::kComplex128)(p, 0, reinterpret_cast<char*>(&v), 0, 1);
      const DType part = dtype == DType::kComplex64 ? DType::kFloat32 : DType::kFloat64;
      const std::string im = FormatReal(v.imag(), part);
      return absl::StrCat(FormatReal(v.real(), part), im[0] == '-' ? "" : "+", im, "j");
    }
  }
  return "?";
}

// Columns align on the decimal point, as NumPy's do: `left` is the width up
// to the '.', `right` the '.' and what follows (0 for integers). A float
// column's nan and inf take the whole width, right-aligned (`whole`: the
// longest of them).
struct Column {
  size_t left = 0, right = 0, whole = 0;
  FloatMode mode;  // an input: how this column's floats print
  void Widen(const Column& o) {
    left = std::max(left, o.left);
    right = std::max(right, o.right);
    whole = std::max(whole, o.whole);
  }
  void FitWhole() { left = std::max(left, whole > right ? whole - right : 0); }
};
// Complex arrays print their real and imaginary parts as two columns.
struct Width {
  Column re, im;
};

bool NonFinite(absl::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  return s == "nan" || s == "inf";
}

Column Measure(const std::string& s, bool is_float) {
  Column c;
  if (is_float && NonFinite(s)) {
    c.whole = s.size();
  } else if (const size_t dot = s.find('.'); dot == std::string::npos) {
    c.left = s.size();
  } else {
    c.left = dot;
    c.right = s.size() - dot;
  }
  return c;
}

// `s` padded to `col`, with `suffix` ("j") before the right padding.
void AppendAligned(const Column& col, const std::string& s, bool is_float, const char* suffix,
                   std::string* out) {
  const Column w = Measure(s, is_float);
  if (is_float && NonFinite(s)) {
    out->append(col.left + col.right - s.size(), ' ');
    absl::StrAppend(out, s, suffix);
    return;
  }
  out->append(col.left - w.left, ' ');
  absl::StrAppend(out, s, suffix);
  out->append(col.right - w.right, ' ');
}

// The values of the elements that are printed (all, or the edges when
// summarising), as complex: a float column's are the real parts.
void CollectPrinted(const NDArray& a, const char* p, int axis, bool summarise,
                    std::vector<double>& re, std::vector<double>& im) {
  if (axis == a.ndim()) {
    std::complex<double> v;
    GetCastFn(a.dtype(), DType::kComplex128)(p, 0, reinterpret_cast<char*>(&v), 0, 1);
    re.push_back(v.real());
    im.push_back(v.imag());
    return;
  }
  const int64_t n = a.shape()[axis];
  for (int64_t i = 0; i < n; ++i) {
    if (summarise && n > 2 * kEdgeItems && i == kEdgeItems) i = n - kEdgeItems;
    CollectPrinted(a, p + i * a.strides()[axis], axis + 1, summarise, re, im);
  }
}

// Walks the elements that are printed (all, or the edges when summarising).
// Without `out` it only measures, returning the widest parts.
Width FormatAxis(const NDArray& a, const char* p, int axis, bool summarise, const Width& width,
                 std::string* out) {
  if (axis == a.ndim()) {
    if (Kind(a.dtype()) == DTypeKind::kComplex) {
      std::complex<double> v;
      GetCastFn(a.dtype(), DType::kComplex128)(p, 0, reinterpret_cast<char*>(&v), 0, 1);
      const DType part = a.dtype() == DType::kComplex64 ? DType::kFloat32 : DType::kFloat64;
      const std::string re = FormatReal(v.real(), part, &width.re.mode);
      std::string im = FormatReal(v.imag(), part, &width.im.mode);
      if (im[0] != '-') im = "+" + im;
      if (out != nullptr) {
        AppendAligned(width.re, re, true, "", out);
        AppendAligned(width.im, im, true, "j", out);
      }
      return {Measure(re, true), Measure(im, true)};
    }
    std::string s;
    if (Kind(a.dtype()) == DTypeKind::kFloat) {
      double v;
      GetCastFn(a.dtype(), DType::kFloat64)(p, 0, reinterpret_cast<char*>(&v), 0, 1);
      s = FormatReal(v, a.dtype(), &width.re.mode);
    } else {
      s = FormatElement(p, a.dtype());
    }
    // NumPy pads True to False's width in every array of bools but a 0-d one.
    if (a.dtype() == DType::kBool && a.ndim() > 0 && s == "True") s = " True";
    const bool is_float = Kind(a.dtype()) == DTypeKind::kFloat;
    if (out != nullptr) AppendAligned(width.re, s, is_float, "", out);
    return {Measure(s, is_float), Column{}};
  }
  const int64_t n = a.shape()[axis];
  if (out != nullptr) out->push_back('[');
  const bool inner = axis + 1 == a.ndim();
  const std::string sep =
      absl::StrCat(",", std::string(a.ndim() - axis - 1, '\n'), std::string(7 + axis, ' '));
  Width widest;
  for (int64_t i = 0; i < n; ++i) {
    if (summarise && n > 2 * kEdgeItems && i == kEdgeItems) {
      if (out != nullptr && inner) AppendWrapped("...", axis, false, out);
      if (out != nullptr && !inner) absl::StrAppend(out, "...", sep);
      i = n - kEdgeItems;
    }
    const char* item = p + i * a.strides()[axis];
    Width w;
    if (inner && out != nullptr) {
      std::string word;
      w = FormatAxis(a, item, axis + 1, summarise, width, &word);
      AppendWrapped(word, axis, i + 1 == n, out);
    } else {
      w = FormatAxis(a, item, axis + 1, summarise, width, out);
      if (out != nullptr && i + 1 < n) out->append(sep);
    }
    widest.re.Widen(w.re);
    widest.im.Widen(w.im);
  }
  if (out != nullptr) out->push_back(']');
  return widest;
}

// One record: a tuple of its fields, sub-arrays as nested lists; or bytes.
void FormatRecord(const RecordType& t, const char* p, std::string* out);

void FormatFieldValue(const FieldFormat& f, const char* p, size_t dim, int64_t elemsize,
                      std::string* out) {
  if (dim == f.subshape.size()) {
    if (f.record) {
      FormatRecord(*f.record, p, out);
    } else {
      out->append(FormatElement(p, f.dtype));
    }
    return;
  }
  int64_t stride = elemsize;
  for (size_t d = dim + 1; d < f.subshape.size(); ++d) stride *= f.subshape[d];
  out->push_back('[');
  for (int64_t i = 0; i < f.subshape[dim]; ++i) {
    if (i > 0) out->append(", ");
    FormatFieldValue(f, p + i * stride, dim + 1, elemsize, out);
  }
  out->push_back(']');
}

void FormatRecord(const RecordType& t, const char* p, std::string* out) {
  if (t.is_bytes()) {
    out->append(BytesRepr(BytesItem(p, t.itemsize())));
    return;
  }
  out->push_back('(');
  for (size_t i = 0; i < t.fields().size(); ++i) {
    const RecordField& f = t.fields()[i];
    if (i > 0) out->append(", ");
    FormatFieldValue(f.format, p + f.offset, 0, f.elemsize, out);
  }
  if (t.fields().size() == 1) out->push_back(',');
  out->push_back(')');
}

void FormatRecordAxis(const RecordArray& a, const char* p, int axis, bool summarise,
                      std::string* out) {
  if (axis == a.ndim()) return FormatRecord(*a.type(), p, out);
  const int64_t n = a.shape()[axis];
  const bool inner = axis + 1 == a.ndim();
  const std::string sep =
      absl::StrCat(",", std::string(a.ndim() - axis - 1, '\n'), std::string(7 + axis, ' '));
  out->push_back('[');
  for (int64_t i = 0; i < n; ++i) {
    std::string item;
    if (summarise && n > 2 * kEdgeItems && i == kEdgeItems) {
      item = "...";
      i = n - kEdgeItems - 1;
    } else {
      FormatRecordAxis(a, p + i * a.strides()[axis], axis + 1, summarise, &item);
    }
    if (inner) {
      AppendWrapped(item, axis, i + 1 == n, out);
    } else {
      out->append(item);
      if (i + 1 < n) out->append(sep);
    }
  }
  out->push_back(']');
}

// NumPy's placement of "dtype=...)": after the values' last line unless it
// would pass the line width there, then on a line of its own.
void AppendDType(absl::string_view spec, std::string* out) {
  const std::string dtype = absl::StrCat("dtype=", spec, ")");
  out->push_back(',');
  out->append(LastLineLength(*out) + dtype.size() + 1 > kLineWidth ? "\n      " : " ");
  out->append(dtype);
}

}  // namespace

std::string ArrayRepr(const NDArray& a) {
  if (!a.valid()) return "array(<null>)";
  std::string out = "array(";
  if (a.size() == 0 && a.ndim() > 0) {
    out += "[]";
  } else {
    const bool summarise = a.size() > kSummaryThreshold;
    Width modes;
    const DTypeKind kind = Kind(a.dtype());
    if (kind == DTypeKind::kFloat || kind == DTypeKind::kComplex) {
      // Each float column (a complex array's real and imaginary parts apart)
      // chooses positional or scientific form as a whole, as NumPy's does.
      std::vector<double> re, im;
      CollectPrinted(a, a.data(), 0, summarise, re, im);
      const DType part = a.dtype() == DType::kComplex64    ? DType::kFloat32
                         : a.dtype() == DType::kComplex128 ? DType::kFloat64
                                                           : a.dtype();
      modes.re.mode = ChooseMode(re, part);
      modes.im.mode = ChooseMode(im, part);
    }
    Width width = FormatAxis(a, a.data(), 0, summarise, modes, nullptr);
    width.re.mode = modes.re.mode;
    width.im.mode = modes.im.mode;
    width.re.FitWhole();
    width.im.FitWhole();
    FormatAxis(a, a.data(), 0, summarise, width, &out);
  }
  // An empty array's values say nothing of its shape or dtype, so NumPy
  // spells both (shape first); otherwise it leaves out the default dtypes.
  const DType d = a.dtype();
  if (a.size() == 0 && a.ndim() > 1) absl::StrAppend(&out, ", shape=", ShapeRepr(a.shape()));
  if ((a.size() == 0 && a.ndim() > 0) || (d != DType::kFloat64 && d != DType::kInt64 &&
                                          d != DType::kBool && d != DType::kComplex128)) {
    AppendDType(Name(d), &out);
    return out;
  }
  return out + ")";
}

std::string RecordArrayRepr(const RecordArray& a) {
  if (!a.valid()) return "array(<null>)";
  std::string out = "array(";
  if (a.size() == 0 && a.ndim() > 0) {
    out += "[]";
    if (a.ndim() > 1) absl::StrAppend(&out, ", shape=", ShapeRepr(a.shape()));
  } else {
    FormatRecordAxis(a, a.data(), 0, a.size() > kSummaryThreshold, &out);
  }
  AppendDType(a.type()->ArraySpec(), &out);
  return out;
}

}  // namespace ndjit
