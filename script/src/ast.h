// Internal to the script language: tokens and the syntax tree of NumPy's
// Python subset (see ndjit/script.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ndjit::script {

struct Node;
using NodePtr = std::unique_ptr<Node>;

// Every node remembers the column (0-based) where it starts, for errors.
struct Node {
  enum Kind {
    kNumber,  // text holds the literal; is_int tells which
    kString,  // text
    kName,    // text
    kNone,
    kEllipsis,   // `...` in a subscript
    kTuple,      // kids
    kList,       // kids
    kUnary,      // op, kids[0]
    kBinary,     // op, kids[0], kids[1]
    kCompare,    // op, kids[0], kids[1]
    kCall,       // kids[0] callee, kids[1..] positional; keywords in names/kwargs
    kAttribute,  // kids[0], text = attribute name
    kSubscript,  // kids[0] value, kids[1..] index items
    kSlice,      // kids: start, stop, step (null where omitted)
    kAssign,     // text = target name, kids[0] value
    kSetItem,    // kids[0] the target (a kSubscript), kids[1] the value: a[i] = v
    kLambda,     // keywords = parameter names, kids[0] body
  };
  Kind kind;
  int column = 0;
  std::string text;  // literal, name, or operator
  bool is_int = false;
  bool is_imag = false;   // kNumber: 2j, 1.5e3J
  bool is_bytes = false;  // kString: b'abc'
  std::vector<NodePtr> kids;
  std::vector<std::string> keywords;  // kCall: names of the trailing keyword arguments
  std::vector<NodePtr> kwargs;        // kCall: their values
};

// Whether the statement binds or stores (name = v, a[i] = v) rather than
// being an expression.
inline bool IsAssignment(const Node& n) {
  return n.kind == Node::kAssign || n.kind == Node::kSetItem;
}

// A deep copy of `n` (a lambda keeps its body after its line is gone).
NodePtr CloneSyntax(const Node& n);

// A syntax error: the message and the column it points at.
struct SyntaxError {
  std::string message;
  int column = 0;
};

// Parses one statement (an assignment or an expression). On failure the
// status message is "<message> (column <n>)" and `error` (if given) holds
// both parts for a caret display.
absl::StatusOr<NodePtr> ParseStatement(absl::string_view line, SyntaxError* error = nullptr);

}  // namespace ndjit::script
