// Internal to codegen/: the vector math library linked into kernels.
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "llvm/IR/Module.h"

namespace ndjit::codegen {

struct VecMath {
  const char* family = "none";  // "avx512", "avx2", "sse4"
  int bits = 0;                 // width of the functions' vectors; 0 if none fits the host
  const unsigned char* bitcode = nullptr;
  size_t bitcode_size = 0;
};

// The family for this host, chosen once.
const VecMath& GetVecMath();

// The bitcode function computing the C library's `libm_name` (the op
// table's libm column) on a full native vector of float32 (or float64), or
// "" if there is none.
std::string VecMathFunction(absl::string_view libm_name, bool f64);

// Links the functions `module` calls from the library and marks them
// internal and always-inline.
absl::Status LinkVecMath(llvm::Module& module);

}  // namespace ndjit::codegen
