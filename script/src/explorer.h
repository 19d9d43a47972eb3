// Internal to the script language: the explorer's commands.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "value.h"

namespace ndjit::script {

// The array an explorer command shows, from the expression after it.
using ArrayOfFn = std::function<absl::StatusOr<Array<>>(absl::string_view expr)>;

// Runs explorer command `line` (":loops x * 2") over the session's
// variables; returns what the REPL prints.
absl::StatusOr<std::string> RunExplorerCommand(absl::string_view line,
                                               const std::map<std::string, Value>& vars,
                                               const ArrayOfFn& array_of);
// ":graph", ":program", ...: for completion.
std::vector<std::string> ExplorerCommandNames();

}  // namespace ndjit::script
