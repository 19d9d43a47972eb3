// Lazy values and later writes: a value built before an out= write into an
// array it reads has the value NumPy computes eagerly, whatever is written
// after; the write itself costs no extra evaluation when nothing else reads
// the array.
#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ndjit/ndjit.h"
#include "ndjit/runtime/npy.h"
#include "test_util.h"

namespace ndjit {
namespace {

using testing::Values;

std::vector<double> V(const Array<>& a) { return Values(a.array()); }

NDArray Range(int64_t n) { return ValueOrThrow(NDArray::Arange(n, DType::kFloat64)); }

int64_t Fixed() { return GetEvalStats().fixed_before_write; }

TEST(WriteOrderTest, ValueBuiltBeforeAnInPlaceWriteKeepsItsInputs) {
  const NDArray x = Range(5);
  const Array<> y = Array<>(x) * 2;
  const int64_t before = Fixed();
  (Array<>(x) + 1).eval_into(x);  // NumPy: np.add(x, 1, out=x)
  EXPECT_EQ(Fixed() - before, 1);
  EXPECT_EQ(V(y), (std::vector<double>{0, 2, 4, 6, 8}));
  EXPECT_EQ(Values(x), (std::vector<double>{1, 2, 3, 4, 5}));
  // A value built after the write reads the new contents.
  EXPECT_EQ(V(Array<>(x) * 2), (std::vector<double>{2, 4, 6, 8, 10}));
}

TEST(WriteOrderTest, InPlaceLoopWithNoOtherReaderFixesNothing) {
  const NDArray x = Range(4);
  const int64_t before = Fixed();
  for (int i = 0; i < 3; ++i) {
    // Built first: the statement's temporaries are gone before the write.
    const Array<> next = sin(Array<>(x) * 0 + Array<>(x) + 1);
    next.eval_into(x);
  }
  EXPECT_EQ(Fixed(), before);
  EXPECT_NEAR(Values(x)[0], std::sin(std::sin(std::sin(1.0) + 1) + 1), 1e-12);
  // In one statement the temporaries are alive at the write, so they are
  // fixed (an extra evaluation), with the same result.
  const NDArray z = Range(4);
  for (int i = 0; i < 3; ++i) sin(Array<>(z) * 0 + Array<>(z) + 1).eval_into(z);
  EXPECT_GT(Fixed(), before);
  EXPECT_EQ(Values(z), Values(x));
}

TEST(WriteOrderTest, AHandleOfTheSameStructureIsFixed) {
  const NDArray x = Range(3);
  const Array<> z = Array<>(x) + 1;  // interned: the same node as the value written
  (Array<>(x) + 1).eval_into(x);
  EXPECT_EQ(V(z), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(Values(x), (std::vector<double>{1, 2, 3}));
  (Array<>(x) + 1).eval_into(x);
  EXPECT_EQ(V(z), (std::vector<double>{1, 2, 3}));
}

TEST(WriteOrderTest, ReductionsAndValuesAboveAReaderKeepTheirInputs) {
  const NDArray x = Range(4);
  const Array<> a = Array<>(x) * 2;
  const Array<> b = a + 1;  // reads x only through a
  const Array<> s = sum(Array<>(x));
  const Array<> m = max(exp(Array<>(x)), 0, true);
  sin(Array<>(x)).eval_into(x);
  EXPECT_EQ(V(b), (std::vector<double>{1, 3, 5, 7}));
  EXPECT_EQ(V(a), (std::vector<double>{0, 2, 4, 6}));
  EXPECT_EQ(V(s), (std::vector<double>{6}));
  EXPECT_NEAR(V(m)[0], std::exp(3.0), 1e-9);
}

TEST(WriteOrderTest, WritingAViewFixesReadersOfTheWholeBuffer) {
  const NDArray x = Range(6);
  const Array<> y = Array<>(x)[{Slice{0, 3}}] + 0.5;
  const NDArray tail = ValueOrThrow(x.Index({Slice{3, 6}}));
  const NDArray head = ValueOrThrow(x.Index({Slice{0, 3}}));
  (Array<>(tail) * 10).eval_into(head);
  EXPECT_EQ(V(y), (std::vector<double>{0.5, 1.5, 2.5}));
  EXPECT_EQ(Values(x), (std::vector<double>{30, 40, 50, 3, 4, 5}));
}

TEST(WriteOrderTest, TheWrittenHandleThenReadsItsOutArray) {
  const NDArray x = Range(3);
  const NDArray out = ValueOrThrow(NDArray::Zeros({3}, DType::kFloat64));
  const Array<> y = Array<>(x) * 3;
  y.eval_into(out);
  EXPECT_EQ(y.array().data(), out.data());  // NumPy's out= returns out
  (Array<>(x) - 1).eval_into(x);
  EXPECT_EQ(V(y), (std::vector<double>{0, 3, 6}));
  // A cast into out: the handle keeps its own value, computed before x changes.
  const NDArray narrow = ValueOrThrow(NDArray::Zeros({3}, DType::kFloat32));
  const Array<> w = Array<>(x) * 2.5;
  w.eval_into(narrow);
  (Array<>(x) + 100).eval_into(x);
  EXPECT_EQ(V(w), (std::vector<double>{-2.5, 0, 2.5}));
  EXPECT_EQ(Values(narrow), (std::vector<double>{-2.5, 0, 2.5}));
}

TEST(WriteOrderTest, WriteableMemoryMaps) {
  const std::string path = ::testing::TempDir() + "/write_order.npy";
  {
    const NDArray m = ValueOrThrow(CreateNpyMemmap(path, {4}, DType::kFloat64));
    (Array<>(Range(4)) + 1).eval_into(m);
  }
  const NDArray m = ValueOrThrow(OpenNpyMemmap(path, MmapMode::kReadWrite));
  const Array<> y = Array<>(m) * 2;
  (Array<>(m) * 0).eval_into(m);
  EXPECT_EQ(V(y), (std::vector<double>{2, 4, 6, 8}));
  EXPECT_EQ(Values(ValueOrThrow(LoadNpy(path))), (std::vector<double>{0, 0, 0, 0}));
  std::remove(path.c_str());
}

// a[items] = value (index_assign): NumPy's setitem into the array's memory.
// np.add.at and friends: each selected element in turn, a repeated index
// applied again, readers of the array computed first, NumPy's errors with
// nothing written.
TEST(WriteOrderTest, UfuncAtAppliesTheOpOnceForEverySelectedElement) {
  const NDArray x = Range(5);
  const Array<> a(x);
  const Array<> before = a + 0.0;
  const auto idx = [](std::vector<int64_t> v) {
    const int64_t n = static_cast<int64_t>(v.size());
    return ArrayIndexItem(Array<>(ValueOrThrow(NDArray::FromValues<int64_t>({n}, v))));
  };
  ufunc_at(ir::Ufunc::kAdd, a, {idx({0, 0, 3, 0})}, full({}, 1.5));
  EXPECT_EQ(Values(x), (std::vector<double>{4.5, 1, 2, 4.5, 4}));
  EXPECT_EQ(V(before), (std::vector<double>{0, 1, 2, 3, 4}));
  // Values broadcast to the selection, applied in its order.
  ufunc_at(ir::Ufunc::kSubtract, a, {idx({1, 1})}, Array<>(Range(2)) + 10.0);
  EXPECT_EQ(Values(x)[1], 1 - 10 - 11);
  ufunc_at(ir::Ufunc::kNegative, a, {idx({4})});
  EXPECT_EQ(Values(x)[4], -4);
  // int8 wraps as NumPy's loop does; float into int is refused.
  const NDArray small = ValueOrThrow(NDArray::Full({2}, DType::kInt8, 100));
  ufunc_at(ir::Ufunc::kAdd, Array<>(small), {idx({0, 0})}, Weak(DType::kInt8, int64_t{100}));
  EXPECT_EQ(Values<int8_t>(small)[0], static_cast<int8_t>(300 & 0xff));
  EXPECT_THROW(ufunc_at(ir::Ufunc::kAdd, Array<>(small), {idx({0})}, full({}, 0.5)), Error);
  const std::vector<double> kept = Values(x);
  EXPECT_THROW(ufunc_at(ir::Ufunc::kAdd, a, {idx({0, 7})}, full({}, 1.0)), Error);
  EXPECT_THROW(ufunc_at(ir::Ufunc::kAdd, a, {idx({0})}), Error);
  EXPECT_THROW(ufunc_at(ir::Ufunc::kPower, Array<>(small), {idx({0})}, full({}, -1, DType::kInt8)),
               Error);
  EXPECT_EQ(Values(x), kept);
}

TEST(WriteOrderTest, IndexAssignStoresLikeNumpysSetitem) {
  const NDArray x = Range(6);
  const Array<> a(x);
  const Array<> before_write = a * 10;  // built before: keeps the old values
  // a[a > 2] = -1: a mask over the whole array with one value is one kernel
  // writing in place; the mask and before_write read `a`, so they are
  // computed first (one kernel for both).
  const EvalStats s0 = GetEvalStats();
  index_assign(a, {ArrayIndexItem(a > 2.0)}, full({}, -1.0));
  EXPECT_EQ(GetEvalStats().kernels_run - s0.kernels_run, 2);
  EXPECT_EQ(GetEvalStats().fixed_before_write - s0.fixed_before_write, 2);
  EXPECT_EQ(Values(x), (std::vector<double>{0, 1, 2, -1, -1, -1}));
  EXPECT_EQ(V(before_write), (std::vector<double>{0, 10, 20, 30, 40, 50}));
  // a[1:3] = [7, 8]: a view's store, cast as setitem casts (unsafe).
  const NDArray i = ValueOrThrow(NDArray::Arange(6, DType::kInt64));
  index_assign(Array<>(i), {ArrayIndexItem(IndexItem(Slice{1, 3, std::nullopt}))},
               Array<>(ValueOrThrow(NDArray::FromValues<double>({2}, {7.9, -8.9}))));
  EXPECT_EQ(Values<int64_t>(i), (std::vector<int64_t>{0, 7, -8, 3, 4, 5}));
  // a[[4, 0]] = a[:2] * 100: integer arrays, the value read before the store.
  const Array<> ai(i);
  index_assign(ai,
               {ArrayIndexItem(Array<>(ValueOrThrow(NDArray::FromValues<int64_t>({2}, {4, 0}))))},
               ai.index({Slice{0, 2, std::nullopt}}) * int64_t{100});
  EXPECT_EQ(Values<int64_t>(i), (std::vector<int64_t>{700, 7, -8, 3, 0, 5}));
  // A lazy target is computed first and its handle reads the stored values.
  const Array<> lazy = Array<>(Range(3)) + 1.0;
  index_assign(lazy, {ArrayIndexItem(IndexItem(int64_t{0}))}, full({}, 9.0));
  EXPECT_EQ(V(lazy), (std::vector<double>{9, 2, 3}));
  // NumPy's errors; nothing is written.
  EXPECT_THROW(index_assign(lazy, {ArrayIndexItem(IndexItem(int64_t{0}))}, Array<>(Range(2))),
               Error);
  EXPECT_THROW(
      index_assign(lazy,
                   {ArrayIndexItem(Array<>(ValueOrThrow(NDArray::FromValues<int64_t>({1}, {3}))))},
                   full({}, 1.0)),
      Error);
  EXPECT_EQ(V(lazy), (std::vector<double>{9, 2, 3}));
}

}  // namespace
}  // namespace ndjit
