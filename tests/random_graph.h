// Random expression trees over the op table, shared by the property test
// (tests/random_expr_test.cc, driven by std::mt19937) and the graph fuzzer
// (fuzz/graph_fuzzer.cc, driven by the fuzzer's bytes). `Choices` answers
// Pick(n) in [0, n) and Uniform(lo, hi); a tree built from ops flagged kExact
// has one right answer, bit for bit.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ndjit/ndjit.h"

namespace ndjit::testing {

inline constexpr DType kGraphLeafTypes[] = {DType::kBool,    DType::kInt8,    DType::kInt32,
                                            DType::kInt64,   DType::kUInt8,   DType::kUInt16,
                                            DType::kFloat16, DType::kFloat32, DType::kFloat64};

// The property test's source of choices.
class SeededChoices {
 public:
  explicit SeededChoices(uint32_t seed) : rng_(seed) {}
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  double Uniform(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng_);
  }

 private:
  std::mt19937 rng_;
};

template <typename Choices>
class GraphGenerator {
 public:
  GraphGenerator(Choices* choices, bool exact_only) : c_(choices), exact_only_(exact_only) {
    for (int i = 0; i < ir::kNumUfuncs; ++i) {
      const auto op = static_cast<ir::Ufunc>(i);
      if (!exact_only || (ir::Info(op).flags & ir::kExact)) ops_.push_back(op);
    }
  }

  int Pick(int n) { return c_->Pick(n); }

  // A leaf of a shape broadcastable to (4, 3, 5), in a random layout.
  Array<> Leaf() {
    const DType t = kGraphLeafTypes[Pick(std::size(kGraphLeafTypes))];
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
    for (int64_t i = 0; i < 2 * n; ++i) {
      const double u = c_->Uniform(-6, 6);
      double x = IsFloating(t) ? std::round(u * 8) / 8 : std::round(u);
      if (IsFloating(t) && Pick(30) == 0) x = Pick(2) ? NAN : INFINITY;
      (void)a.SetItem<double>({i}, x);
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
          return Array<>(*ir::MakeCast(*n, kGraphLeafTypes[Pick(std::size(kGraphLeafTypes))]));
        }
        return Array<>(*n);
      }
    }
    return Leaf();
  }

 private:
  Choices* c_;
  bool exact_only_;
  std::vector<ir::Ufunc> ops_;
};

// `f()`'s array, or the public API's Error as the Status it carries.
template <typename F>
absl::StatusOr<NDArray> Caught(F f) {
  try {
    return f();
  } catch (const Error& e) {
    return absl::Status(e.code(), e.what());
  }
}

// Where `got` and `want` first differ, or "" when they agree: dtype, shape,
// then every element (NaNs as a class); `tol` 0 asks for the same bits
// (signed zeros included), else |got - want| <= tol * max(1, |want|).
inline std::string FirstDifference(const NDArray& got, const NDArray& want, double tol) {
  std::ostringstream out;
  if (got.dtype() != want.dtype()) {
    out << "dtype " << Name(got.dtype()) << " vs " << Name(want.dtype());
    return out.str();
  }
  if (got.shape() != want.shape()) return "shapes differ";
  absl::StatusOr<NDArray> g = got.AsType(DType::kComplex128, Casting::kUnsafe, Order::kC);
  absl::StatusOr<NDArray> w = want.AsType(DType::kComplex128, Casting::kUnsafe, Order::kC);
  if (!g.ok() || !w.ok()) return "cannot read the values as complex128";
  const auto* gv = reinterpret_cast<const std::complex<double>*>(g->data());
  const auto* wv = reinterpret_cast<const std::complex<double>*>(w->data());
  auto agree = [tol](double a, double b) {
    if (std::isnan(a) && std::isnan(b)) return true;
    if (tol == 0) return a == b && std::signbit(a) == std::signbit(b);
    return a == b || std::fabs(a - b) <= tol * std::max(1.0, std::fabs(b));
  };
  for (int64_t i = 0; i < got.size(); ++i) {
    if (!agree(gv[i].real(), wv[i].real()) || !agree(gv[i].imag(), wv[i].imag())) {
      out << "element " << i << ": " << gv[i] << " vs " << wv[i];
      return out.str();
    }
  }
  return "";
}

}  // namespace ndjit::testing
