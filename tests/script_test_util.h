// Helpers of the language's tests: a statement's printout, and the `ndjit`
// binary run as a user runs it (NDJIT_CLI is its path, from CMake).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "gtest/gtest.h"
#include "ndjit/script.h"

namespace ndjit::script {

// What the REPL prints for `line`, without the trailing newline, or
// "error: <message>".
inline std::string Line(Session& s, const std::string& line) {
  absl::StatusOr<std::string> out = s.Execute(line);
  return out.ok() ? std::string(absl::StripTrailingAsciiWhitespace(*out))
                  : "error: " + std::string(out.status().message());
}

struct Result {
  int status = -1;
  std::string out, err;
};

// Runs the binary with `args`, and `env` ("NAME=value ...") in its environment.
inline Result Cli(const std::string& args, const std::string& env = "") {
  const std::string dir = ::testing::TempDir();
  // Named per process: ctest runs the CLI tests side by side.
  static int calls = 0;
  const std::string tag = std::to_string(getpid()) + "_" + std::to_string(calls++);
  const std::string out = dir + "/cli_out" + tag + ".txt", err = dir + "/cli_err" + tag + ".txt";
  const int raw = std::system(
      (env + " '" + NDJIT_CLI + "' " + args + " > '" + out + "' 2> '" + err + "' < /dev/null")
          .c_str());
  Result r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::stringstream o, e;
  o << std::ifstream(out).rdbuf();
  e << std::ifstream(err).rdbuf();
  r.out = o.str();
  r.err = e.str();
  std::remove(out.c_str());
  std::remove(err.c_str());
  return r;
}

}  // namespace ndjit::script
