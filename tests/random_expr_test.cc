// Property test: random expression trees (depth <= 6) over randomly
// broadcast shapes, dtypes and memory layouts, evaluated by the JIT (fused),
// the eager evaluator and the reference evaluator. Trees built from ops
// flagged kExact must agree bit for bit (NaNs as a class); trees with
// transcendental ops are kept shallow and compared within a tolerance.
// Reductions appear inside trees (keepdims) and at their roots.
#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "ndjit/ir/reference.h"
#include "ndjit/ndjit.h"
#include "test_util.h"

namespace ndjit {
namespace {

constexpr DType kLeafTypes[] = {DType::kBool,    DType::kInt8,    DType::kInt32,
                                DType::kInt64,   DType::kUInt8,   DType::kUInt16,
                                DType::kFloat16, DType::kFloat32, DType::kFloat64};

class Generator {
 public:
  Generator(uint32_t seed, bool exact_only) : rng_(seed), exact_only_(exact_only) {
    for (int i = 0; i < ir::kNumUfuncs; ++i) {
      const auto op = static_cast<ir::Ufunc>(i);
      if (!exact_only || (ir::Info(op).flags & ir::kExact)) ops_.push_back(op);
    }
  }

  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  // A leaf of a shape broadcastable to (4, 3, 5), in a random layout.
  Array<> Leaf() {
    const DType t = kLeafTypes[Pick(std::size(kLeafTypes))];
    if (Pick(6) == 0) {  // a Python scalar, weak
      const int64_t lo = Kind(t) == DTypeKind::kUInt ? 0 : -3;
      return Pick(2) ? Weak(Array<>(*NDArray::Zeros({}, t)), lo + Pick(7))
                     : Weak(Array<>(*NDArray::Zeros({}, t)), (Pick(40) - 20) / 4.0);
    }
    Shape full = {4, 3, 5};
    Shape shape;
    for (size_t d = Pick(4); d < full.size(); ++d) shape.push_back(Pick(3) == 0 ? 1 : full[d]);
    const int64_t n = *CheckedSize(shape);
    NDArray a = *NDArray::Empty({2 * n}, t);
    std::uniform_real_distribution<double> v(-6, 6);
    for (int64_t i = 0; i < 2 * n; ++i) {
      double x = IsFloating(t) ? std::round(v(rng_) * 8) / 8 : std::round(v(rng_));
      if (IsFloating(t) && Pick(30) == 0) x = Pick(2) ? NAN : INFINITY;
      EXPECT_TRUE(a.SetItem<double>({i}, x).ok());
    }
    // Every other element, maybe reversed, maybe transposed: strided layouts.
    const bool reversed = Pick(2) == 0;
    NDArray strided = *a.Index({Slice{{}, {}, reversed ? -2 : 2}});
    NDArray shaped = *strided.Reshape(shape);
    if (Pick(3) == 0 && shaped.ndim() >= 2) {
      shaped = *(*shaped.Copy(Order::kF)).Reshape(shape);
    }
    return Array<>(shaped);
  }

  // A reduction of `x` over a random non-empty set of its axes. Inside a
  // tree the reduced dims are kept, so the result still broadcasts. Exact
  // trees only sum integers: float sums round differently from the
  // reference's long double.
  Array<> Reduce(const Array<>& x, bool keepdims) {
    if (x.ndim() == 0) return x;
    std::vector<int64_t> axes;
    for (int d = 0; d < x.ndim(); ++d) {
      if (Pick(2) == 0) axes.push_back(Pick(2) ? d : d - x.ndim());
    }
    if (axes.empty()) axes.push_back(Pick(x.ndim()));
    const Axis axis(axes);
    const bool integral = !IsFloating(x.dtype()) && !IsComplex(x.dtype());
    switch (Pick(exact_only_ && !integral ? 4 : 6)) {
      case 0:
        return max(x, axis, keepdims);
      case 1:
        return min(x, axis, keepdims);
      case 2:
        return any(x, axis, keepdims);
      case 3:
        return all(x, axis, keepdims);
      case 4:
        return sum(x, axis, keepdims);
      default:
        return prod(x, axis, keepdims);
    }
  }

  Array<> Tree(int depth) {
    if (depth == 0 || Pick(4) == 0) return Leaf();
    for (int attempt = 0; attempt < 20; ++attempt) {
      const ir::Ufunc op = ops_[Pick(static_cast<int>(ops_.size()))];
      const int arity = ir::Info(op).arity;
      std::vector<ir::NodePtr> ins;
      for (int k = 0; k < arity; ++k) ins.push_back(Tree(depth - 1).node());
      absl::StatusOr<ir::NodePtr> n = ir::MakeUfunc(op, ins);
      if (n.ok()) {
        if (Pick(5) == 0) return Reduce(Array<>(*n), true);
        if (Pick(8) == 0) {
          return Array<>(*ir::MakeCast(*n, kLeafTypes[Pick(std::size(kLeafTypes))]));
        }
        return Array<>(*n);
      }
    }
    return Leaf();
  }

 private:
  std::mt19937 rng_;
  bool exact_only_;
  std::vector<ir::Ufunc> ops_;
};

void Compare(const NDArray& got, const NDArray& want, double tol, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const std::vector<double> g = testing::Values(got), w = testing::Values(want);
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(g[i]) && std::isnan(w[i])) continue;
    if (tol == 0) {
      ASSERT_TRUE(g[i] == w[i] && std::signbit(g[i]) == std::signbit(w[i]))
          << what << " at " << i << ": " << g[i] << " vs " << w[i];
    } else {
      ASSERT_TRUE(g[i] == w[i] || std::fabs(g[i] - w[i]) <= tol * std::max(1.0, std::fabs(w[i])))
          << what << " at " << i << ": " << g[i] << " vs " << w[i];
    }
  }
}

void RunSeed(uint32_t seed, bool exact, int depth) {
  Generator gen(seed, exact);
  Array<> expr = gen.Tree(depth);
  if (gen.Pick(4) == 0) expr = gen.Reduce(expr, false);
  const std::string what = "seed " + std::to_string(seed) + "\n" + ir::PrintGraph({expr.node()});
  absl::StatusOr<NDArray> want = ir::EvaluateReference(expr.node());
  auto run = [&](Backend b) -> absl::StatusOr<NDArray> {
    try {
      return Array<>(expr.node()).eval(b).array();
    } catch (const Error& e) {
      return absl::InvalidArgumentError(e.what());
    }
  };
  for (Backend b : {Backend::kJit, Backend::kEager}) {
    absl::StatusOr<NDArray> got = run(b);
    if (!want.ok()) {
      ASSERT_FALSE(got.ok()) << what;
      EXPECT_EQ(got.status().message(), want.status().message()) << what;
      continue;
    }
    ASSERT_TRUE(got.ok()) << what << got.status();
    Compare(*got, *want, exact ? 0 : 2e-3, what);
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
