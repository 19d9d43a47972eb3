// The JIT's tiers: the fast tier's code and the optimised tier's compute the
// same bits, for every ufunc loop and for reductions; kAuto starts a kernel
// in the fast tier and swaps the optimised code in; the profiler shows it.
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "ndjit/codegen/disk_cache.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/codegen/profile.h"
#include "ndjit/engine/engine.h"
#include "ndjit/ir/graph.h"
#include "ndjit/ir/kernel.h"
#include "ndjit/ndjit.h"

namespace ndjit {
namespace {

// Values of every dtype a ufunc loop may take: small integers (no shift or
// power out of range), and for floats, specials among ordinary values.
NDArray Values(DType t, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  NDArray f = *NDArray::Empty({n}, DType::kFloat64);
  auto* p = reinterpret_cast<double*>(f.data());
  const double specials[] = {0.0, -0.0, 1.0, -1.0, 0.5, INFINITY, -INFINITY, NAN, 1e-310, 3.0};
  for (int i = 0; i < n; ++i) {
    p[i] = i < 10 && IsFloating(t) ? specials[i]
                                   : std::uniform_int_distribution<int>(-6, 6)(rng) +
                                         (IsFloating(t) || IsComplex(t) ? 0.25 * (i % 4) : 0.0);
  }
  if (!IsFloating(t) && !IsComplex(t) && t != DType::kBool) {
    for (int i = 0; i < n; ++i) p[i] = std::fabs(p[i]) < 1 ? 1 : p[i];  // no zero divisors
  }
  return *f.AsType(t);
}

class Tiers : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_tier_ = codegen::GetJitTier();
    saved_capacity_ = codegen::KernelCacheCapacity();
    codegen::ConfigureDiskCache("", 0, /*enabled=*/false);  // every kernel compiled here
  }
  void TearDown() override {
    codegen::SetJitTier(saved_tier_);
    codegen::SetKernelCacheCapacity(saved_capacity_);
    codegen::ConfigureDiskCache("", 0);
    engine::ClearProgramCache();
  }
  // The launch's status and outputs, computed by code of `tier` compiled
  // afresh.
  std::pair<absl::Status, NDArray> RunIn(codegen::JitTier tier, ir::KernelLaunch launch) {
    codegen::SetJitTier(tier);
    codegen::SetKernelCacheCapacity(1);
    const NDArray one = *NDArray::Full({3}, DType::kInt16, 1);
    codegen::RunKernel(
        *ir::PlanElementwiseKernel({*ir::MakeUfunc(ir::Ufunc::kNegative, {ir::MakeArray(one)})},
                                   64))
        .IgnoreError();  // an unrelated kernel in the one-kernel cache
    launch.arrays[0] = *NDArray::Full(launch.arrays[0].shape(), launch.arrays[0].dtype(), 0);
    absl::Status s = codegen::RunKernel(launch);
    return {s, launch.arrays[0]};
  }
  codegen::JitTier saved_tier_ = codegen::JitTier::kAuto;
  int64_t saved_capacity_ = 0;
};

bool SameBytes(const NDArray& a, const NDArray& b) {
  return a.dtype() == b.dtype() && a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * ItemSize(a.dtype())) == 0;
}

