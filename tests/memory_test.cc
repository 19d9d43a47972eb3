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

namespace ndjit {
namespace {

// out= for several values: one kernel, no allocation, NumPy's casting and
// broadcasting, and overlaps that would read overwritten elements avoided.
TEST(EvalIntoTest, SeveralValuesIntoPreallocatedArrays) {
  const NDArray a = *NDArray::Full({1 << 16}, DType::kFloat32, 3);
  const NDArray b = *NDArray::Full({1 << 16}, DType::kFloat32, 2);
  NDArray sum_out = *NDArray::Zeros({1 << 16}, DType::kFloat64);  // float32 -> float64: same_kind
  NDArray prod_out = *NDArray::Zeros({1 << 16}, DType::kFloat32);
  const Array<> s = Array<>(a) + Array<>(b), p = Array<>(a) * Array<>(b);
  EvaluateInto(std::vector<const Array<>*>{&s, &p}, {sum_out, prod_out});  // compile
  const EvalStats before = GetEvalStats();
  const PoolStats pool = GetPoolStats();
  EvaluateInto(std::vector<const Array<>*>{&s, &p}, {sum_out, prod_out});
  EXPECT_EQ(GetEvalStats().kernels_run - before.kernels_run, 1);
  EXPECT_EQ(Allocations(GetPoolStats()) - Allocations(pool), 0);
  EXPECT_EQ(sum_out.Item<double>({7}).value(), 5.0);
  EXPECT_EQ(prod_out.Item<float>({7}).value(), 6.0f);

  // A row broadcast into a matrix view, and a reduction into a 0-d array.
  NDArray m = *NDArray::Zeros({4, 6}, DType::kFloat32);
  const NDArray row = *NDArray::Full({3}, DType::kFloat32, 1.5);
  const Array<> r(row);
  const NDArray view = *m.Index({Slice{}, Slice{{}, {}, 2}});
  NDArray total = *NDArray::Zeros({}, DType::kFloat64);
  const Array<> t = sum(Array<>(row));
  EvaluateInto(std::vector<const Array<>*>{&r, &t}, {view, total});
  EXPECT_EQ(m.Item<float>({3, 4}).value(), 1.5f);
  EXPECT_EQ(m.Item<float>({3, 5}).value(), 0.0f);
  EXPECT_EQ(total.Item<double>({}).value(), 4.5);

  // Writing x + 1 into x and x * 2 into y: the second reads x's old values.
  NDArray x = *NDArray::Full({8}, DType::kFloat32, 1);
  NDArray y = *NDArray::Zeros({8}, DType::kFloat32);
  const Array<> inc = Array<>(x) + 1.0f, dbl = Array<>(x) * 2.0f;
  NDArray x_view = *x.Index({Slice{{}, {}, -1}});  // reversed: not elementwise-safe
  EvaluateInto(std::vector<const Array<>*>{&inc, &dbl}, {x_view, y});
  EXPECT_EQ(x.Item<float>({0}).value(), 2.0f);
  EXPECT_EQ(y.Item<float>({0}).value(), 2.0f);

  // Errors.
  NDArray ints = *NDArray::Zeros({1 << 16}, DType::kInt32);
  try {
    EvaluateInto(std::vector<const Array<>*>{&s}, {ints});
    ADD_FAILURE() << "float into int accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("with casting rule 'same_kind'"), std::string::npos);
  }
  try {
    EvaluateInto(std::vector<const Array<>*>{&s, &p}, {sum_out});
    ADD_FAILURE() << "count mismatch accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("2 values but 1 out arrays"), std::string::npos);
  }
}

}  // namespace
}  // namespace ndjit

namespace ndjit {
namespace {

// Values computed in waves are dropped after their last reader: in
// A @ (B * sum(A @ B, axis=0)) the first product is gone once its column
// sums are, so the second product and the scaled B (materialised for the
// GEMM) take its place: the peak is two products, not three.
TEST(EvalMemoryTest, FusedPathDropsIntermediatesAfterTheirLastReader) {
  const int64_t n = 512;
  const NDArray a = *NDArray::Full({n, n}, DType::kFloat32, 0.5);
  const NDArray b = *NDArray::Full({n, n}, DType::kFloat32, 0.5);
  auto value = [&] {
    const Array<> x(a), y(b);
    return matmul(x, y * sum(matmul(x, y), Axis(0)));
  };
  value().eval();  // compile
  const int64_t product = n * n * 4;
  const int64_t before = GetPoolStats().bytes_in_use;
  ResetPeakBytesInUse();
  const NDArray v = value().eval().array();
  const int64_t peak = GetPoolStats().peak_bytes_in_use - before;
  EXPECT_GE(peak, 2 * product);
  EXPECT_LT(peak, 3 * product) << "the first product outlived its sums";
  EXPECT_FLOAT_EQ(*v.Item<float>({3, 7}), 0.0625f * n * n * n);
}

}  // namespace
}  // namespace ndjit
