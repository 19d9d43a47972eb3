// Random expression graphs chosen by the fuzzer's bytes (the property test's
// generator, tests/random_graph.h): ufuncs of the op table over broadcast
// leaves of every real dtype in strided, reversed and Fortran layouts, with
// reductions and casts inside. The JIT (fused) and the eager evaluator must
// agree with the reference evaluator: on the error and its text, on dtype
// and shape, and for trees of ops flagged kExact on every bit. Trees with
// transcendental ops are checked for all but their values, whose bound the
// property test owns.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "../tests/random_graph.h"
#include "fuzz_util.h"
#include "ndjit/codegen/jit.h"
#include "ndjit/ir/reference.h"
#include "ndjit/ndjit.h"

namespace {

class FuzzedChoices {
 public:
  explicit FuzzedChoices(FuzzedDataProvider* in) : in_(in) {}
  int Pick(int n) { return in_->ConsumeIntegralInRange<int>(0, n - 1); }
  double Uniform(double lo, double hi) { return in_->ConsumeFloatingPointInRange(lo, hi); }

 private:
  FuzzedDataProvider* in_;
};

[[noreturn]] void Fail(const ndjit::Array<>& expr, const char* backend, const std::string& what) {
  std::fprintf(stderr, "%s vs reference: %s\n%s", backend, what.c_str(),
               ndjit::ir::PrintGraph({expr.node()}).c_str());
  std::abort();
}

}  // namespace

// A small kernel cache evicts all the time, so kernels run after the
// eviction of others compiled before them (how the fuzzer found kernels
// calling code of evicted modules).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ndjit::codegen::SetKernelCacheCapacity(8);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const bool exact = in.ConsumeBool();
  FuzzedChoices choices(&in);
  ndjit::testing::GraphGenerator gen(&choices, exact);
  ndjit::Array<> expr = gen.Tree(exact ? 6 : 3);
  if (gen.Pick(4) == 0) expr = gen.Reduce(expr, false);
  const absl::StatusOr<ndjit::NDArray> want = ndjit::ir::EvaluateReference(expr.node());
  for (ndjit::Backend backend : {ndjit::Backend::kJit, ndjit::Backend::kEager}) {
    const char* name = backend == ndjit::Backend::kJit ? "JIT" : "eager";
    const absl::StatusOr<ndjit::NDArray> got =
        ndjit::testing::Caught([&] { return ndjit::Array<>(expr.node()).eval(backend).array(); });
    if (!want.ok()) {
      if (got.ok()) Fail(expr, name, "accepted; the reference says " + want.status().ToString());
      if (got.status().message() != want.status().message()) {
        Fail(expr, name, got.status().ToString() + " vs " + want.status().ToString());
      }
      continue;
    }
    if (!got.ok()) Fail(expr, name, got.status().ToString());
    const std::string difference =
        exact ? ndjit::testing::FirstDifference(*got, *want, 0)
              : (got->dtype() != want->dtype() || got->shape() != want->shape() ? "dtype or shape"
                                                                                : "");
    if (!difference.empty()) Fail(expr, name, difference);
  }
  return 0;
}
