#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "ndjit/ir/graph.h"
#include "ndjit/ir/kernel.h"
#include "ndjit/ir/ops.h"
#include "ndjit/ir/reference.h"
#include "ndjit/ir/scalar_ops.h"
#include "ndjit/ir/verify_kernel.h"
#include "test_util.h"

namespace ndjit::ir {
namespace {

using ndjit::testing::Iota;
using ndjit::testing::Values;
using V = std::vector<double>;

DType Resolve(Ufunc u, std::initializer_list<DType> in) {
  absl::StatusOr<Signature> s = ResolveSignature(u, in);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? s->output : DType::kBool;
}

TEST(Ops, TableNamesAndLookup) {
  EXPECT_EQ(Name(Ufunc::kArctan2), "arctan2");
  EXPECT_EQ(*UfuncFromName("add"), Ufunc::kAdd);
  EXPECT_EQ(*UfuncFromName("true_divide"), Ufunc::kTrueDivide);
  EXPECT_EQ(*UfuncFromName("abs"), Ufunc::kAbsolute);
  EXPECT_FALSE(UfuncFromName("frobnicate").ok());
  for (int i = 0; i < kNumUfuncs; ++i) {
    const auto u = static_cast<Ufunc>(i);
    EXPECT_EQ(*UfuncFromName(Name(u)), u);
    EXPECT_GE(Info(u).arity, 1);
    EXPECT_FALSE(Info(u).loops.empty());
  }
}

// Expected dtypes are what NumPy 1.24/2.x print for arrays of these dtypes.
TEST(Ops, LoopSearchMatchesNumPy) {
  EXPECT_EQ(Resolve(Ufunc::kAdd, {DType::kInt8, DType::kUInt8}), DType::kInt16);
  EXPECT_EQ(Resolve(Ufunc::kAdd, {DType::kBool, DType::kBool}), DType::kBool);
  EXPECT_EQ(Resolve(Ufunc::kAdd, {DType::kInt64, DType::kUInt64}), DType::kFloat64);
  EXPECT_EQ(Resolve(Ufunc::kTrueDivide, {DType::kInt8, DType::kInt8}), DType::kFloat64);
  EXPECT_EQ(Resolve(Ufunc::kTrueDivide, {DType::kFloat16, DType::kFloat16}), DType::kFloat16);
  EXPECT_EQ(Resolve(Ufunc::kTrueDivide, {DType::kFloat32, DType::kInt8}), DType::kFloat32);
  EXPECT_EQ(Resolve(Ufunc::kSqrt, {DType::kInt8}), DType::kFloat16);
  EXPECT_EQ(Resolve(Ufunc::kSqrt, {DType::kUInt16}), DType::kFloat32);
  EXPECT_EQ(Resolve(Ufunc::kSqrt, {DType::kInt32}), DType::kFloat64);
  EXPECT_EQ(Resolve(Ufunc::kSqrt, {DType::kBool}), DType::kFloat16);
  EXPECT_EQ(Resolve(Ufunc::kSqrt, {DType::kComplex64}), DType::kComplex64);
  EXPECT_EQ(Resolve(Ufunc::kAbsolute, {DType::kComplex64}), DType::kFloat32);
  EXPECT_EQ(Resolve(Ufunc::kLess, {DType::kInt8, DType::kUInt8}), DType::kBool);
  EXPECT_EQ(ResolveSignature(Ufunc::kLess, {DType::kInt8, DType::kUInt8})->compute, DType::kInt16);
  EXPECT_EQ(Resolve(Ufunc::kSign, {DType::kBool}), DType::kInt8);
  EXPECT_EQ(Resolve(Ufunc::kWhere, {DType::kFloat64, DType::kInt8, DType::kFloat32}),
            DType::kFloat32);
  EXPECT_EQ(ResolveSignature(Ufunc::kFloor, {DType::kComplex64}).status().message(),
            "ufunc 'floor' not supported for the input types (dtype('complex64')), and the inputs "
            "could not be safely coerced to any supported types according to the casting rule "
            "''safe''");
  EXPECT_FALSE(ResolveSignature(Ufunc::kBitwiseAnd, {DType::kFloat32, DType::kInt8}).ok());
  EXPECT_EQ(ResolveSignature(Ufunc::kSubtract, {DType::kBool, DType::kBool}).status().message(),
            "numpy boolean subtract, the `-` operator, is not supported, use the bitwise_xor, the "
            "`^` operator, or the logical_xor function instead.");
  EXPECT_FALSE(ResolveSignature(Ufunc::kAdd, {DType::kInt8}).ok());
}

TEST(Graph, NodesAreDeduplicatedOnConstruction) {
  NDArray a = Iota({3, 4}, DType::kFloat32);
  NodePtr x = MakeArray(a);
  EXPECT_EQ(MakeArray(a), x);
  NodePtr two = MakeScalarLike(DType::kFloat32, 2.0);
  EXPECT_EQ(two->dtype(), DType::kFloat32);  // NEP 50: weak
  NodePtr p = *MakeUfunc(Ufunc::kMultiply, {x, two});
  NodePtr q = *MakeUfunc(Ufunc::kMultiply, {x, MakeScalarLike(DType::kFloat32, 2.0)});
  EXPECT_EQ(p, q);
  EXPECT_NE(p, *MakeUfunc(Ufunc::kMultiply, {x, MakeScalarLike(DType::kFloat32, 3.0)}));
  EXPECT_EQ(p->shape(), Dims({3, 4}));
  // Views of the same memory are the same leaf; different views differ.
  EXPECT_EQ(MakeArray(*a.Index({int64_t{0}})), MakeArray(*a.Index({int64_t{0}})));
  EXPECT_NE(MakeArray(*a.Index({int64_t{0}})), MakeArray(*a.Index({int64_t{1}})));
  EXPECT_EQ(*MakeCast(x, DType::kFloat32), x);
}

TEST(Graph, ShapesBroadcastAndErrorsNameAllShapes) {
  NodePtr a = MakeArray(Iota({3, 1}));
  NodePtr b = MakeArray(Iota({4}));
  EXPECT_EQ((*MakeUfunc(Ufunc::kAdd, {a, b}))->shape(), Dims({3, 4}));
  EXPECT_EQ(
      MakeUfunc(Ufunc::kAdd, {MakeArray(Iota({3, 4})), MakeArray(Iota({5}))}).status().message(),
      "operands could not be broadcast together with shapes (3,4) (5,)");
}

TEST(Graph, PrinterShowsStableNames) {
  NodePtr x = MakeArray(Iota({2, 3}, DType::kFloat32));
  NodePtr y = *MakeUfunc(Ufunc::kExp, {x});
  NodePtr z = *MakeUfunc(Ufunc::kMultiply, {y, MakeScalarLike(DType::kFloat32, 0.5)});
  NodePtr w = *MakeUfunc(Ufunc::kLess, {z, y});
  EXPECT_EQ(PrintGraph({w}),
            "%0 = array f32[2,3] strides (12,4)\n"
            "%1 = exp f32[2,3] %0\n"
            "%2 = scalar f32[] 0.5\n"
            "%3 = multiply f32[2,3] %1, %2\n"
            "%4 = less bool[2,3] %3, %1 in f32\n");
}

TEST(Graph, ViewsArePushedDownToTheLeaves) {
  NDArray a = Iota({3, 4}, DType::kFloat64);
  NDArray b = Iota({4}, DType::kFloat64);
  NodePtr sum = *MakeUfunc(Ufunc::kAdd, {MakeArray(a), MakeArray(b)});
  NodePtr t = *ApplyView(sum, [](const NDArray& v) {
    return v.Index({Slice{{}, {}, -1}, Slice{1, 3, {}}});
  });
  EXPECT_EQ(t->shape(), Dims({3, 2}));
  ASSERT_EQ(t->inputs().size(), 2u);
  EXPECT_EQ(t->inputs()[0]->kind(), NodeKind::kArray);
  EXPECT_EQ(t->inputs()[1]->array().strides(), Dims({0, 8}));  // b was broadcast, then sliced
  EXPECT_EQ(Values(*EvaluateReference(t)), (V{10, 12, 6, 8, 2, 4}));
  NodePtr tr = *ApplyView(sum, [](const NDArray& v) { return absl::StatusOr<NDArray>(v.T()); });
  EXPECT_EQ(Values(*EvaluateReference(tr)), (V{0, 4, 8, 2, 6, 10, 4, 8, 12, 6, 10, 14}));
}

TEST(Reference, IntegerSemanticsFollowNumPy) {
  auto eval = [](Ufunc op, std::vector<int64_t> x, std::vector<int64_t> y, DType t) {
    NDArray a = *(*NDArray::FromValues<int64_t>({static_cast<int64_t>(x.size())}, x)).AsType(t);
    NDArray b = *(*NDArray::FromValues<int64_t>({static_cast<int64_t>(y.size())}, y)).AsType(t);
    return Values(*EvaluateReference(*MakeUfunc(op, {MakeArray(a), MakeArray(b)})));
  };
  EXPECT_EQ(eval(Ufunc::kFloorDivide, {7, -7, 7, -7, 5}, {2, 2, -2, -2, 0}, DType::kInt32),
            (V{3, -4, -4, 3, 0}));
  EXPECT_EQ(eval(Ufunc::kRemainder, {7, -7, 7, -7, 5}, {2, 2, -2, -2, 0}, DType::kInt32),
            (V{1, 1, -1, -1, 0}));
  EXPECT_EQ(eval(Ufunc::kAdd, {127}, {1}, DType::kInt8), (V{-128}));
  EXPECT_EQ(eval(Ufunc::kFloorDivide, {-128}, {-1}, DType::kInt8), (V{-128}));
  EXPECT_EQ(eval(Ufunc::kLeftShift, {1, 1}, {3, 70}, DType::kInt64), (V{8, 0}));
  EXPECT_EQ(eval(Ufunc::kRightShift, {-16, -16}, {2, 99}, DType::kInt16), (V{-4, -1}));
  EXPECT_EQ(eval(Ufunc::kPower, {3, 2}, {4, 10}, DType::kUInt8), (V{81, 0}));
  NDArray i = Iota({2}, DType::kInt32);
  NDArray neg = *NDArray::Full({2}, DType::kInt32, -1);
  EXPECT_EQ(EvaluateReference(*MakeUfunc(Ufunc::kPower, {MakeArray(i), MakeArray(neg)}))
                .status()
                .message(),
            "Integers to negative integer powers are not allowed.");
}

TEST(Reference, FloatSemanticsFollowNumPy) {
  NDArray x = *NDArray::FromValues<double>({4}, std::vector<double>{-7.5, 7.5, NAN, 3.0});
  NDArray y = *NDArray::FromValues<double>({4}, std::vector<double>{2.0, -2.0, 1.0, 0.0});
  auto eval = [&](Ufunc op) {
    return Values(*EvaluateReference(*MakeUfunc(op, {MakeArray(x), MakeArray(y)})));
  };
  V fd = eval(Ufunc::kFloorDivide);
  EXPECT_EQ(fd[0], -4);
  EXPECT_EQ(fd[1], -4);
  EXPECT_TRUE(std::isnan(fd[2]));
  EXPECT_EQ(fd[3], INFINITY);
  V rem = eval(Ufunc::kRemainder);
  EXPECT_EQ(rem[0], 0.5);
  EXPECT_EQ(rem[1], -0.5);
  EXPECT_TRUE(std::isnan(rem[3]));
  V mx = eval(Ufunc::kMaximum);
  EXPECT_TRUE(std::isnan(mx[2]));         // NaN propagates
  EXPECT_EQ(eval(Ufunc::kFmax)[2], 1.0);  // fmax ignores it
  V lt = eval(Ufunc::kLess);
  EXPECT_EQ(lt, (V{1, 0, 0, 0}));
  // float16 computes in float32 and rounds back once.
  NDArray h = *NDArray::Full({1}, DType::kFloat16, 1.0);
  NodePtr third =
      *MakeUfunc(Ufunc::kTrueDivide, {MakeArray(h), MakeScalarLike(DType::kFloat16, 3.0)});
  EXPECT_EQ(third->dtype(), DType::kFloat16);
  EXPECT_EQ((*EvaluateReference(third)).Item<float16>({0})->bits, 0x3555);
}

}  // namespace
}  // namespace ndjit::ir

