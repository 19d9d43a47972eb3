#include "ndjit/codegen/target.h"

#include <algorithm>

#include "llvm/ADT/StringMap.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/TargetParser/Host.h"

namespace ndjit::codegen {
namespace {

HostTarget Detect() {
  HostTarget t;
  t.triple = llvm::sys::getProcessTriple();
  t.cpu = llvm::sys::getHostCPUName().str();
  t.llvm_version = LLVM_VERSION_STRING;
  for (const auto& f : llvm::sys::getHostCPUFeatures()) {
    if (f.getValue()) t.features.push_back(f.getKey().str());
  }
  std::sort(t.features.begin(), t.features.end());
  // 512-bit vectors need AVX-512F; AVX-512 parts are also where LLVM's
  // "prefer 256-bit" tuning may apply, which the kernel compiler decides.
  if (t.Has("avx512f")) {
    t.vector_bits = 512;
  } else if (t.Has("avx2") || t.Has("avx")) {
    t.vector_bits = 256;
  }
  return t;
}

}  // namespace

bool HostTarget::Has(const std::string& feature) const {
  return std::binary_search(features.begin(), features.end(), feature);
}

std::string HostTarget::Describe() const {
  std::string s = triple + ", cpu " + cpu + ", " + std::to_string(vector_bits) + "-bit vectors";
  for (const char* f : {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl"}) {
    if (Has(f)) s += std::string(" +") + f;
  }
  return s;
}

const HostTarget& GetHostTarget() {
  static const HostTarget target = Detect();
  return target;
}

}  // namespace ndjit::codegen
