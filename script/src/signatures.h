// Internal to the script language: the Python signature of every builtin,
// the one place that knows which arguments each accepts. A call is checked
// against it before the builtin runs, so a misspelt keyword or a surplus
// argument is an error with Python's text instead of being ignored.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "value.h"

namespace ndjit::script {

struct Signature {
  struct Param {
    std::string name;
    bool required = false;         // no default
    bool positional_only = false;  // before a '/'
    bool keyword_only = false;     // after a '*' or '*args'
  };
  std::string name;
  std::vector<Param> params;
  bool varargs = false;  // a '*args': surplus positionals are taken
  bool takes_out = false;

  // Parses Python's notation: "sum(a, axis=None, *, out=None, keepdims=False)".
  static Signature Parse(const std::string& text);
  // Python's TypeError texts: unexpected keyword, too many positionals,
  // multiple values, positional-only passed by keyword, missing required.
  absl::Status Check(const Args& a) const;
  // "sum(a, axis=None, *, ...)" again, for help and tests.
  std::string ToString() const;
};

// The signature of builtin `name`, or null for a name without one.
const Signature* FindSignature(const std::string& name);

}  // namespace ndjit::script
