// Programs made for new sizes without planning (ir::Respecialise) against
// the Programs Schedule plans for those sizes, and the engine's cache of
// Programs by size-free key: a new size reuses a Program, values unchanged.
#include <functional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ndjit/codegen/target.h"
#include "ndjit/engine/engine.h"
#include "ndjit/ir/program.h"
#include "ndjit/ndjit.h"
#include "test_util.h"

namespace ndjit {
namespace {

int VectorBytes() { return codegen::GetHostTarget().vector_bits / 8; }

NDArray Data(Dims shape, DType t, uint32_t seed) {
  NDArray a = testing::Iota(shape, t);
  NDArray flat = *a.Reshape({a.size()});
  for (int64_t i = 0; i < a.size(); ++i) {
    const double v = static_cast<double>((i * 7 + seed * 13) % 23) / 4.0 - 2.0;
    EXPECT_TRUE(flat.SetItem<double>({i}, IsInteger(t) ? std::round(v) : v).ok());
  }
  return a;
}

// The roots of one structure over leaves of the sizes m, n.
using Graph = std::function<std::vector<Array<>>(int64_t m, int64_t n)>;

struct Case {
  std::string name;
  Graph graph;
  // Sizes the first Program is planned for, then the sizes it is made for.
  int64_t m0, n0, m1, n1;
};

std::vector<Case> Cases() {
  const auto f32 = [](int64_t m, int64_t n, uint32_t seed) {
    return Array<>(Data({m, n}, DType::kFloat32, seed));
  };
  return {
      {"w2 1-D",
       [](int64_t m, int64_t) {
         const Array<> a(Data({m}, DType::kFloat32, 1)), b(Data({m}, DType::kFloat32, 2)),
             c(Data({m}, DType::kFloat32, 3));
         return std::vector<Array<>>{2 * a + 3 * b * c - a / (b + 1)};
       },
       1000, 0, 4099, 0},
      {"row broadcast",
       [=](int64_t m, int64_t n) { return std::vector<Array<>>{f32(m, n, 1) * 2 + f32(1, n, 2)}; },
       3, 5, 64, 33},
      {"column times row",
       [=](int64_t m, int64_t n) { return std::vector<Array<>>{f32(m, 1, 1) * f32(1, n, 2)}; }, 7,
       9, 100, 3},
      {"transposed input",
       [=](int64_t m, int64_t n) { return std::vector<Array<>>{f32(n, m, 1).T() + f32(m, n, 2)}; },
       32, 48, 80, 64},
      {"F-ordered inputs",
       [](int64_t m, int64_t n) {
         const Array<> a(*Data({m, n}, DType::kFloat64, 1).Copy(Order::kF));
         const Array<> b(*Data({m, n}, DType::kFloat64, 2).Copy(Order::kF));
         return std::vector<Array<>>{sqrt(abs(a)) - b};
       },
       10, 20, 31, 7},
      {"mixed dtypes, two roots",
       [](int64_t m, int64_t n) {
         const Array<> i(Data({m, n}, DType::kInt32, 1)), x(Data({m, n}, DType::kFloat64, 2));
         return std::vector<Array<>>{i + x, where(i > 0, x, -x)};
       },
       5, 6, 17, 130},
      {"strided view",
       [=](int64_t m, int64_t n) {
         return std::vector<Array<>>{f32(m, 2 * n, 1).index({Slice{}, Slice{0, std::nullopt, 2}}) *
                                     f32(m, n, 2)};
       },
       4, 50, 9, 70},
      {"a size-1 axis",
       [=](int64_t, int64_t n) { return std::vector<Array<>>{exp(f32(1, n, 1)) + 1}; }, 0, 100, 0,
       3000},
  };
}

// A Program as a comparable text: its print and every call's fields.
std::string Describe(const ir::Program& p) {
  std::string s = ir::PrintProgram(p);
  for (const ir::Step& step : p.steps) {
    for (const ir::KernelCall& c : step.calls) {
      s += ir::PrintKernel(c.spec, c.sizes, c.strides);
      for (const ir::OperandRef& r : c.operands) {
        s += " @" + std::to_string(r.slot) + "+" + std::to_string(r.offset);
      }
      s += c.empty ? " empty\n" : "\n";
    }
  }
  return s;
}

std::vector<ir::NodePtr> Nodes(const std::vector<Array<>>& roots) {
  std::vector<ir::NodePtr> out;
  for (const Array<>& r : roots) out.push_back(r.node());
  return out;
}

std::vector<NDArray> LeafArrays(absl::Span<const ir::NodePtr> roots) {
  std::vector<NDArray> out;
  for (const ir::Node* n : ir::CollectLeaves(roots).arrays) out.push_back(n->array());
  return out;
}

ir::Program Planned(absl::Span<const ir::NodePtr> roots) {
  absl::StatusOr<ir::Program> p = ir::Schedule(roots, VectorBytes());
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : ir::Program();
}

TEST(RespecialiseTest, IsWhatScheduleWouldPlanForTheNewSizes) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    const std::vector<ir::NodePtr> r0 = Nodes(c.graph(c.m0, c.n0)), r1 = Nodes(c.graph(c.m1, c.n1));
    ASSERT_EQ(ir::SizeFreeKey(r0), ir::SizeFreeKey(r1));
    ASSERT_NE(ir::ProgramKey(r0), ir::ProgramKey(r1));
    const std::optional<ir::Program> made =
        ir::Respecialise(Planned(r0), r1[0]->shape(), LeafArrays(r1), VectorBytes());
    ASSERT_TRUE(made.has_value());
    // Schedule's Program, naming no node (as the one made names none).
    ir::Program planned = Planned(r1);
    planned.held.clear();
    planned.origins.clear();
    for (ir::Slot& s : planned.slots) s.node = nullptr;
    for (ir::Step& s : planned.steps) {
      s.nodes.clear();
      for (ir::KernelCall& k : s.calls) k.instr_nodes.clear();
    }
    EXPECT_EQ(Describe(*made), Describe(planned));
    // And it runs: the planned Program's bits over the new leaves.
    std::vector<ir::ScalarValue> scalars;
    for (const ir::Node* n : ir::CollectLeaves(r1).scalars) scalars.push_back(n->scalar());
    absl::StatusOr<std::vector<NDArray>> got = engine::Run(*made, LeafArrays(r1), scalars);
    absl::StatusOr<std::vector<NDArray>> want = engine::Run(planned, LeafArrays(r1), scalars);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(want.ok()) << want.status();
    for (size_t k = 0; k < r1.size(); ++k) {
      const NDArray x = *AsContiguousArray((*got)[k]), y = *AsContiguousArray((*want)[k]);
      ASSERT_EQ(x.shape(), y.shape());
      EXPECT_EQ(std::string(x.data(), x.nbytes()), std::string(y.data(), y.nbytes())) << k;
    }
  }
}

