// The language from arbitrary text, as `ndjit eval` and the REPL take it:
// each line runs in one Session (the JIT evaluates, explorer commands
// included) and must end in a value or an error, never a signal or an
// escaped exception; an error must render under its line.
//
// Files: the process works in a directory of its own and an input naming a
// path outside it (any '/') is skipped, so load/save/open_memmap/:dot stay
// in the sandbox. Memory: the pool is limited (a shape asking for more must
// fail cleanly); time: a long evaluation is interrupted (fuzz_util.h).
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/strings/str_split.h"
#include "fuzz_util.h"
#include "ndjit/runtime/pool.h"
#include "ndjit/script.h"

namespace {

constexpr int kMaxLines = 8;

std::string g_sandbox;

void RemoveSandbox() {
  if (!g_sandbox.empty()) (void)std::system(("rm -rf '" + g_sandbox + "'").c_str());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char dir[] = "/tmp/ndjit_script_fuzzer_XXXXXX";
  if (mkdtemp(dir) == nullptr || chdir(dir) != 0) {
    std::perror("script_fuzzer: sandbox directory");
    std::abort();
  }
  g_sandbox = dir;
  std::atexit(RemoveSandbox);
  ndjit::SetPoolMemoryLimit(int64_t{256} << 20);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (text.find('/') != std::string::npos || text.find('\0') != std::string::npos) return 0;
  ndjit::fuzz::Deadline deadline(2.0);
  ndjit::script::Session session;
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (++lines > kMaxLines) break;
    absl::StatusOr<std::string> out = session.Execute(line);
    if (!out.ok()) (void)ndjit::script::ErrorDisplay(line, out.status());
  }
  return 0;
}
