#include "stack_guard.h"

#include <pthread.h>

#include <cstdint>

namespace ndjit::script {
namespace {

// The lowest address of this thread's stack (stacks grow down on every
// target ndjit builds for), or 0 when the system cannot say.
uintptr_t StackLimit() {
  thread_local const uintptr_t limit = [] {
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return uintptr_t{0};
    void* low = nullptr;
    size_t size = 0;
    const int rc = pthread_attr_getstack(&attr, &low, &size);
    pthread_attr_destroy(&attr);
    return rc == 0 ? reinterpret_cast<uintptr_t>(low) : uintptr_t{0};
  }();
  return limit;
}

}  // namespace

bool StackNearlyFull() {
  const uintptr_t limit = StackLimit();
  // The frame address, not a local's: under ASan a local may live on its
  // fake stack on the heap.
  const auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  return limit != 0 && here > limit && here - limit < kStackReserve;
}

}  // namespace ndjit::script
