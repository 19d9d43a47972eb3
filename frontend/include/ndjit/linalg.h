// Contractions: einsum with NumPy's whole grammar, and matmul, tensordot,
// dot, inner, outer, vdot, trace, diagonal and multi_dot on top of it.
//
// Like everything in the DSL they build graph nodes. An einsum step that is
// only elementwise work and sums (a diagonal, a trace, a matrix-vector
// product) joins the fused kernels; a step with real matrix structure (all
// of M, N, K >= 8 in float32/float64) becomes a contraction node that the JIT
// GEMM computes (see ndjit/codegen/gemm.h), and elementwise work on its
// result runs on each block of it while the block is in cache.
//
//   auto c = ndjit::einsum("bij,bjk->bik", {a, b});
//   auto y = ndjit::maximum(ndjit::matmul(x, w) + bias, 0.0f);  // C written once
#pragma once

#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ndjit/array.h"
#include "ndjit/einsum_path.h"

namespace ndjit {

// `subscripts`: "ij,jk->ik", implicit output ("ij,jk"), "..." broadcasting,
// repeated labels within an operand (diagonals: "ii->i", traces: "ii"). The
// result has NumPy's result_type of the operands. With three or more
// operands the order of pairwise contractions is chosen by `optimize`.
Array<> einsum(absl::string_view subscripts, absl::Span<const Array<>> operands,
               PathStrategy optimize = PathStrategy::kAuto);
inline Array<> einsum(absl::string_view subscripts, std::initializer_list<Array<>> operands,
                      PathStrategy optimize = PathStrategy::kAuto) {
  return einsum(subscripts, absl::Span<const Array<>>(operands.begin(), operands.size()), optimize);
}
// The contraction order einsum would use, printable (ToString()).
EinsumPath einsum_path(absl::string_view subscripts, absl::Span<const Array<>> operands,
                       PathStrategy optimize = PathStrategy::kAuto);

// NumPy's matmul (the @ operator): batch dims broadcast; a 1-D first operand
// is a row, a 1-D second a column, and those dims are dropped again.
Array<> matmul(const Array<>& a, const Array<>& b);
// Sums the products over the last `axes` dims of a and the first of b.
Array<> tensordot(const Array<>& a, const Array<>& b, int64_t axes = 2);
Array<> tensordot(const Array<>& a, const Array<>& b, Dims axes_a, Dims axes_b);
Array<> dot(const Array<>& a, const Array<>& b);
Array<> inner(const Array<>& a, const Array<>& b);
Array<> outer(const Array<>& a, const Array<>& b);
// sum(conj(a.ravel()) * b.ravel()).
Array<> vdot(const Array<>& a, const Array<>& b);
Array<> diagonal(const Array<>& a, int64_t offset = 0, int64_t axis1 = 0, int64_t axis2 = 1);
Array<> trace(const Array<>& a, int64_t offset = 0, int64_t axis1 = 0, int64_t axis2 = 1);
// A chain of matrix products in the order with the fewest multiplications;
// the first array may be 1-D (a row) and the last 1-D (a column).
Array<> multi_dot(absl::Span<const Array<>> arrays);
inline Array<> multi_dot(std::initializer_list<Array<>> arrays) {
  return multi_dot(absl::Span<const Array<>>(arrays.begin(), arrays.size()));
}

}  // namespace ndjit
