// einsum from arbitrary subscripts and operand shapes: whatever NumPy's
// grammar rejects must be an error naming einsum, and whatever it accepts
// must give one answer however it is computed: the JIT with each
// contraction order (optimal, greedy, as written) against the reference
// evaluator, bit for bit. The operands hold small integers in every dtype,
// so every sum is exact in any order and a difference is a bug, not
// rounding.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "../tests/random_graph.h"
#include "fuzz_util.h"
#include "ndjit/ir/reference.h"
#include "ndjit/ndjit.h"
#include "ndjit/runtime/pool.h"

namespace {

// Letters a few operands share, the separators and the ellipsis; rarely
// anything else.
constexpr char kAlphabet[] = "abcdijAB,,-->....  ";
constexpr int64_t kExtents[] = {0, 1, 2, 3, 4, 9};
constexpr ndjit::DType kTypes[] = {
    ndjit::DType::kBool,    ndjit::DType::kInt32,   ndjit::DType::kInt64,     ndjit::DType::kUInt8,
    ndjit::DType::kFloat32, ndjit::DType::kFloat64, ndjit::DType::kComplex128};
// The iteration space of a fused einsum is at most the product of its
// operands' sizes; past this bound an input is legal but only slow.
constexpr double kMaxWork = 1 << 20;

ndjit::NDArray Operand(FuzzedDataProvider& in) {
  ndjit::Shape shape(in.ConsumeIntegralInRange<int>(0, 4));
  for (int64_t& d : shape) d = in.PickValueInArray(kExtents);
  const ndjit::DType t = in.PickValueInArray(kTypes);
  const int64_t n = *ndjit::CheckedSize(shape);
  ndjit::NDArray a = *ndjit::NDArray::Empty({n}, ndjit::DType::kInt64);
  for (int64_t i = 0; i < n; ++i) (void)a.SetItem<int64_t>({i}, (i * 7 + 3) % 5 - 2);
  a = *(*a.AsType(t)).Reshape(shape);
  if (in.ConsumeBool() && a.ndim() >= 2) a = *(*a.Copy(ndjit::Order::kF)).Reshape(shape);
  return a;
}

absl::StatusOr<ndjit::NDArray> Run(const std::string& subscripts,
                                   const std::vector<ndjit::Array<>>& ops,
                                   ndjit::PathStrategy order, bool reference) {
  return ndjit::testing::Caught([&]() -> absl::StatusOr<ndjit::NDArray> {
    ndjit::Array<> r = ndjit::einsum(subscripts, ops, order);
    if (reference) return ndjit::ir::EvaluateReference(r.node());
    return r.eval().array();
  });
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ndjit::SetPoolMemoryLimit(int64_t{256} << 20);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  std::vector<ndjit::Array<>> ops(in.ConsumeIntegralInRange<int>(1, 4));
  double work = 1;
  for (ndjit::Array<>& op : ops) {
    op = ndjit::Array<>(Operand(in));
    work *= static_cast<double>(std::max<int64_t>(op.size(), 1));
  }
  if (work > kMaxWork) return 0;
  std::string subscripts;
  const bool any_bytes = in.ConsumeIntegralInRange<int>(0, 15) == 0;
  while (in.remaining_bytes() > 0 && subscripts.size() < 48) {
    const uint8_t b = in.ConsumeIntegral<uint8_t>();
    subscripts += any_bytes ? static_cast<char>(b) : kAlphabet[b % (sizeof(kAlphabet) - 1)];
  }
  ndjit::fuzz::Deadline deadline(2.0);
  const absl::StatusOr<ndjit::NDArray> want =
      Run(subscripts, ops, ndjit::PathStrategy::kNone, /*reference=*/true);
  if (!want.ok()) {
    if (want.status().code() == absl::StatusCode::kCancelled) return 0;  // the deadline
    if (want.status().message().find("einsum") == std::string::npos) {
      std::fprintf(stderr, "einsum(%s): an error that does not name einsum: %s\n",
                   subscripts.c_str(), std::string(want.status().message()).c_str());
      std::abort();
    }
  }
  for (ndjit::PathStrategy order :
       {ndjit::PathStrategy::kOptimal, ndjit::PathStrategy::kGreedy, ndjit::PathStrategy::kNone}) {
    const absl::StatusOr<ndjit::NDArray> got = Run(subscripts, ops, order, /*reference=*/false);
    if (!got.ok() && got.status().code() == absl::StatusCode::kCancelled) return 0;
    std::string difference;
    if (want.ok() != got.ok()) {
      difference = want.ok() ? std::string(got.status().message()) : "the JIT accepts it";
    } else if (want.ok()) {
      difference = ndjit::testing::FirstDifference(*got, *want, 0);
    }
    if (!difference.empty()) {
      std::fprintf(stderr, "einsum(%s), order %d: JIT vs reference: %s\n", subscripts.c_str(),
                   static_cast<int>(order), difference.c_str());
      std::abort();
    }
  }
  return 0;
}
