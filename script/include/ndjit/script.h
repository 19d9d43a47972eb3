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

#include <complex>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ndjit/array.h"
#include "ndjit/function.h"

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
  // Python numbers: weak beside arrays (NEP 50), as literals are.
  void Set(const std::string& name, int64_t value);
  void Set(const std::string& name, double value);
  void Set(const std::string& name, bool value);
  void Set(const std::string& name, std::complex<double> value);

  // The names expression `expr` reads as variables, each once in order of
  // first use: every identifier except those it calls (`sin` in sin(x)) and
  // keyword names (the bases of dotted names are in: `z` in z.imag, `np` in
  // np.pi).
  static absl::StatusOr<std::vector<std::string>> Names(absl::string_view expr);
  // `expr` as a function of the arrays `params` (numexpr's evaluate,
  // jit(lambda params: expr)): traced into Programs on its first call per set
  // of argument layouts, replayed after. The other names it reads are this
  // session's variables, fixed at tracing. Each call returns one array per
  // result (a tuple expression gives several).
  absl::StatusOr<std::shared_ptr<const Function>> Trace(absl::string_view expr,
                                                        std::vector<std::string> params);
  // The explorer command `command` (":graph", ":program", ":loops", ":llvm",
  // ":asm", ...) on `value`, as the REPL prints it.
  absl::StatusOr<std::string> Explain(absl::string_view command, const Array<>& value);
  // Variables and builtins, for tab completion.
  std::vector<std::string> Completions(absl::string_view prefix) const;

 private:
  friend struct SessionAccess;  // the Python binding's values (script/src/value.h)
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// "  a + * b\n      ^\nerror: invalid syntax": the line, a caret under the
// column a syntax error names, and the message; other errors: "error: ...".
std::string ErrorDisplay(absl::string_view line, const absl::Status& status);

}  // namespace ndjit::script
