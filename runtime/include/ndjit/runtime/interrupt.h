// Interrupting a running evaluation (Ctrl-C in the REPL): a signal handler
// calls RequestInterrupt(); the engine checks between Program steps, kernel
// launches, kernel tasks, stream chunks and compilations, and stops with
// InterruptedError(). What the stopped evaluation was writing is left as it
// is (NumPy's out= after a KeyboardInterrupt is likewise partly written);
// what it was computing is dropped.
#pragma once

#include "absl/status/status.h"

namespace ndjit {

// Async-signal-safe: one lock-free atomic store.
void RequestInterrupt();
bool InterruptRequested();
// Before the next statement runs.
void ClearInterrupt();
// CancelledError("KeyboardInterrupt"): Python's name for what happened.
absl::Status InterruptedError();

}  // namespace ndjit
