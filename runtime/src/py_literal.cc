#include "py_literal.h"

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "ndjit/runtime/status_macros.h"

namespace ndjit::internal {
namespace {

// Nesting deeper than this is no header NumPy writes; the cap keeps a hostile
// file from exhausting the stack.
constexpr int kMaxDepth = 64;

class Parser {
 public:
  Parser(absl::string_view s, absl::string_view context) : s_(s), context_(context) {}

  absl::StatusOr<PyLiteral> Whole() {
    PyLiteral v;
    NDJIT_RETURN_IF_ERROR(Value(&v, 0));
    SkipSpace();
    if (pos_ != s_.size()) return Error("unexpected text after the literal");
    return v;
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(context_, ": ", what));
  }
  void SkipSpace() {
    while (pos_ < s_.size() && absl::ascii_isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool Eat(char c) {
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool EatWord(absl::string_view w) {
    SkipSpace();
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }

  // Python's escapes: \\ \' \" \n \r \t \a \b \f \v, \xNN, octal
  // \ooo and a backslash-newline; any other backslash stays, as in Python.
  absl::Status String(std::string* out) {
    const char quote = s_[pos_++];
    out->clear();
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] != '\\' || pos_ + 1 >= s_.size()) {
        out->push_back(s_[pos_++]);
        continue;
      }
      const char e = s_[pos_ + 1];
      pos_ += 2;
      if (const char* simple = std::strchr("\\'\"\n", e); simple != nullptr && e != '\0') {
        if (e != '\n') out->push_back(e);
        continue;
      }
      if (const char* named = std::strchr("nrtabfv", e); named != nullptr && e != '\0') {
        out->push_back("\n\r\t\a\b\f\v"[named - "nrtabfv"]);
        continue;
      }
      if (e == 'x') {
        int v = 0;
        for (int k = 0; k < 2; ++k, ++pos_) {
          const char h = pos_ < s_.size() ? s_[pos_] : '\0';
          if (!absl::ascii_isxdigit(static_cast<unsigned char>(h))) {
            return Error("truncated \\xXX escape in a string");
          }
          v = v * 16 + (absl::ascii_isdigit(static_cast<unsigned char>(h))
                            ? h - '0'
                            : absl::ascii_tolower(static_cast<unsigned char>(h)) - 'a' + 10);
        }
        out->push_back(static_cast<char>(v));
        continue;
      }
      if (e >= '0' && e <= '7') {
        int v = e - '0';
        for (int k = 0; k < 2 && pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '7'; ++k) {
          v = v * 8 + (s_[pos_++] - '0');
        }
        if (v > 0xff) return Error("an octal escape past \\377 in a string");
        out->push_back(static_cast<char>(v));
        continue;
      }
      out->push_back('\\');
      out->push_back(e);
    }
    if (pos_ >= s_.size()) return Error("unterminated string");
    ++pos_;
    return absl::OkStatus();
  }

  absl::Status Int(int64_t* out) {
    bool negative = false;
    if (s_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    int64_t v = 0;
    bool any = false;
    while (pos_ < s_.size() && absl::ascii_isdigit(static_cast<unsigned char>(s_[pos_]))) {
      if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s_[pos_] - '0', &v)) {
        return Error("an integer does not fit in int64");
      }
      any = true;
      ++pos_;
    }
    if (!any) return Error("expected an integer");
    if (pos_ < s_.size() && s_[pos_] == 'L') ++pos_;  // Python 2 long literal
    *out = negative ? -v : v;
    return absl::OkStatus();
  }

  // Elements up to `close`; a tuple of one needs its trailing comma.
  absl::Status Sequence(char close, PyLiteral* v, int depth) {
    while (!Eat(close)) {
      v->items.emplace_back();
      NDJIT_RETURN_IF_ERROR(Value(&v->items.back(), depth + 1));
      if (v->kind == PyLiteral::kDict) {
        if (!Eat(':')) return Error("expected ':' after a key");
        v->items.emplace_back();
        NDJIT_RETURN_IF_ERROR(Value(&v->items.back(), depth + 1));
      }
      if (!Eat(',')) {
        if (!Eat(close))
          return Error(absl::StrCat("expected ',' or '", std::string(1, close), "'"));
        break;
      }
    }
    return absl::OkStatus();
  }

  absl::Status Value(PyLiteral* v, int depth) {
    if (depth > kMaxDepth) return Error("literal nested too deeply");
    SkipSpace();
    if (pos_ >= s_.size()) return Error("unexpected end of text");
    const char c = s_[pos_];
    if (c == '\'' || c == '"') {
      v->kind = PyLiteral::kString;
      return String(&v->text);
    }
    if (c == '-' || absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      v->kind = PyLiteral::kInt;
      return Int(&v->i);
    }
    if (EatWord("True") || EatWord("False")) {
      v->kind = PyLiteral::kBool;
      v->i = s_[pos_ - 4] == 'T';
      return absl::OkStatus();
    }
    if (EatWord("None")) {
      v->kind = PyLiteral::kNone;
      return absl::OkStatus();
    }
    ++pos_;
    switch (c) {
      case '(':
        v->kind = PyLiteral::kTuple;
        return Sequence(')', v, depth);
      case '[':
        v->kind = PyLiteral::kList;
        return Sequence(']', v, depth);
      case '{':
        v->kind = PyLiteral::kDict;
        return Sequence('}', v, depth);
      default:
        --pos_;
        return Error(absl::StrCat("unexpected character '", std::string(1, c), "'"));
    }
  }

  absl::string_view s_;
  absl::string_view context_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<PyLiteral> ParsePyLiteral(absl::string_view text, absl::string_view context) {
  return Parser(text, context).Whole();
}

namespace {

// Python's repr of str (`bytes` false: UTF-8 passes through) or of bytes
// (every byte outside printable ASCII escaped).
std::string Quoted(absl::string_view s, bool bytes) {
  const bool has_single = s.find('\'') != absl::string_view::npos;
  const char quote = has_single && s.find('"') == absl::string_view::npos ? '"' : '\'';
  std::string out = bytes ? "b" : "";
  out.push_back(quote);
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n' || c == '\r' || c == '\t') {
      out.push_back('\\');
      out.push_back(c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
    } else if (u < 0x20 || u == 0x7f || (bytes && u > 0x7f)) {
      absl::StrAppend(&out, "\\x", absl::Hex(u, absl::kZeroPad2));
    } else {
      out.push_back(c);
    }
  }
  out.push_back(quote);
  return out;
}

}  // namespace

}  // namespace ndjit::internal

namespace ndjit {

std::string StrRepr(absl::string_view text) { return internal::Quoted(text, /*bytes=*/false); }

std::string BytesRepr(absl::string_view bytes) { return internal::Quoted(bytes, /*bytes=*/true); }

}  // namespace ndjit
