// The thread pool that runs kernels' parallel loops. One pool per process;
// its size is the number of CPUs this process may run on (its affinity
// mask), NDJIT_NUM_THREADS when set, or what SetNumThreads() last chose.
//
// ParallelFor never oversubscribes: the calling thread takes tasks too, a
// call made from inside a pool task runs serially on that thread, and a call
// made while another thread's loop occupies the pool runs serially on its
// caller rather than queueing behind it.
#pragma once

#include <cstdint>

#include "absl/functional/function_ref.h"

namespace ndjit {

// Threads a parallel loop may use, the caller included (>= 1).
int GetNumThreads();
// Sets that number; n <= 0 restores the default. Ignored inside a task.
void SetNumThreads(int n);
// The default: NDJIT_NUM_THREADS if set to a positive integer, else
// OMP_NUM_THREADS (its first entry), else the CPUs in the process's
// affinity mask.
int DefaultNumThreads();

// Calls fn(task) once for every task in [0, tasks), spread over the pool's
// threads; returns when all have finished. Which thread runs a task is
// unspecified, so results must not depend on it.
void ParallelFor(int64_t tasks, absl::FunctionRef<void(int64_t)> fn);

// True on a pool worker while it runs a task.
bool InParallelTask();

}  // namespace ndjit
