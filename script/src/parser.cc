// A recursive-descent parser for NumPy's Python subset, with Python's
// operator precedence: | ^ & (comparisons below them), << >>, + -,
// * @ / // %, unary + - ~, **, then calls, attributes and subscripts.
#include <algorithm>
#include <cctype>
#include <string>

#include "absl/strings/str_cat.h"
#include "ast.h"
#include "stack_guard.h"

namespace ndjit::script {
namespace {

struct Token {
  enum Kind { kEnd, kNumber, kString, kName, kOp } kind = kEnd;
  std::string text;
  int column = 0;
  bool is_int = false;
  bool is_imag = false;
  bool is_bytes = false;  // kString: b'...'
};

// The text of a string literal's body with Python's escapes replaced
// (\n \t \r \0 \\ \' \" \xNN and octal \NNN; others stay as written). In
// bytes each escape is one byte; in str \xNN and \NNN are a code point,
// written as UTF-8.
bool Unescape(absl::string_view body, bool bytes, std::string& out, std::string& error) {
  auto put = [&](unsigned code) {
    if (bytes || code < 0x80) {
      out.push_back(static_cast<char>(code));
    } else {
      out.push_back(static_cast<char>(0xc0 | (code >> 6)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
    }
  };
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out.push_back(body[i]);
      continue;
    }
    const char e = body[++i];
    static constexpr absl::string_view kSimple = "ntr\\'\"";
    static constexpr absl::string_view kMeaning = "\n\t\r\\'\"";
    if (size_t k = kSimple.find(e); k != absl::string_view::npos) {
      out.push_back(kMeaning[k]);
    } else if (e == 'x') {
      if (i + 2 >= body.size() || !std::isxdigit(static_cast<unsigned char>(body[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(body[i + 2]))) {
        error = "truncated \\xXX escape";
        return false;
      }
      put(static_cast<unsigned>(std::stoi(std::string(body.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (e >= '0' && e <= '7') {
      unsigned code = 0;
      size_t n = 0;
      for (; n < 3 && i + n < body.size() && body[i + n] >= '0' && body[i + n] <= '7'; ++n) {
        code = code * 8 + (body[i + n] - '0');
      }
      if (bytes) code &= 0xff;  // Python keeps the low byte of \777 in bytes
      put(code);
      i += n - 1;
    } else {
      out.push_back('\\');
      out.push_back(e);
    }
  }
  return true;
}

class Lexer {
 public:
  explicit Lexer(absl::string_view s) : s_(s) {}

  // Tokens of the whole line, or the first error.
  bool Run(std::vector<Token>& out, SyntaxError& error) {
    while (true) {
      while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
      Token t;
      t.column = static_cast<int>(pos_);
      if (pos_ >= s_.size() || s_[pos_] == '#') {
        out.push_back(t);
        return true;
      }
      const char c = s_[pos_];
      if (std::isdigit(static_cast<unsigned char>(c)) ||
          (c == '.' && pos_ + 1 < s_.size() &&
           std::isdigit(static_cast<unsigned char>(s_[pos_ + 1])))) {
        t.kind = Token::kNumber;
        t.is_int = true;
        size_t end = pos_;
        while (end < s_.size() &&
               (std::isdigit(static_cast<unsigned char>(s_[end])) || s_[end] == '_'))
          ++end;
        if (end < s_.size() && s_[end] == '.' &&
            !(end + 2 < s_.size() && s_[end + 1] == '.' && s_[end + 2] == '.')) {
          t.is_int = false;
          ++end;
          while (end < s_.size() && std::isdigit(static_cast<unsigned char>(s_[end]))) ++end;
        }
        if (end < s_.size() && (s_[end] == 'e' || s_[end] == 'E')) {
          size_t e = end + 1;
          if (e < s_.size() && (s_[e] == '+' || s_[e] == '-')) ++e;
          if (e < s_.size() && std::isdigit(static_cast<unsigned char>(s_[e]))) {
            t.is_int = false;
            end = e;
            while (end < s_.size() && std::isdigit(static_cast<unsigned char>(s_[end]))) ++end;
          }
        }
        for (size_t i = pos_; i < end; ++i) {
          if (s_[i] != '_') t.text += s_[i];
        }
        if (end < s_.size() && (s_[end] == 'j' || s_[end] == 'J')) {  // imaginary
          t.is_int = false;
          t.is_imag = true;
          ++end;
        }
        pos_ = end;
      } else if ((c == 'b' || c == 'B') && pos_ + 1 < s_.size() &&
                 (s_[pos_ + 1] == '\'' || s_[pos_ + 1] == '"')) {
        t.is_bytes = true;
        ++pos_;
        if (!String(t, error)) return false;
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        t.kind = Token::kName;
        while (pos_ < s_.size() &&
               (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) {
          t.text += s_[pos_++];
        }
      } else if (c == '"' || c == '\'') {
        if (!String(t, error)) return false;
      } else {
        static const char* kOps[] = {"...", "**", "//", "<<", ">>", "<=", ">=", "==", "!=", "+",
                                     "-",   "*",  "/",  "%",  "@",  "~",  "&",  "|",  "^",  "<",
                                     ">",   "(",  ")",  "[",  "]",  ",",  ":",  ".",  "="};
        t.kind = Token::kOp;
        for (const char* op : kOps) {
          if (s_.substr(pos_, std::strlen(op)) == op) {
            t.text = op;
            break;
          }
        }
        if (t.text.empty()) {
          error = {absl::StrCat("invalid character '", std::string(1, c), "'"), t.column};
          return false;
        }
        pos_ += t.text.size();
      }
      out.push_back(std::move(t));
    }
  }

 private:
  // A string or bytes literal from the quote at pos_.
  bool String(Token& t, SyntaxError& error) {
    t.kind = Token::kString;
    const char quote = s_[pos_];
    size_t end = pos_ + 1;
    while (end < s_.size() && s_[end] != quote) end += s_[end] == '\\' ? 2 : 1;
    if (end >= s_.size()) {
      error = {"unterminated string literal", t.column};
      return false;
    }
    const absl::string_view body = s_.substr(pos_ + 1, end - pos_ - 1);
    if (t.is_bytes && std::any_of(body.begin(), body.end(),
                                  [](char ch) { return static_cast<unsigned char>(ch) > 0x7f; })) {
      error = {"bytes can only contain ASCII literal characters", t.column};
      return false;
    }
    std::string what;
    if (!Unescape(body, t.is_bytes, t.text, what)) {
      error = {what, t.column};
      return false;
    }
    pos_ = end + 1;
    return true;
  }

  absl::string_view s_;
  size_t pos_ = 0;
};

class Parser {
 public:
  Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  NodePtr Statement() {
    // NAME '=' expr (but not '==').
    if (Peek().kind == Token::kName && t_.size() > i_ + 1 && t_[i_ + 1].kind == Token::kOp &&
        t_[i_ + 1].text == "=") {
      auto n = Make(Node::kAssign, Peek().column);
      n->text = Next().text;
      Next();
      n->kids.push_back(Expr());
      return Finish(std::move(n));
    }
    NodePtr first = ExprOrTuple();
    if (!failed_ && IsOp("=")) {  // a[i] = v
      if (first->kind != Node::kSubscript) {
        Fail("cannot assign to expression", Peek().column);
        return first;
      }
      auto n = Make(Node::kSetItem, first->column);
      Next();
      n->kids.push_back(std::move(first));
      n->kids.push_back(Expr());
      return Finish(std::move(n));
    }
    return Finish(std::move(first));
  }

  bool failed() const { return failed_; }
  const SyntaxError& error() const { return error_; }

 private:
  const Token& Peek() const { return t_[i_]; }
  Token Next() { return t_[i_ < t_.size() - 1 ? i_++ : i_]; }
  bool IsOp(const char* op) const { return Peek().kind == Token::kOp && Peek().text == op; }
  bool Accept(const char* op) {
    if (!IsOp(op)) return false;
    Next();
    return true;
  }
  void Fail(const std::string& message, int column) {
    if (failed_) return;
    failed_ = true;
    error_ = {message, column};
  }
  void Expect(const char* op) {
    if (!Accept(op)) {
      Fail(Peek().kind == Token::kEnd ? absl::StrCat("expected '", op, "' before the end")
                                      : absl::StrCat("expected '", op, "'"),
           Peek().column);
    }
  }
  static NodePtr Make(Node::Kind k, int column) {
    auto n = std::make_unique<Node>();
    n->kind = k;
    n->column = column;
    return n;
  }
  NodePtr Finish(NodePtr n) {
    if (!failed_ && Peek().kind != Token::kEnd) Fail("invalid syntax", Peek().column);
    return n;
  }

  NodePtr ExprOrTuple() {
    const int column = Peek().column;
    NodePtr first = Expr();
    if (!IsOp(",")) return first;
    auto tuple = Make(Node::kTuple, column);
    tuple->kids.push_back(std::move(first));
    while (Accept(",")) {
      if (Peek().kind == Token::kEnd || IsOp(")")) break;
      tuple->kids.push_back(Expr());
    }
    return tuple;
  }

  // Nesting (parentheses, calls, subscripts, operator chains) is bounded:
  // the parser and the evaluator recurse once per level.
  static constexpr int kMaxDepth = 200;
  static constexpr int kMaxChain = 1000;  // operators, calls, subscripts, attributes in a row
  struct Nest {
    explicit Nest(Parser& p) : p_(p) {
      if (++p_.depth_ > kMaxDepth || StackNearlyFull()) {
        p_.Fail("expression is nested too deeply", p_.Peek().column);
      }
    }
    ~Nest() { --p_.depth_; }
    Parser& p_;
  };

  NodePtr Expr() {
    Nest nest(*this);
    if (failed_) return Make(Node::kNone, Peek().column);
    if (Peek().kind == Token::kName && Peek().text == "lambda") return Lambda();
    return Comparison();
  }

  // lambda a, b: body
  NodePtr Lambda() {
    auto n = Make(Node::kLambda, Next().column);
    while (!failed_ && !IsOp(":")) {
      if (Peek().kind != Token::kName) {
        Fail("expected a parameter name", Peek().column);
        break;
      }
      for (const std::string& p : n->keywords) {
        if (p == Peek().text) Fail("duplicate argument in a lambda", Peek().column);
      }
      n->keywords.push_back(Next().text);
      if (!Accept(",")) break;
    }
    Expect(":");
    n->kids.push_back(Expr());
    return n;
  }

  NodePtr Comparison() {
    NodePtr left = BitOr();
    for (const char* op : {"==", "!=", "<=", ">=", "<", ">"}) {
      if (IsOp(op)) {
        auto n = Make(Node::kCompare, Peek().column);
        n->text = Next().text;
        n->kids.push_back(std::move(left));
        n->kids.push_back(BitOr());
        for (const char* again : {"==", "!=", "<=", ">=", "<", ">"}) {
          if (IsOp(again)) Fail("chained comparisons are not supported on arrays", Peek().column);
        }
        return n;
      }
    }
    return left;
  }

  // One left-associative level: ops, then the next level's parser.
  template <typename Lower>
  NodePtr Binary(std::initializer_list<const char*> ops, Lower&& lower) {
    NodePtr left = lower();
    while (!failed_) {
      const char* hit = nullptr;
      for (const char* op : ops) {
        if (IsOp(op)) hit = op;
      }
      if (hit == nullptr) return left;
      auto n = Make(Node::kBinary, Peek().column);
      n->text = Next().text;
      n->kids.push_back(std::move(left));
      n->kids.push_back(lower());
      left = std::move(n);
      // Each operator of a chain nests the tree one level deeper.
      if (++chain_ > kMaxChain) Fail("expression is nested too deeply", Peek().column);
    }
    return left;
  }
  NodePtr BitOr() {
    return Binary({"|"}, [&] { return BitXor(); });
  }
  NodePtr BitXor() {
    return Binary({"^"}, [&] { return BitAnd(); });
  }
  NodePtr BitAnd() {
    return Binary({"&"}, [&] { return Shift(); });
  }
  NodePtr Shift() {
    return Binary({"<<", ">>"}, [&] { return Sum(); });
  }
  NodePtr Sum() {
    return Binary({"+", "-"}, [&] { return Term(); });
  }
  NodePtr Term() {
    return Binary({"*", "@", "/", "//", "%"}, [&] { return Unary(); });
  }

  NodePtr Unary() {
    Nest nest(*this);
    if (failed_) return Make(Node::kNone, Peek().column);
    if (IsOp("-") || IsOp("+") || IsOp("~")) {
      auto n = Make(Node::kUnary, Peek().column);
      n->text = Next().text;
      n->kids.push_back(Unary());
      return n;
    }
    return Power();
  }

  NodePtr Power() {
    NodePtr base = Postfix();
    if (IsOp("**")) {
      auto n = Make(Node::kBinary, Peek().column);
      n->text = Next().text;
      n->kids.push_back(std::move(base));
      n->kids.push_back(Unary());  // right-associative, binds -x on its right
      return n;
    }
    return base;
  }

  NodePtr Postfix() {
    NodePtr n = Atom();
    while (!failed_) {
      if ((IsOp("(") || IsOp("[") || IsOp(".")) && ++chain_ > kMaxChain) {
        Fail("expression is nested too deeply", Peek().column);
        break;
      }
      if (IsOp("(")) {
        auto call = Make(Node::kCall, Peek().column);
        Next();
        call->kids.push_back(std::move(n));
        while (!failed_ && !IsOp(")")) {
          if (Peek().kind == Token::kName && t_.size() > i_ + 1 && t_[i_ + 1].text == "=" &&
              t_[i_ + 1].kind == Token::kOp) {
            call->keywords.push_back(Next().text);
            Next();
            call->kwargs.push_back(Expr());
          } else {
            if (!call->keywords.empty()) {
              Fail("positional argument follows keyword argument", Peek().column);
            }
            call->kids.push_back(Expr());
          }
          if (!Accept(",")) break;
        }
        Expect(")");
        n = std::move(call);
      } else if (IsOp("[")) {
        auto sub = Make(Node::kSubscript, Peek().column);
        Next();
        sub->kids.push_back(std::move(n));
        do {
          if (IsOp("]")) break;
          sub->kids.push_back(IndexItem());
        } while (!failed_ && Accept(","));
        Expect("]");
        n = std::move(sub);
      } else if (IsOp(".")) {
        auto attr = Make(Node::kAttribute, Peek().column);
        Next();
        if (Peek().kind != Token::kName) {
          Fail("expected an attribute name after '.'", Peek().column);
          return attr;
        }
        attr->text = Next().text;
        attr->kids.push_back(std::move(n));
        n = std::move(attr);
      } else {
        return n;
      }
    }
    return n;
  }

  // start:stop:step with any part omitted, `...`, or an expression.
  NodePtr IndexItem() {
    const int column = Peek().column;
    if (Accept("...")) return Make(Node::kEllipsis, column);
    NodePtr start;
    if (!IsOp(":")) {
      start = Expr();
      if (!IsOp(":")) return start;
    }
    auto slice = Make(Node::kSlice, column);
    slice->kids.resize(3);
    slice->kids[0] = std::move(start);
    Expect(":");
    if (!IsOp(":") && !IsOp(",") && !IsOp("]")) slice->kids[1] = Expr();
    if (Accept(":") && !IsOp(",") && !IsOp("]")) slice->kids[2] = Expr();
    return slice;
  }

  NodePtr Atom() {
    const Token& t = Peek();
    if (t.kind == Token::kNumber) {
      auto n = Make(Node::kNumber, t.column);
      n->is_int = t.is_int;
      n->is_imag = t.is_imag;
      n->text = Next().text;
      return n;
    }
    if (t.kind == Token::kString) {
      auto n = Make(Node::kString, t.column);
      n->is_bytes = t.is_bytes;
      n->text = Next().text;
      return n;
    }
    if (t.kind == Token::kName) {
      auto n = Make(t.text == "None" ? Node::kNone : Node::kName, t.column);
      n->text = Next().text;
      return n;
    }
    if (IsOp("(")) {
      const int column = t.column;
      Next();
      if (Accept(")")) return Make(Node::kTuple, column);  // ()
      NodePtr inner = ExprOrTuple();
      Expect(")");
      return inner;
    }
    if (IsOp("[")) {  // a list literal: [1, 2], [('t', 'u8'), ('pos', 'f4', (3,))]
      auto list = Make(Node::kList, t.column);
      Next();
      while (!failed_ && !Accept("]")) {
        list->kids.push_back(Expr());
        if (!Accept(",")) {
          Expect("]");
          break;
        }
      }
      return list;
    }
    if (IsOp("...")) return Make(Node::kEllipsis, Next().column);
    Fail(t.kind == Token::kEnd ? "unexpected end of input" : "invalid syntax", t.column);
    Next();
    return Make(Node::kNone, t.column);
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
  int chain_ = 0;
  bool failed_ = false;
  SyntaxError error_;
};

}  // namespace

absl::StatusOr<NodePtr> ParseStatement(absl::string_view line, SyntaxError* error) {
  std::vector<Token> tokens;
  SyntaxError e;
  bool ok = Lexer(line).Run(tokens, e);
  NodePtr n;
  if (ok) {
    Parser p(std::move(tokens));
    n = p.Statement();
    ok = !p.failed();
    if (!ok) e = p.error();
  }
  if (!ok) {
    if (error != nullptr) *error = e;
    return absl::InvalidArgumentError(absl::StrCat(e.message, " (column ", e.column + 1, ")"));
  }
  return n;
}

}  // namespace ndjit::script
