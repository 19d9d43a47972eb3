// A program that uses ndjit as an installed package: built out of tree by
// tests/consumer/run.sh, once through find_package(ndjit) and once through
// pkg-config. It prints values the caller compares with expected.txt.
#include <cstdio>
#include <cstring>

#include <ndjit/ndjit.h>

int main() {
  if (std::strcmp(ndjit::LibraryVersion(), NDJIT_VERSION_STRING) != 0) {
    std::printf("headers %s, library %s\n", NDJIT_VERSION_STRING, ndjit::LibraryVersion());
    return 1;
  }
  // A fused elementwise kernel and a reduction, compiled by the installed JIT.
  ndjit::Array<> x = ndjit::arange(10, ndjit::DType::kFloat64);
  const double sum_sq = ndjit::sum(x * x + 1.0).item<double>();
  // A contraction through the GEMM, with an epilogue.
  ndjit::Array<> a = ndjit::arange(64, ndjit::DType::kFloat32).reshape({8, 8});
  const float relu =
      ndjit::sum(ndjit::maximum(ndjit::matmul(a, a.T()) - 3000.0f, 0.0f)).item<float>();
  // Out through the Arrow C Data Interface and back in: the same memory.
  ArrowSchema schema;
  ArrowArray array;
  const ndjit::NDArray xs = x.array();
  ndjit::ThrowIfError(ndjit::ExportArrow(xs, &schema, &array));
  const ndjit::NDArray back = ndjit::ValueOrThrow(ndjit::ImportArrow(&schema, &array));
  const double arrow_sum = ndjit::sum(ndjit::Array<>(back)).item<double>();
  std::printf("sum %.1f\n", sum_sq);
  std::printf("arrow %.1f %s\n", arrow_sum, back.data() == xs.data() ? "shared" : "copied");
  std::printf("relu %.1f\n", relu);
  std::printf("shape %s\n", ndjit::ShapeString(a.shape()).c_str());
  return 0;
}