TEST(RespecialiseTest, RefusesWhatTheNewSizesDecideDifferently) {
  const auto w = [](int64_t n) {
    const Array<> a(Data({n}, DType::kFloat32, 1));
    return Nodes({exp(a) * 2});
  };
  const int vb = VectorBytes();
  // Past 4 MiB a fresh output is written with streaming stores: another kernel.
  const std::vector<ir::NodePtr> small = w(1000), large = w(int64_t{2} << 20);
  ASSERT_EQ(ir::SizeFreeKey(small), ir::SizeFreeKey(large));
  EXPECT_FALSE(ir::Respecialise(Planned(small), large[0]->shape(), LeafArrays(large), vb));
  // A leaf that becomes transposed beside one that does not: its access
  // changes (alone, it would only turn the output F-ordered).
  const auto t = [](int64_t m, bool transposed) {
    const Array<> a(Data({m, m}, DType::kFloat32, 1)), b(Data({m, m}, DType::kFloat32, 2));
    return Nodes({(transposed ? a.T() : a) + b});
  };
  const std::vector<ir::NodePtr> plain = t(40, false), turned = t(40, true);
  EXPECT_FALSE(ir::Respecialise(Planned(plain), turned[0]->shape(), LeafArrays(turned), vb));
  // Reductions are planned again (their chunks depend on the sizes).
  const auto s = [](int64_t n) {
    const Array<> a(Data({n, 8}, DType::kFloat32, 1));
    return Nodes({sum(a, 0) + 1});
  };
  const std::vector<ir::NodePtr> s0 = s(10), s1 = s(1000);
  EXPECT_FALSE(ir::Respecialise(Planned(s0), s1[0]->shape(), LeafArrays(s1), vb));
  // Empty arrays too.
  const std::vector<ir::NodePtr> none = w(0);
  EXPECT_FALSE(ir::Respecialise(Planned(small), none[0]->shape(), LeafArrays(none), vb));
}

TEST(RespecialiseTest, AnEvaluationAtANewSizeIsNotPlanned) {
  engine::ClearProgramCache();
  const auto w2 = [](int64_t n, uint32_t seed) {
    const Array<> a(Data({n, 3}, DType::kFloat32, seed)), b(Data({n, 3}, DType::kFloat32, 2));
    return 2 * a + 3 * b * a - a / (b + 1);
  };
  const auto softmax = [](int64_t n) {
    const Array<> a(Data({n, 5}, DType::kFloat32, 3));
    const Array<> e = exp(a - max(a, 1, true));
    return e / sum(e, 1, true);
  };
  std::vector<int64_t> planned;
  for (int64_t n : {10, 11, 500, 3}) {
    const EvalStats before = GetEvalStats();
    const Array<> r = w2(n, static_cast<uint32_t>(n));
    const NDArray got = r.array();
    planned.push_back(GetEvalStats().programs_planned - before.programs_planned);
    const NDArray want = *engine::EvaluateReference({r.node()}).value().begin();
    ASSERT_EQ(got.shape(), want.shape());
    EXPECT_EQ(testing::Values(got), testing::Values(want)) << n;
  }
  // Planned once, at the first size; made for the others.
  EXPECT_EQ(planned, (std::vector<int64_t>{1, 0, 0, 0}));
  // A Program with reductions is planned for each new size.
  planned.clear();
  for (int64_t n : {10, 11}) {
    const EvalStats before = GetEvalStats();
    softmax(n).eval();
    planned.push_back(GetEvalStats().programs_planned - before.programs_planned);
  }
  EXPECT_EQ(planned, (std::vector<int64_t>{1, 1}));
}

}  // namespace
}  // namespace ndjit