namespace ndjit::ir {
namespace {

TEST(Simplify, OnlyIdentitiesExactUnderIeee) {
  // Over a computed value (an array leaf keeps its ops: see below).
  NodePtr x = *MakeUfunc(Ufunc::kSin, {MakeArray(ndjit::testing::Iota({4}, DType::kFloat32))});
  auto s = [](DType t, double v) {
    ScalarValue sv;
    sv.c = v;
    sv.i = static_cast<int64_t>(v);
    return MakeScalar(t, sv);
  };
  EXPECT_EQ(*MakeUfunc(Ufunc::kMultiply, {x, s(DType::kFloat32, 1)}), x);
  EXPECT_EQ(*MakeUfunc(Ufunc::kMultiply, {s(DType::kFloat32, 1), x}), x);
  EXPECT_EQ(*MakeUfunc(Ufunc::kTrueDivide, {x, s(DType::kFloat32, 1)}), x);
  EXPECT_EQ(*MakeUfunc(Ufunc::kSubtract, {x, s(DType::kFloat32, 0)}), x);
  EXPECT_EQ(*MakeUfunc(Ufunc::kAdd, {x, s(DType::kFloat32, -0.0)}), x);
  EXPECT_EQ(*MakeUfunc(Ufunc::kNegative, {*MakeUfunc(Ufunc::kNegative, {x})}), x);
  // Not exact: -0 + 0 is +0; and x - (-0) turns -0 into +0.
  EXPECT_NE(*MakeUfunc(Ufunc::kAdd, {x, s(DType::kFloat32, 0.0)}), x);
  EXPECT_NE(*MakeUfunc(Ufunc::kSubtract, {x, s(DType::kFloat32, -0.0)}), x);
  // The result would change dtype or shape: kept as an op.
  EXPECT_NE(*MakeUfunc(Ufunc::kMultiply, {x, s(DType::kFloat64, 1)}), x);
  NodePtr wide = MakeArray(ndjit::testing::Iota({3, 4}, DType::kFloat32));
  EXPECT_EQ((*MakeUfunc(Ufunc::kMultiply,
                        {x, *MakeUfunc(Ufunc::kMultiply, {wide, s(DType::kFloat32, 0)})}))
                ->shape(),
            Dims({3, 4}));
  // Integers: x + 0 is exact.
  NodePtr leaf = MakeArray(ndjit::testing::Iota({4}, DType::kInt32));
  NodePtr i = *MakeUfunc(Ufunc::kNegative, {leaf});
  EXPECT_EQ(*MakeUfunc(Ufunc::kAdd, {i, s(DType::kInt32, 0)}), i);
  // An array leaf is memory: `leaf + 0` is a new value (a write into the
  // leaf's memory must not reach it), except np.real, NumPy's view.
  EXPECT_NE(*MakeUfunc(Ufunc::kAdd, {leaf, s(DType::kInt32, 0)}), leaf);
  EXPECT_NE(*MakeUfunc(Ufunc::kMultiply, {x->inputs()[0], s(DType::kFloat32, 1)}), x->inputs()[0]);
  EXPECT_EQ(*MakeUfunc(Ufunc::kReal, {leaf}), leaf);
}

}  // namespace
}  // namespace ndjit::ir

