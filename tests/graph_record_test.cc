// Graphs recorded as plain data and rebuilt: the same nodes come back.
#include "ndjit/ir/graph_record.h"

#include <gtest/gtest.h>

#include "ndjit/ndjit.h"

namespace ndjit {
namespace {

std::vector<ir::NodePtr> RoundTrip(std::initializer_list<Array<>> values) {
  std::vector<ir::NodePtr> roots;
  for (const Array<>& v : values) roots.push_back(v.node());
  const ir::GraphRecord record = ir::RecordGraph(roots);
  absl::StatusOr<std::vector<ir::NodePtr>> back = ir::RebuildGraph(record);
  EXPECT_TRUE(back.ok()) << back.status();
  return back.ok() ? *back : std::vector<ir::NodePtr>{};
}

TEST(GraphRecord, RebuildsTheSameNodesForEveryKind) {
  Array<> a(*NDArray::Arange(24, DType::kFloat32)), b(*NDArray::Arange(6, DType::kFloat32));
  Array<> m = a.reshape({4, 6});
  Generator g(7);
  Array<> r = g.normal(0.0, 1.0, {4, 6}, DType::kFloat32);
  Array<> v1 = tanh(m[{Slice{std::nullopt, std::nullopt, -1}}] * 2.0f) + b;  // view, scalar, ufunc
  Array<> v2 = sum(exp(m - max(m, 1, true)), 1);                             // reductions
  Array<> v3 = matmul(m, m.T()) + 1.0f;                                      // contraction
  Array<> v4 = (r.T() * 3.0f).astype(DType::kFloat64);                       // random view, cast
  const std::vector<ir::NodePtr> back = RoundTrip({v1, v2, v3, v4});
  ASSERT_EQ(back.size(), 4u);
  // Interning makes a rebuilt graph over the same arrays the same nodes.
  EXPECT_EQ(back[0].get(), v1.node().get());
  EXPECT_EQ(back[1].get(), v2.node().get());
  EXPECT_EQ(back[2].get(), v3.node().get());
  EXPECT_EQ(back[3].get(), v4.node().get());
}

TEST(GraphRecord, RebuiltOverCopiesComputesTheSameValues) {
  Array<> a(*NDArray::Arange(12, DType::kFloat64));
  Generator g(3);
  Array<> e = sum(sin(a.reshape({3, 4})) * g.random({3, 4}), 0) - 1.0;
  const NDArray want = e.array();
  ir::GraphRecord record = ir::RecordGraph({Array<>(e).node()});
  ASSERT_EQ(record.arrays.size(), 1u);
  record.arrays[0] = *record.arrays[0].Copy();  // as if shipped to another process
  absl::StatusOr<std::vector<ir::NodePtr>> back = ir::RebuildGraph(record);
  ASSERT_TRUE(back.ok()) << back.status();
  const NDArray got = Array<>((*back)[0]).array();
  for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(*got.Item<double>({j}), *want.Item<double>({j}));
}

TEST(GraphRecord, CorruptRecordsAreErrorsNamingTheRecord) {
  Array<> a(*NDArray::Arange(6, DType::kFloat32));
  ir::GraphRecord good = ir::RecordGraph({(a * 2.0f + a).node()});
  ir::GraphRecord bad = good;
  bad.nodes.back().inputs = {5, 0};  // not an earlier record
  EXPECT_FALSE(ir::RebuildGraph(bad).ok());
  bad = good;
  bad.arrays.clear();
  absl::StatusOr<std::vector<ir::NodePtr>> no_array = ir::RebuildGraph(bad);
  ASSERT_FALSE(no_array.ok());
  EXPECT_NE(no_array.status().message().find("graph record 0"), std::string::npos);
  bad = good;
  bad.nodes.back().dtype = DType::kInt8;  // says what its inputs do not make
  absl::StatusOr<std::vector<ir::NodePtr>> wrong = ir::RebuildGraph(bad);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("recorded as int8"), std::string::npos);
  bad = good;
  bad.roots = {99};
  EXPECT_FALSE(ir::RebuildGraph(bad).ok());
}

}  // namespace
}  // namespace ndjit
