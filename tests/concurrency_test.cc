// Evaluations from several threads at once, over everything they share: the
// kernel cache (with evictions), the program cache, the buffer pool, the
// thread pool and the engine's statistics. Built into the normal test
// binaries, and by `make test-tsan` under ThreadSanitizer, where a data race
// is a failure even when every answer comes out right.
#include <atomic>
#include <cmath>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "ndjit/codegen/disk_cache.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/engine/engine.h"
#include "ndjit/ir/kernel.h"
#include "ndjit/ir/reference.h"
#include "ndjit/ndjit.h"
#include "test_util.h"

namespace ndjit {
namespace {

constexpr int kThreads = 4;

// Runs body(t) on kThreads threads at once and waits for them.
void OnThreads(const std::function<void(int)>& body) {
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(body, t);
  for (std::thread& th : threads) th.join();
}

NDArray Ramp(int64_t n) { return *NDArray::Arange(n, DType::kFloat32); }

// Each thread its own mix of expressions: fused elementwise work, a
// reduction group, a softmax (several kernels), a GEMM with an epilogue, and
// values large enough to run on the thread pool. Every answer is checked
// against the reference evaluator.
TEST(Concurrency, DifferentExpressionsFromManyThreadsMatchTheReference) {
  const NDArray big = Ramp(1 << 17);  // above the pool's threshold
  const NDArray small = *Ramp(64 * 32).Reshape({64, 32});
  using Make = std::function<Array<>(const Array<>&, const Array<>&, int)>;
  const std::vector<Make> makes = {
      [](const Array<>& b, const Array<>&, int t) { return tanh(b * 1e-4) * (t + 1.0) + 1.0; },
      [](const Array<>& b, const Array<>&, int t) { return sum(b * (t + 2.0)); },
      [](const Array<>&, const Array<>& s, int) {
        const Array<> e = exp(s * 1e-3 - max(s * 1e-3, 1, true));
        return e / sum(e, 1, true);
      },
      [](const Array<>&, const Array<>& s, int t) { return maximum(matmul(s, s.T()), t * 10.0); },
      [](const Array<>&, const Array<>& s, int) { return mean(s, 0) - stddev(s, 0); },
  };
  std::atomic<int> wrong{0};
  OnThreads([&](int t) {
    const Array<> b(big), s(small);
    for (int i = 0; i < 20; ++i) {
      const Array<> r = makes[(i + t) % makes.size()](b, s, t);
      absl::StatusOr<NDArray> want = ir::EvaluateReference(r.node());
      const NDArray got = r.array();
      if (!want.ok() || got.shape() != want->shape()) {
        wrong.fetch_add(1);
        continue;
      }
      const std::vector<double> g = testing::Values(got), w = testing::Values(*want);
      for (size_t k = 0; k < g.size(); ++k) {
        if (std::fabs(g[k] - w[k]) > 1e-3 * std::max(1.0, std::fabs(w[k]))) {
          wrong.fetch_add(1);
          break;
        }
      }
    }
  });
  EXPECT_EQ(wrong.load(), 0);
}

// A cache of four kernels while four threads compile distinct ones and run
// them: evicted kernels stay mapped while a plan that holds them runs.
TEST(Concurrency, KernelCacheEvictionsWhileOtherThreadsRun) {
  const int64_t capacity = codegen::KernelCacheCapacity();
  codegen::SetKernelCacheCapacity(4);
  const NDArray x = Ramp(1000);
  std::atomic<int> wrong{0};
  OnThreads([&](int t) {
    const Array<> a(x);
    for (int i = 0; i < 12; ++i) {
      // Distinct structures per (thread, i): a chain of i + 1 ops.
      Array<> r = a;
      for (int k = 0; k <= i; ++k) r = (k + t) % 2 ? r + 1.0 : r * 1.0;
      double want = 7.0;
      for (int k = 0; k <= i; ++k) want = (k + t) % 2 ? want + 1.0 : want;
      if (r.item<float>({7}) != static_cast<float>(want)) wrong.fetch_add(1);
    }
  });
  EXPECT_LE(codegen::KernelCacheSize(), 4);
  codegen::SetKernelCacheCapacity(capacity);
  EXPECT_EQ(wrong.load(), 0);
}

// A kernel launched from every thread while the background thread compiles
// its optimised tier and swaps it in: each launch runs whole code of one
// tier or the other, and every answer is right before, during and after.
TEST(Concurrency, TierSwapUnderConcurrentLaunches) {
  const codegen::JitTier tier = codegen::GetJitTier();
  const int64_t capacity = codegen::KernelCacheCapacity();
  codegen::ConfigureDiskCache("", 0, /*enabled=*/false);  // compiled here, in the fast tier
  codegen::SetJitTier(codegen::JitTier::kAuto);
  codegen::SetKernelCacheCapacity(1);
  const NDArray x = Ramp(4096);
  const ir::NodePtr node =
      *ir::MakeUfunc(ir::Ufunc::kMultiply, {*ir::MakeUfunc(ir::Ufunc::kSqrt, {ir::MakeArray(x)}),
                                            *ir::MakeUfunc(ir::Ufunc::kSqrt, {ir::MakeArray(x)})});
  const ir::KernelLaunch launch = *ir::PlanElementwiseKernel({node}, 64);
  absl::StatusOr<codegen::Kernel> kernel = codegen::GetKernel(launch.spec);
  ASSERT_TRUE(kernel.ok());
  const bool started_fast = !kernel->optimised();
  std::atomic<int> wrong{0}, after_swap{0};
  OnThreads([&](int) {
    ir::KernelLaunch mine = launch;
    mine.arrays[0] = *NDArray::Empty(launch.arrays[0].shape(), launch.arrays[0].dtype());
    std::vector<char*> ptrs;
    for (const NDArray& a : mine.arrays) ptrs.push_back(a.data());
    // Until a few launches have run the optimised code (or a bound).
    for (int i = 0; i < 200000 && after_swap.load() < 4 * kThreads; ++i) {
      const bool optimised = kernel->optimised();
      if (!codegen::RunKernel(kernel->fn(), launch.spec, ptrs, launch.sizes, launch.strides,
                              launch.scalar_values)
               .ok()) {
        wrong.fetch_add(1);
      }
      const auto* out = reinterpret_cast<const float*>(mine.arrays[0].data());
      for (int k = 0; k < 4096; k += 511) wrong.fetch_add(std::fabs(out[k] - k) > 1e-3f * k);
      if (optimised) after_swap.fetch_add(1);
    }
  });
  codegen::WaitForBackgroundCompiles();
  EXPECT_TRUE(kernel->optimised());
  EXPECT_TRUE(started_fast);
  EXPECT_EQ(wrong.load(), 0);
  codegen::SetJitTier(tier);
  codegen::SetKernelCacheCapacity(capacity);
  codegen::ConfigureDiskCache("", 0);
}

// The same expression structure from every thread at once, with the program
// cache emptied meanwhile: planners and runners race for one entry.
TEST(Concurrency, TheProgramCacheUnderConcurrentPlansAndClears) {
  const NDArray x = Ramp(1 << 15);  // past the root memo's 64 KiB: the cache plans
  const int64_t reused = engine::GetStats().programs_reused;
  std::atomic<int> wrong{0};
  OnThreads([&](int t) {
    const Array<> a(x);
    for (int i = 0; i < 30; ++i) {
      if (t == 0 && i % 10 == 0) engine::ClearProgramCache();
      const Array<> r = sqrt(a * a + 1.0) - a;
      const Array<> s = sum(r);
      const float v = s.item<float>();
      if (!(v > 0)) wrong.fetch_add(1);
    }
  });
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(engine::GetStats().programs_reused, reused);
}

}  // namespace
}  // namespace ndjit
