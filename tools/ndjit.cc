// `ndjit`: the lowering explorer.
//   ndjit repl                       interactive, with history and completion
//   ndjit run FILE                   runs a script, echoing each statement
//   ndjit eval EXPR [--in NAME=PATH.npy]... [--out PATH.npy]
//   ndjit cache [clear]              the kernel disk cache: where, how big, entries
//   ndjit --version                  library version, LLVM, host target
// Errors print "error: ..." (REPL and scripts show a caret under syntax
// errors) and never end the REPL; `run` and `eval` exit non-zero after one.
#include <editline/readline.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ndjit/ndjit.h"
#include "ndjit/runtime/interrupt.h"
#include "ndjit/script.h"

namespace {

ndjit::script::Session* g_session = nullptr;

char* CompletionEntry(const char* text, int state) {
  static std::vector<std::string> matches;
  static size_t next = 0;
  if (state == 0) {
    matches = g_session->Completions(text);
    next = 0;
  }
  return next < matches.size() ? strdup(matches[next++].c_str()) : nullptr;
}

int Usage() {
  std::fprintf(stderr,
               "usage: ndjit repl\n"
               "       ndjit run FILE\n"
               "       ndjit eval EXPR [--in NAME=PATH.npy]... [--out PATH.npy]\n"
               "       ndjit cache [clear]\n"
               "       ndjit --version\n");
  return 2;
}

// Ctrl-C only sets the flag (async-signal-safe): a running statement stops
// at the engine's next check; a line being edited is cleared by GetKey.
void OnInterrupt(int) { ndjit::RequestInterrupt(); }

// One key for editline. The read is not restarted after Ctrl-C, which then
// empties the line and ends it: the loop shows KeyboardInterrupt and a new
// prompt, as Python's REPL does.
int GetKey(FILE* in) {
  unsigned char c;
  while (true) {
    const ssize_t n = read(fileno(in), &c, 1);
    if (n == 1) return c;
    if (n < 0 && errno == EINTR) {
      if (!ndjit::InterruptRequested()) continue;
      rl_replace_line("", 0);
      return '\n';
    }
    return EOF;
  }
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

// Each statement goes to the history file as it is entered, appended: a
// crash keeps it, and REPLs running side by side do not overwrite each
// other. Debian's libedit writes n + 1 entries for append_history(n), so 0
// writes the newest; a libedit that writes n would write nothing, hence 1.
void AppendToHistory(const std::string& path) {
  if (FILE* f = std::fopen(path.c_str(), "a")) std::fclose(f);
  const int64_t before = FileSize(path);
  append_history(0, path.c_str());
  if (FileSize(path) == before) append_history(1, path.c_str());
}

int Repl() {
  ndjit::script::Session session;
  g_session = &session;
  rl_completion_entry_function = CompletionEntry;
  rl_catch_signals = 0;  // editline's handlers would end the process on Ctrl-C
  rl_getc_function = GetKey;
  struct sigaction on_int = {};
  on_int.sa_handler = OnInterrupt;
  sigemptyset(&on_int.sa_mask);
  on_int.sa_flags = 0;  // no SA_RESTART: GetKey must see EINTR
  sigaction(SIGINT, &on_int, nullptr);
  const char* home = std::getenv("HOME");
  const std::string history = std::string(home ? home : ".") + "/.ndjit_history";
  read_history(history.c_str());
  std::printf("ndjit: NumPy's expressions, lazily fused and compiled. :help lists commands.\n");
  while (char* raw = readline(">>> ")) {
    const std::string line(raw);
    std::free(raw);
    if (ndjit::InterruptRequested()) {
      ndjit::ClearInterrupt();
      std::printf("KeyboardInterrupt\n");
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    add_history(line.c_str());
    AppendToHistory(history);
    if (line == "exit" || line == "quit" || line == "exit()" || line == "quit()") break;
    absl::StatusOr<std::string> out = session.Execute(line);
    if (out.ok()) {
      std::fputs(out->c_str(), stdout);
    } else if (out.status().code() == absl::StatusCode::kCancelled) {
      std::printf("KeyboardInterrupt\n");
    } else {
      std::printf("%s\n", ndjit::script::ErrorDisplay(line, out.status()).c_str());
    }
    std::fflush(stdout);
    ndjit::ClearInterrupt();  // a Ctrl-C that came after the statement's last check
  }
  return 0;
}

int Version() {
  const ndjit::codegen::HostTarget& host = ndjit::codegen::GetHostTarget();
  std::printf("ndjit %s (LLVM %s; %s)\n", ndjit::LibraryVersion(), host.llvm_version.c_str(),
              host.Describe().c_str());
  return 0;
}

int Run(const char* path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "error: cannot open %s\n", path);
    return 1;
  }
  ndjit::script::Session session;
  int failures = 0;
  std::string line;
  while (std::getline(in, line)) {
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos) {
      std::printf("\n");
      continue;
    }
    if (line[first] == '#') {  // comments are narration: shown as they are
      std::printf("%s\n", line.c_str());
      continue;
    }
    std::printf(">>> %s\n", line.c_str());
    absl::StatusOr<std::string> out = session.Execute(line);
    if (out.ok()) {
      std::fputs(out->c_str(), stdout);
    } else {
      ++failures;
      std::printf("%s\n", ndjit::script::ErrorDisplay(line, out.status()).c_str());
    }
    std::fflush(stdout);
  }
  return failures == 0 ? 0 : 1;
}

