#include "py_literal.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

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
    if (absl::Status st = Value(&v, 0); !st.ok()) return st;
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

  absl::Status String(std::string* out) {
    const char quote = s_[pos_++];
    const size_t end = s_.find(quote, pos_);
    if (end == absl::string_view::npos) return Error("unterminated string");
    *out = std::string(s_.substr(pos_, end - pos_));
    pos_ = end + 1;
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
      if (absl::Status st = Value(&v->items.back(), depth + 1); !st.ok()) return st;
      if (v->kind == PyLiteral::kDict) {
        if (!Eat(':')) return Error("expected ':' after a key");
        v->items.emplace_back();
        if (absl::Status st = Value(&v->items.back(), depth + 1); !st.ok()) return st;
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

}  // namespace ndjit::internal