namespace ndjit::ir {
namespace {

TEST(Simplify, PowersWithNumPysFastPaths) {
  NodePtr x = *MakeUfunc(Ufunc::kExp, {MakeArray(ndjit::testing::Iota({4}, DType::kFloat64))});
  auto pw = [&](double e) {
    return *MakeUfunc(Ufunc::kPower, {x, MakeScalarLike(DType::kFloat64, e)});
  };
  EXPECT_EQ(pw(2)->op(), Ufunc::kSquare);
  EXPECT_EQ(pw(0.5)->op(), Ufunc::kSqrt);
  EXPECT_EQ(pw(-1)->op(), Ufunc::kReciprocal);
  EXPECT_EQ(pw(1), x);
  EXPECT_EQ(pw(3)->op(), Ufunc::kPower);
  // Integer arrays keep power (and its negative-exponent error).
  NodePtr i = MakeArray(ndjit::testing::Iota({4}, DType::kInt32));
  EXPECT_EQ((*MakeUfunc(Ufunc::kPower, {i, MakeScalarLike(DType::kInt32, int64_t{2})}))->op(),
            Ufunc::kPower);
}

}  // namespace
}  // namespace ndjit::ir

namespace ndjit::ir {
namespace {

TEST(VerifyKernel, PlansPassAndBrokenSpecsFail) {
  NodePtr a = MakeArray(ndjit::testing::Iota({3, 4}, DType::kFloat32));
  NodePtr b = MakeArray(ndjit::testing::Iota({4}, DType::kInt8));
  NodePtr r = *MakeUfunc(Ufunc::kLess, {*MakeUfunc(Ufunc::kAdd, {a, b}), a});
  const KernelSpec good = PlanElementwiseKernel({r}, 64)->spec;
  EXPECT_TRUE(VerifyKernel(good).ok());
  KernelSpec s = good;
  std::swap(s.body[0], s.body[1]);
  s.body[0].args = {1};
  EXPECT_FALSE(VerifyKernel(s).ok());  // an argument names a later value
  s = good;
  s.body.pop_back();
  EXPECT_EQ(VerifyKernel(s).message(), "loop IR: output 0 is stored 0 times");
  s = good;
  for (Instr& in : s.body) {
    if (in.kind == Instr::kUfunc && in.op == Ufunc::kAdd) in.dtype = DType::kFloat64;
  }
  EXPECT_FALSE(VerifyKernel(s).ok());  // result dtype not the op table's
  s = good;
  s.inner.pop_back();
  EXPECT_FALSE(VerifyKernel(s).ok());
}

}  // namespace
}  // namespace ndjit::ir