int Eval(int argc, char** argv) {
  if (argc < 3) return Usage();
  ndjit::script::Session session;
  const std::string expr = argv[2];
  std::string out_path;
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--in" || arg == "--out") && i + 1 >= argc) {
      std::fprintf(stderr, "error: %s needs a value\n", arg.c_str());
      return 2;
    }
    if (arg == "--out") {
      out_path = argv[++i];
    } else if (arg == "--in") {
      const std::string spec = argv[++i];
      const size_t eq = spec.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::fprintf(stderr, "error: --in takes NAME=PATH.npy, not '%s'\n", spec.c_str());
        return 2;
      }
      // The language's load: arrays, records and bytes, as the file holds.
      const std::string name = spec.substr(0, eq), path = spec.substr(eq + 1);
      const bool identifier = std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_';
      absl::StatusOr<std::string> loaded =
          identifier && name.find_first_not_of(
                            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            "0123456789_") == std::string::npos
              ? session.Execute(absl::StrCat(name, " = load(", ndjit::StrRepr(path), ")"))
              : absl::InvalidArgumentError(absl::StrCat("'", name, "' is not a name"));
      if (!loaded.ok()) {
        std::fprintf(stderr, "error: %s: %s\n", path.c_str(),
                     std::string(loaded.status().message()).c_str());
        return 1;
      }
    } else {
      std::fprintf(stderr, "error: unknown argument '%s'\n", arg.c_str());
      return 2;
    }
  }
  if (out_path.empty()) {
    absl::StatusOr<std::string> out = session.Execute(expr);
    if (!out.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(out.status().message()).c_str());
      return 1;
    }
    std::fputs(out->c_str(), stdout);
    return 0;
  }
  absl::StatusOr<ndjit::NDArray> value = session.EvaluateArray(expr);
  absl::Status saved = value.ok() ? ndjit::SaveNpy(out_path, *value) : value.status();
  if (!saved.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(saved.message()).c_str());
    return 1;
  }
  return 0;
}

// `ndjit cache`: the disk cache's place, size and entries, newest first;
// `ndjit cache clear` empties it.
int Cache(bool clear) {
  if (clear) {
    absl::StatusOr<int64_t> removed = ndjit::codegen::ClearDiskCache();
    if (!removed.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(removed.status().message()).c_str());
      return 1;
    }
    std::printf("removed %lld entries from %s\n", static_cast<long long>(*removed),
                ndjit::codegen::InspectDiskCache().dir.c_str());
    return 0;
  }
  const ndjit::codegen::DiskCacheInfo info = ndjit::codegen::InspectDiskCache();
  std::printf("kernel disk cache: %s\n", info.dir.empty() ? "(none)" : info.dir.c_str());
  if (!info.enabled) std::printf("off: %s\n", info.why_off.c_str());
  std::printf("%zu entries, %.2f MiB of %.0f MiB\n", info.entries.size(),
              static_cast<double>(info.bytes) / (1 << 20),
              static_cast<double>(info.limit_bytes) / (1 << 20));
  for (const ndjit::codegen::DiskCacheEntry& e : info.entries) {
    std::printf("  %s  %8lld bytes  used %llds ago\n", e.file.c_str(),
                static_cast<long long>(e.bytes), static_cast<long long>(e.age_seconds));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  const std::string cmd = argv[1];
  try {
    if (cmd == "--version" && argc == 2) return Version();
    if (cmd == "repl") return Repl();
    if (cmd == "run" && argc == 3) return Run(argv[2]);
    if (cmd == "eval") return Eval(argc, argv);
    if (cmd == "cache" && argc == 2) return Cache(false);
    if (cmd == "cache" && argc == 3 && std::strcmp(argv[2], "clear") == 0) return Cache(true);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return Usage();
}
