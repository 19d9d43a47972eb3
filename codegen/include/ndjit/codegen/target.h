// The host CPU as LLVM sees it: what kernels are compiled for. No LLVM types
// cross this header, so layers above codegen/ stay free of LLVM headers.
#pragma once

#include <string>
#include <vector>

namespace ndjit::codegen {

struct HostTarget {
  std::string triple;                 // "x86_64-pc-linux-gnu"
  std::string cpu;                    // "znver4"
  std::vector<std::string> features;  // enabled features, sorted: "avx2", "avx512f", ...
  int vector_bits = 128;              // widest usable vector register
  std::string llvm_version;           // of the libLLVM in use: "19.1.7"

  bool Has(const std::string& feature) const;
  std::string Describe() const;
};

// Detected once and cached; safe to call from any thread.
const HostTarget& GetHostTarget();

}  // namespace ndjit::codegen
