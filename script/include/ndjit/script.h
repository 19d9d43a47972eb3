// The ndjit language: NumPy's Python subset, so an expression pasted from
// NumPy code runs here. A Session holds the variables of a REPL or script
// and runs one statement at a time:
//
//   x = arange(12).reshape(3, 4)       assignment
//   exp(x - x.max(axis=1, keepdims=True)).sum(axis=1)   expression: its repr
//   :loops x * 2                       explorer commands (":help" lists them)
//
// Numbers, strings, True/False/None, names, + - * / // % ** and unary - ~,
// comparisons, & | ^ << >>, tuples, calls with positional and keyword
// arguments, indexing and slicing (a[1:, ::-1, None, ..., 3]), attributes and
// methods (a.T, a.shape, a.sum(axis=1), a.astype(float32)), dtype names as
// bare names, and `np.` in front of any of them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ndjit/array.h"

namespace ndjit::script {

class Session {
 public:
  Session();

  // Runs one line. Returns what the REPL prints (empty after an
  // assignment). Errors carry NumPy-like texts; a syntax error's message is
  // "<what> (column N)" and CaretDisplay() renders it under the line.
  absl::StatusOr<std::string> Execute(absl::string_view line);

  // Evaluates one expression to an array (numbers become 0-d arrays).
  absl::StatusOr<NDArray> EvaluateArray(absl::string_view expr);

  void Set(const std::string& name, const Array<>& value);
  // Variables and builtins, for tab completion.
  std::vector<std::string> Completions(absl::string_view prefix) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// "  a + * b\n      ^\nerror: invalid syntax": the line, a caret under the
// column a syntax error names, and the message; other errors: "error: ...".
std::string ErrorDisplay(absl::string_view line, const absl::Status& status);

}  // namespace ndjit::script
