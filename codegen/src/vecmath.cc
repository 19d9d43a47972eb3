// Choosing and linking the vector math bitcode (mathlib/vecmath.cc).
#include "vecmath.h"

#include "absl/strings/str_cat.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/Module.h"
#include "llvm/Linker/Linker.h"
#include "llvm/Support/MemoryBuffer.h"
#include "ndjit/codegen/target.h"

extern const unsigned char ndjit_vecmath_avx512[];
extern const size_t ndjit_vecmath_avx512_size;
extern const unsigned char ndjit_vecmath_avx2[];
extern const size_t ndjit_vecmath_avx2_size;
extern const unsigned char ndjit_vecmath_sse4[];
extern const size_t ndjit_vecmath_sse4_size;

namespace ndjit::codegen {
namespace {

struct Family {
  const char* name;
  int bits;
  const unsigned char* data;
  const size_t* size;
  std::vector<const char*> needs;  // host features the bitcode was built for
};

VecMath Choose() {
  static const Family kFamilies[] = {
      {"avx512",
       512,
       ndjit_vecmath_avx512,
       &ndjit_vecmath_avx512_size,
       {"avx512f", "avx512vl", "avx512dq", "avx512bw", "avx2", "bmi2", "fma", "f16c", "pclmul",
        "aes"}},
      {"avx2",
       256,
       ndjit_vecmath_avx2,
       &ndjit_vecmath_avx2_size,
       {"avx2", "bmi2", "fma", "f16c", "pclmul", "aes"}},
      {"sse4", 128, ndjit_vecmath_sse4, &ndjit_vecmath_sse4_size, {"sse4.2", "pclmul", "aes"}},
  };
  const HostTarget& host = GetHostTarget();
  for (const Family& f : kFamilies) {
    bool ok = true;
    for (const char* feature : f.needs) ok &= host.Has(feature);
    if (ok) return VecMath{f.name, f.bits, f.data, *f.size};
  }
  return VecMath{};
}

// Functions the bitcode defines in float64 (the rest exist for float32 only).
constexpr absl::string_view kFloat64Functions[] = {
    "exp",  "expm1", "log",  "log2",  "log10", "log1p", "sin",  "cos",  "tanh", "sinh",
    "asin", "acos",  "atan", "asinh", "acosh", "atanh", "cosh", "cbrt", "hypot"};
constexpr absl::string_view kFloat32Functions[] = {
    "exp",  "expm1", "log",  "log2", "log10", "log1p", "sin",   "cos",
    "tanh", "sinh",  "asin", "acos", "atan",  "asinh", "acosh", "atanh",
    "tan",  "cosh",  "exp2", "cbrt", "hypot", "atan2", "pow"};

}  // namespace

const VecMath& GetVecMath() {
  static const VecMath math = Choose();
  return math;
}

std::string VecMathFunction(absl::string_view libm_name, bool f64) {
  const VecMath& math = GetVecMath();
  if (math.bits == 0) return "";
  bool found = false;
  for (absl::string_view n :
       f64 ? absl::MakeConstSpan(kFloat64Functions) : absl::MakeConstSpan(kFloat32Functions)) {
    found |= n == libm_name;
  }
  if (!found) return "";
  return absl::StrCat("ndjit_", libm_name, f64 ? "_f64" : "_f32");
}

absl::Status LinkVecMath(llvm::Module& module) {
  bool needed = false;
  for (const llvm::Function& f : module) {
    needed |= f.isDeclaration() && f.getName().starts_with("ndjit_");
  }
  if (!needed) return absl::OkStatus();
  const VecMath& math = GetVecMath();
  llvm::MemoryBufferRef buffer(
      llvm::StringRef(reinterpret_cast<const char*>(math.bitcode), math.bitcode_size), "vecmath");
  auto lib = llvm::getLazyBitcodeModule(buffer, module.getContext());
  if (!lib) {
    return absl::InternalError("JIT: cannot read the vector math bitcode: " +
                               llvm::toString(lib.takeError()));
  }
  (*lib)->setDataLayout(module.getDataLayout());
  (*lib)->setTargetTriple(module.getTargetTriple());
  if (llvm::Linker::linkModules(module, std::move(*lib), llvm::Linker::Flags::LinkOnlyNeeded)) {
    return absl::InternalError("JIT: linking the vector math bitcode failed");
  }
  // Linked functions are private to the kernel and meant to disappear into it.
  for (llvm::Function& f : module) {
    if (f.isDeclaration() || !f.getName().starts_with("ndjit_") ||
        f.getName().starts_with("ndjit_kernel")) {
      continue;
    }
    f.setLinkage(llvm::GlobalValue::InternalLinkage);
    f.removeFnAttr(llvm::Attribute::NoInline);
    f.removeFnAttr(llvm::Attribute::OptimizeNone);
    f.addFnAttr(llvm::Attribute::AlwaysInline);
  }
  return absl::OkStatus();
}

}  // namespace ndjit::codegen
