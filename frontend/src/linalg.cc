// matmul, tensordot, dot, inner, outer, vdot, diagonal, trace, multi_dot:
// each states its operands' labels and hands them to the einsum machinery,
// so all of them share its lowering (GEMM or fused) and its errors.
#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "einsum.h"
#include "ndjit/linalg.h"

namespace ndjit {
namespace {

using internal::LabelledOperands;

[[noreturn]] void Fail(const std::string& text) { throw Error(absl::InvalidArgumentError(text)); }

Labels Range(int from, int count) {
  Labels ls;
  for (int i = 0; i < count; ++i) ls.push_back(from + i);
  return ls;
}

Array<> Contract(const Array<>& a, Labels la, const Array<>& b, Labels lb, Labels out,
                 const std::string& op) {
  LabelledOperands in;
  in.operands = {a, b};
  in.labels = {std::move(la), std::move(lb)};
  in.output = std::move(out);
  return internal::ContractLabelled(std::move(in), PathStrategy::kAuto, op);
}

std::string ShapeText(Dims s) {
  return absl::StrCat("(", absl::StrJoin(s, ","), s.size() == 1 ? ",)" : ")");
}

}  // namespace

Array<> diagonal(const Array<>& a, int64_t offset, int64_t axis1, int64_t axis2) {
  return a.diagonal(offset, axis1, axis2);
}

Array<> trace(const Array<>& a, int64_t offset, int64_t axis1, int64_t axis2) {
  return sum(a.diagonal(offset, axis1, axis2), Axis(int64_t{-1}));
}

Array<> matmul(const Array<>& a, const Array<>& b) {
  constexpr const char* kSig = "(n?,k),(k,m?)->(n?,m?)";
  for (int w : {0, 1}) {
    const int nd = (w == 0 ? a : b).ndim();
    if (nd == 0) {
      Fail(absl::StrCat("matmul: Input operand ", w,
                        " does not have enough dimensions (has 0, "
                        "gufunc core with signature ",
                        kSig, " requires 1)"));
    }
  }
  const int na = a.ndim(), nb = b.ndim();
  const int64_t ka = a.shape()[na - 1];
  const int64_t kb = nb == 1 ? b.shape()[0] : b.shape()[nb - 2];
  if (ka != kb) {
    Fail(
        absl::StrCat("matmul: Input operand 1 has a mismatch in its core dimension 0, with "
                     "gufunc signature ",
                     kSig, " (size ", kb, " is different from ", ka, ")"));
  }
  // Labels: batch dims right-aligned from 100, then m = 0, k = 1, n = 2.
  const int batch_a = std::max(0, na - 2), batch_b = std::max(0, nb - 2);
  const int batch = std::max(batch_a, batch_b);
  for (int d = 1; d <= std::min(batch_a, batch_b); ++d) {
    const int64_t ea = a.shape()[batch_a - d], eb = b.shape()[batch_b - d];
    if (ea != eb && ea != 1 && eb != 1) {
      Fail(absl::StrCat("matmul: batch dimensions of shapes ", ShapeText(a.shape()), " and ",
                        ShapeText(b.shape()), " cannot be broadcast together"));
    }
  }
  Labels la = Range(100 + batch - batch_a, batch_a), lb = Range(100 + batch - batch_b, batch_b);
  Labels out = Range(100, batch);
  if (na >= 2) {
    la.push_back(0);
    out.push_back(0);
  }
  la.push_back(1);
  lb.push_back(1);
  if (nb >= 2) {
    lb.push_back(2);
    out.push_back(2);
  }
  return Contract(a, la, b, lb, out, "matmul");
}

Array<> tensordot(const Array<>& a, const Array<>& b, Dims axes_a, Dims axes_b) {
  if (axes_a.size() != axes_b.size()) Fail("tensordot: shape-mismatch for sum");
  Labels la = Range(0, a.ndim()), lb = Range(a.ndim(), b.ndim());
  for (size_t i = 0; i < axes_a.size(); ++i) {
    int64_t x = axes_a[i], y = axes_b[i];
    if (x < -a.ndim() || x >= a.ndim() || y < -b.ndim() || y >= b.ndim()) {
      Fail(absl::StrCat("tensordot: axis ", x < -a.ndim() || x >= a.ndim() ? x : y,
                        " is out of bounds for array of dimension ",
                        x < -a.ndim() || x >= a.ndim() ? a.ndim() : b.ndim()));
    }
    if (x < 0) x += a.ndim();
    if (y < 0) y += b.ndim();
    if (a.shape()[x] != b.shape()[y]) {
      Fail(absl::StrCat("tensordot: shape-mismatch for sum (axis ", x, " of a has ", a.shape()[x],
                        ", axis ", y, " of b has ", b.shape()[y], ")"));
    }
    if (lb[y] < a.ndim()) Fail(absl::StrCat("tensordot: repeated axis ", y, " of b"));
    for (size_t j = 0; j < i; ++j) {
      if ((axes_a[j] < 0 ? axes_a[j] + a.ndim() : axes_a[j]) == x) {
        Fail(absl::StrCat("tensordot: repeated axis ", x, " of a"));
      }
    }
    lb[y] = la[x];
  }
  Labels out;
  for (int l : la) {
    if (std::find(lb.begin(), lb.end(), l) == lb.end()) out.push_back(l);
  }
  for (int l : lb) {
    if (std::find(la.begin(), la.end(), l) == la.end()) out.push_back(l);
  }
  return Contract(a, la, b, lb, out, "tensordot");
}

Array<> tensordot(const Array<>& a, const Array<>& b, int64_t axes) {
  if (axes < 0 || axes > a.ndim() || axes > b.ndim()) {
    Fail(absl::StrCat("tensordot: axes ", axes, " out of range for arrays of dimensions ", a.ndim(),
                      " and ", b.ndim()));
  }
  Shape xa, xb;
  for (int64_t i = 0; i < axes; ++i) {
    xa.push_back(a.ndim() - axes + i);
    xb.push_back(i);
  }
  return tensordot(a, b, xa, xb);
}

Array<> dot(const Array<>& a, const Array<>& b) {
  if (a.ndim() == 0 || b.ndim() == 0) return multiply(a, b);
  const int64_t ka = a.shape()[a.ndim() - 1];
  const int axis_b = b.ndim() == 1 ? 0 : b.ndim() - 2;
  if (ka != b.shape()[axis_b]) {
    Fail(absl::StrCat("shapes ", ShapeText(a.shape()), " and ", ShapeText(b.shape()),
                      " not aligned: ", ka, " (dim ", a.ndim() - 1, ") != ", b.shape()[axis_b],
                      " (dim ", axis_b, ")"));
  }
  return tensordot(a, b, {int64_t{-1}}, {int64_t{axis_b}});
}

Array<> inner(const Array<>& a, const Array<>& b) {
  if (a.ndim() == 0 || b.ndim() == 0) return multiply(a, b);
  if (a.shape()[a.ndim() - 1] != b.shape()[b.ndim() - 1]) {
    Fail(absl::StrCat("inner: shapes ", ShapeText(a.shape()), " and ", ShapeText(b.shape()),
                      " not aligned: ", a.shape()[a.ndim() - 1], " (dim ", a.ndim() - 1,
                      ") != ", b.shape()[b.ndim() - 1], " (dim ", b.ndim() - 1, ")"));
  }
  return tensordot(a, b, {int64_t{-1}}, {int64_t{-1}});
}

Array<> outer(const Array<>& a, const Array<>& b) {
  const Array<> x = a.reshape({a.size()}), y = b.reshape({b.size()});
  return multiply(x.expand_dims({1}), y.expand_dims({0}));
}

Array<> vdot(const Array<>& a, const Array<>& b) {
  if (a.size() != b.size()) {
    Fail(absl::StrCat("vdot: cannot take the dot product of arrays of ", a.size(), " and ",
                      b.size(), " elements"));
  }
  const Array<> x = a.reshape({a.size()}), y = b.reshape({b.size()});
  const Array<> cx = IsComplex(x.dtype()) ? conjugate(x) : x;
  return Contract(cx, {0}, y, {0}, {}, "vdot");
}

Array<> multi_dot(absl::Span<const Array<>> arrays) {
  const size_t n = arrays.size();
  if (n < 2) Fail("multi_dot: Expecting at least two arrays.");
  std::vector<Array<>> mats(arrays.begin(), arrays.end());
  const bool row = mats[0].ndim() == 1, col = mats[n - 1].ndim() == 1;
  if (row) mats[0] = mats[0].expand_dims({0});
  if (col) mats[n - 1] = mats[n - 1].expand_dims({1});
  for (size_t i = 0; i < n; ++i) {
    if (mats[i].ndim() != 2) {
      Fail(absl::StrCat("multi_dot: array ", i, " has ", arrays[i].ndim(),
                        " dimensions; it must be two-dimensional",
                        i == 0 || i + 1 == n ? " (or one-dimensional)" : ""));
    }
    if (i > 0 && mats[i - 1].shape()[1] != mats[i].shape()[0]) {
      Fail(absl::StrCat("multi_dot: shapes ", ShapeText(mats[i - 1].shape()), " (array ", i - 1,
                        ") and ", ShapeText(mats[i].shape()), " (array ", i, ") not aligned"));
    }
  }
  std::vector<int64_t> dims = {mats[0].shape()[0]};
  for (const Array<>& m : mats) dims.push_back(m.shape()[1]);
  const ChainOrder order = MatrixChainOrder(dims);
  std::function<Array<>(int, int)> product = [&](int i, int j) -> Array<> {
    if (i == j) return mats[i];
    const int k = order.split[i][j];
    return matmul(product(i, k), product(k + 1, j));
  };
  Array<> r = product(0, static_cast<int>(n) - 1);
  if (row && col) return r.reshape({});
  if (row) return r.squeeze(Dims{0});
  if (col) return r.squeeze(Dims{1});
  return r;
}

}  // namespace ndjit
