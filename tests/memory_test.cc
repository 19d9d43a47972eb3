// Memory an evaluation takes from the pool: the fused evaluation of a chain
// allocates its output and nothing else; the eager one drops each temporary
// after its last use, so its blocks are reused within the evaluation and the
// peak stays at a few arrays however long the chain.
#include "gtest/gtest.h"
#include "ndjit/ndjit.h"

namespace ndjit {
namespace {

constexpr int64_t kN = int64_t{1} << 20;  // 4 MiB of float32
constexpr int kSteps = 12;

Array<> Chain(const NDArray& x) {
  Array<> y(x);
  for (int i = 0; i < kSteps; ++i) y = y * 1.01f + 0.5f;
  return y;
}

int64_t Allocations(const PoolStats& s) { return s.cache_hits + s.cache_misses; }

TEST(EvalMemoryTest, FusedChainAllocatesOnlyItsOutput) {
  const NDArray x = *NDArray::Full({kN}, DType::kFloat32, 1);
  Chain(x).eval();  // compile
  const PoolStats before = GetPoolStats();
  Chain(x).eval();
  const PoolStats after = GetPoolStats();
  EXPECT_EQ(Allocations(after) - Allocations(before), 1);
  EXPECT_EQ(after.system_allocations, before.system_allocations) << "served from the cache";
}

TEST(EvalMemoryTest, EagerTemporariesAreReusedWithinOneEvaluation) {
  const NDArray x = *NDArray::Full({kN}, DType::kFloat32, 1);
  const int64_t bytes = kN * 4;
  Chain(x).eval(Backend::kEager);  // compile the one-op kernels, fill the cache
  const PoolStats before = GetPoolStats();
  ResetPeakBytesInUse();
  const NDArray value = Array<>(Chain(x).node()).eval(Backend::kEager).array();
  const PoolStats after = GetPoolStats();
  // One temporary per op, each a pool request...
  EXPECT_GE(Allocations(after) - Allocations(before), 2 * kSteps);
  // ...but never more than a few alive at once, and none from the system.
  EXPECT_LE(after.peak_bytes_in_use - before.bytes_in_use, 3 * bytes + (bytes / 2));
  EXPECT_EQ(after.system_allocations, before.system_allocations);
  EXPECT_NEAR(value.Item<float>({0}).value(), Array<>(Chain(x).node()).item<float>({0}), 1e-3);
}

}  // namespace
}  // namespace ndjit
