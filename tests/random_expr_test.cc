// Property test: random expression trees (depth <= 6, random_graph.h) over
// randomly broadcast shapes, dtypes and memory layouts, evaluated by the JIT
// (fused), the eager evaluator and the reference evaluator. Trees built from
// ops flagged kExact must agree bit for bit (NaNs as a class); trees with
// transcendental ops are kept shallow and compared within a tolerance.
// Reductions appear inside trees (keepdims) and at their roots.
#include "gtest/gtest.h"
#include "ndjit/ir/reference.h"
#include "ndjit/ndjit.h"
#include "random_graph.h"

namespace ndjit {
namespace {

void RunSeed(uint32_t seed, bool exact, int depth) {
  testing::SeededChoices choices(seed);
  testing::GraphGenerator gen(&choices, exact);
  Array<> expr = gen.Tree(depth);
  if (gen.Pick(4) == 0) expr = gen.Reduce(expr, false);
  const std::string what = "seed " + std::to_string(seed) + "\n" + ir::PrintGraph({expr.node()});
  absl::StatusOr<NDArray> want = ir::EvaluateReference(expr.node());
  for (Backend b : {Backend::kJit, Backend::kEager}) {
    absl::StatusOr<NDArray> got =
        testing::Caught([&] { return Array<>(expr.node()).eval(b).array(); });
    if (!want.ok()) {
      ASSERT_FALSE(got.ok()) << what;
      EXPECT_EQ(got.status().message(), want.status().message()) << what;
      continue;
    }
    ASSERT_TRUE(got.ok()) << what << got.status();
    EXPECT_EQ(testing::FirstDifference(*got, *want, exact ? 0 : 2e-3), "") << what;
  }
}

TEST(RandomExpressions, ExactOpsAgreeBitForBit) {
  for (uint32_t seed = 1; seed <= 150; ++seed) RunSeed(seed, true, 6);
}

TEST(RandomExpressions, TranscendentalTreesAgreeClosely) {
  for (uint32_t seed = 1000; seed <= 1080; ++seed) RunSeed(seed, false, 2);
}

}  // namespace
}  // namespace ndjit