TEST_F(Tiers, EveryUfuncLoopComputesTheSameBitsInBothTiers) {
  const DType dtypes[] = {DType::kBool,    DType::kInt8,      DType::kUInt8,     DType::kInt32,
                          DType::kInt64,   DType::kUInt64,    DType::kFloat16,   DType::kFloat32,
                          DType::kFloat64, DType::kComplex64, DType::kComplex128};
  int checked = 0;
  for (int u = 0; u < ir::kNumUfuncs; ++u) {
    const auto op = static_cast<ir::Ufunc>(u);
    const int arity = ir::Info(op).arity;
    if (arity > 2) continue;
    for (DType t : dtypes) {
      std::vector<DType> in(arity, t);
      if (!ir::ResolveSignature(op, in).ok()) continue;
      std::vector<ir::NodePtr> leaves;
      for (int i = 0; i < arity; ++i) leaves.push_back(ir::MakeArray(Values(t, 203, 7 + i)));
      absl::StatusOr<ir::NodePtr> node = ir::MakeUfunc(op, leaves);
      ASSERT_TRUE(node.ok()) << ir::Name(op);
      absl::StatusOr<ir::KernelLaunch> launch = ir::PlanElementwiseKernel({*node}, 64);
      ASSERT_TRUE(launch.ok()) << launch.status();
      if (!codegen::Lowers(launch->spec)) continue;
      ASSERT_EQ(launch->spec.num_outputs, 1);
      const auto [fast_status, fast] = RunIn(codegen::JitTier::kFast, *launch);
      const auto [opt_status, opt] = RunIn(codegen::JitTier::kOpt, *launch);
      // The same answer, or the same error (an integer to a negative power).
      EXPECT_EQ(fast_status, opt_status) << ir::Name(op) << " on " << Name(t);
      if (fast_status.ok()) {
        EXPECT_TRUE(SameBytes(fast, opt)) << ir::Name(op) << " on " << Name(t);
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 300);
}

TEST_F(Tiers, ReductionsAndFusedExpressionsComputeTheSameBits) {
  const NDArray m = *Values(DType::kFloat32, 97 * 131, 3).Reshape({97, 131});
  auto eval = [&](codegen::JitTier tier) {
    codegen::SetJitTier(tier);
    codegen::SetKernelCacheCapacity(1);
    engine::ClearProgramCache();
    const Array<> a(*m.Copy());
    const Array<> x = where(isfinite(a), a, 0.0);
    const Array<> e = exp(x - max(x, 1, true));
    std::vector<NDArray> out;
    for (const Array<>& r : {e / sum(e, 1, true), sum(x * x, 0), mean(tanh(x), 1), stddev(x)}) {
      out.push_back(r.array());
    }
    return out;
  };
  const std::vector<NDArray> fast = eval(codegen::JitTier::kFast);
  const std::vector<NDArray> opt = eval(codegen::JitTier::kOpt);
  ASSERT_EQ(fast.size(), opt.size());
  for (size_t i = 0; i < fast.size(); ++i) EXPECT_TRUE(SameBytes(fast[i], opt[i])) << i;
}

TEST_F(Tiers, AutoStartsFastAndSwapsInTheOptimisedCode) {
  codegen::SetJitTier(codegen::JitTier::kAuto);
  codegen::SetKernelCacheCapacity(1);
  const NDArray a = Values(DType::kFloat64, 1000, 5);
  const ir::NodePtr node =
      *ir::MakeUfunc(ir::Ufunc::kCbrt, {*ir::MakeUfunc(ir::Ufunc::kSinh, {ir::MakeArray(a)})});
  ir::KernelLaunch launch = *ir::PlanElementwiseKernel({node}, 64);
  const codegen::CompileStats before = codegen::GetCompileStats();
  absl::StatusOr<codegen::Kernel> kernel = codegen::GetKernel(launch.spec);
  ASSERT_TRUE(kernel.ok());
  const codegen::KernelFn first = kernel->fn();
  ASSERT_TRUE(codegen::RunKernel(launch).ok());
  const NDArray fast_result = *launch.arrays[0].Copy();
  codegen::WaitForBackgroundCompiles();
  EXPECT_TRUE(kernel->optimised());
  EXPECT_NE(kernel->fn(), first);
  const codegen::CompileStats after = codegen::GetCompileStats();
  EXPECT_EQ(after.fast_compiled - before.fast_compiled, 1);
  EXPECT_EQ(after.tiered_up - before.tiered_up, 1);
  EXPECT_GT(after.background_ms, before.background_ms);
  ASSERT_TRUE(codegen::RunKernel(launch).ok());
  EXPECT_TRUE(SameBytes(launch.arrays[0], fast_result));
}

TEST_F(Tiers, TheProfilerShowsEachKernelsTierAndItsBackgroundCompile) {
  codegen::SetProfiling(true);
  codegen::ResetProfile();
  codegen::SetJitTier(codegen::JitTier::kAuto);
  codegen::SetKernelCacheCapacity(1);
  engine::ClearProgramCache();
  const Array<> x(Values(DType::kFloat32, 4096, 9));
  (arctan(x) * 3.0 + cos(x)).eval();
  codegen::WaitForBackgroundCompiles();
  (arctan(x) * 3.0 + cos(x)).eval();  // a launch of the optimised code: the same row
  codegen::SetProfiling(false);
  const std::vector<codegen::KernelProfile> rows = codegen::GetProfile();
  ASSERT_EQ(rows.size(), 1u) << codegen::ProfileReport(rows);
  EXPECT_EQ(rows[0].tier, "fast>opt");
  EXPECT_EQ(rows[0].calls, 2);
  EXPECT_GT(rows[0].opt_ms, 0);
  EXPECT_NE(codegen::ProfileReport(rows).find("fast>opt"), std::string::npos);
}

}  // namespace
}  // namespace ndjit
