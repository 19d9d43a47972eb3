// Long chains of statements, each reading the last: the graph is cut when
// it grows past kMaxGraphOps, so compile time and graph depth stay bounded,
// and the value is what evaluating each statement at once would give.
#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "ndjit/ndjit.h"
#include "test_util.h"

namespace ndjit {
namespace {

TEST(LongChainTest, AChainIsCutAndComputesTheSameValue) {
  const NDArray x = ValueOrThrow(NDArray::Arange(8, DType::kFloat64));
  const int64_t cuts = GetEvalStats().graph_cuts;
  Array<> a(x);
  for (int i = 0; i < 1000; ++i) a = sin(a) + 0.5;
  EXPECT_LE(a.node()->tree_ops(), kMaxGraphOps);
  EXPECT_GE(GetEvalStats().graph_cuts - cuts, 2000 / kMaxGraphOps);
  std::vector<double> expect = testing::Values(x);
  for (double& v : expect) {
    for (int i = 0; i < 1000; ++i) v = std::sin(v) + 0.5;
  }
  const std::vector<double> got = testing::Values(a.array());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expect[i], 1e-12) << i;
}

TEST(LongChainTest, SharedSubexpressionsAndReductionsAreCutToo) {
  // a + a doubles the ops counted per path: cut every few statements.
  Array<> a(ValueOrThrow(NDArray::Full({4}, DType::kFloat64, 1.0)));
  for (int i = 0; i < 60; ++i) a = (a + a) * 0.5 + 1;
  EXPECT_LE(a.node()->tree_ops(), kMaxGraphOps);
  EXPECT_EQ(testing::Values(a.array()), std::vector<double>(4, 61.0));
  Array<> s(ValueOrThrow(NDArray::Full({3, 3}, DType::kFloat64, 1.0)));
  for (int i = 0; i < 500; ++i) s = s + sum(s, 1, true) * 0;
  EXPECT_LE(s.node()->tree_ops(), kMaxGraphOps);
  EXPECT_EQ(testing::Values(s.array()), std::vector<double>(9, 1.0));
}

TEST(LongChainTest, AVeryLongChainNeitherOverflowsTheStackNorStalls) {
  Array<> a(ValueOrThrow(NDArray::Zeros({2}, DType::kInt64)));
  for (int i = 0; i < 200000; ++i) a = a + 1;
  EXPECT_EQ(testing::Values(a.array()), std::vector<double>(2, 200000.0));
}

}  // namespace
}  // namespace ndjit
