#include <atomic>

#include "ndjit/engine/engine.h"

namespace ndjit::engine {
namespace {

// Relaxed counters: each is exact, read together they are a snapshot only
// when nothing runs.
struct Counters {
  std::atomic<int64_t> kernels_run{0}, kernel_ops{0}, fallbacks{0}, intermediate_bytes{0},
      gemms_run{0}, fused_epilogues{0};
};

Counters& C() {
  static Counters* c = new Counters;
  return *c;
}

}  // namespace

void CountKernel(const ir::KernelSpec& spec) {
  C().kernels_run.fetch_add(1, std::memory_order_relaxed);
  C().kernel_ops.fetch_add(ir::FusedOps(spec), std::memory_order_relaxed);
}
void CountFallback() { C().fallbacks.fetch_add(1, std::memory_order_relaxed); }
void CountIntermediateBytes(int64_t bytes) {
  C().intermediate_bytes.fetch_add(bytes, std::memory_order_relaxed);
}
void CountGemm() { C().gemms_run.fetch_add(1, std::memory_order_relaxed); }
void CountEpilogue() { C().fused_epilogues.fetch_add(1, std::memory_order_relaxed); }

// Defined with the cache (plan_cache.cc) and with streaming (stream.cc).
void AddCacheStats(Stats& s);
void AddStreamStats(Stats& s);

Stats GetStats() {
  Stats s;
  s.kernels_run = C().kernels_run.load(std::memory_order_relaxed);
  s.kernel_ops = C().kernel_ops.load(std::memory_order_relaxed);
  s.fallbacks = C().fallbacks.load(std::memory_order_relaxed);
  s.intermediate_bytes = C().intermediate_bytes.load(std::memory_order_relaxed);
  s.gemms_run = C().gemms_run.load(std::memory_order_relaxed);
  s.fused_epilogues = C().fused_epilogues.load(std::memory_order_relaxed);
  AddCacheStats(s);
  AddStreamStats(s);
  return s;
}

}  // namespace ndjit::engine
