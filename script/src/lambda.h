// Internal to the script language: lambdas, and jit(f), which traces a
// lambda over arrays into Programs (ndjit::Function) and replays them.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ast.h"
#include "ndjit/function.h"
#include "value.h"

namespace ndjit::script {

struct Lambda {
  std::vector<std::string> params;
  std::shared_ptr<const Node> body;        // its own copy of the syntax tree
  std::shared_ptr<const Function> traced;  // set by jit(f)
};

// Evaluates syntax in the session, with its variables as they are.
using Evaluator = std::function<absl::StatusOr<Value>(const Node&)>;

// The value of a kLambda syntax node.
Value MakeLambda(const Node& syntax);

// Calls `f` (a kLambda value) with positional `args`: its parameters are
// bound in `vars` for the call (names it does not bind are read when it
// runs, as Python's globals are). A jitted lambda given arrays replays its
// Program; given anything else it runs as a plain lambda.
absl::StatusOr<Value> CallLambda(const Value& f, const Args& args,
                                 std::map<std::string, Value>& vars, const Evaluator& eval);

// jit(f): `f` traced on its first call per set of argument layouts.
absl::StatusOr<Value> Jit(const Args& args, std::map<std::string, Value>& vars,
                          const Evaluator& eval);

}  // namespace ndjit::script