namespace ndjit::ir {
namespace {

TEST(Graph, SubstituteReplacesComputedSubexpressions) {
  NodePtr a = MakeArray(ndjit::testing::Iota({4}, DType::kFloat64));
  NodePtr c = MakeArray(ndjit::testing::Iota({3, 4}, DType::kFloat64));
  NodePtr sum = *MakeUfunc(Ufunc::kAdd, {a, a});
  NodePtr prod = *MakeUfunc(Ufunc::kMultiply, {sum, c});
  NodePtr value = MakeArray(*EvaluateReference(sum));
  NodePtr r = *Substitute(prod, {{sum.get(), value}});
  EXPECT_EQ(r->inputs()[0], value);
  EXPECT_EQ(r->inputs()[1], c);
  EXPECT_EQ(Values(*EvaluateReference(r)), Values(*EvaluateReference(prod)));
  EXPECT_EQ(*Substitute(prod, {}), prod);  // nothing to replace: the same node
}

}  // namespace
}  // namespace ndjit::ir

namespace ndjit::ir {
namespace {

TEST(Graph, StatsCountDeduplicationAndLiveNodes) {
  const GraphStats before = GetGraphStats();
  {
    NodePtr x = MakeArray(ndjit::testing::Iota({5}, DType::kFloat32));
    NodePtr a = *MakeUfunc(Ufunc::kSin, {x});
    NodePtr b = *MakeUfunc(Ufunc::kSin, {x});  // the same node again
    EXPECT_EQ(a, b);
    const GraphStats during = GetGraphStats();
    EXPECT_EQ(during.constructed - before.constructed, 3);
    EXPECT_EQ(during.deduplicated - before.deduplicated, 1);
    EXPECT_EQ(during.live_nodes - before.live_nodes, 2);
  }
  EXPECT_EQ(GetGraphStats().live_nodes, before.live_nodes);
}

// Integer products wrap modulo 2^bits for every width. uint16 and int16
// operands promote to int, where 65530 * 65530 overflowed (undefined
// behaviour, found by the graph fuzzer under UBSan).
TEST(ScalarOps, IntegerProductsWrapAtEveryWidth) {
  EXPECT_EQ(scalar::Apply<uint16_t>(Ufunc::kMultiply, 65530, 65530), 36);
  EXPECT_EQ(scalar::Apply<uint16_t>(Ufunc::kSquare, 65530), 36);
  EXPECT_EQ(scalar::Apply<int16_t>(Ufunc::kMultiply, -32768, -1), -32768);
  EXPECT_EQ(scalar::Apply<int16_t>(Ufunc::kSquare, 300), static_cast<int16_t>(90000 - 65536));
  EXPECT_EQ(scalar::IntPower<uint16_t>(65530, 3), 65320);  // (-6)^3 mod 2^16
  EXPECT_EQ(scalar::IntPower<int8_t>(-128, 3), 0);
  EXPECT_EQ(WrappingMultiply<int64_t>(std::numeric_limits<int64_t>::min(), -1),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(WrappingMultiply<uint64_t>(~uint64_t{0}, ~uint64_t{0}), 1u);
}

}  // namespace
}  // namespace ndjit::ir
