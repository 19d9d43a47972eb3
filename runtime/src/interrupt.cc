#include "ndjit/runtime/interrupt.h"

#include <atomic>

namespace ndjit {
namespace {

std::atomic<bool> g_interrupt{false};
static_assert(std::atomic<bool>::is_always_lock_free, "a signal handler sets it");

}  // namespace

void RequestInterrupt() { g_interrupt.store(true, std::memory_order_relaxed); }
bool InterruptRequested() { return g_interrupt.load(std::memory_order_relaxed); }
void ClearInterrupt() { g_interrupt.store(false, std::memory_order_relaxed); }
absl::Status InterruptedError() { return absl::CancelledError("KeyboardInterrupt"); }

}  // namespace ndjit
