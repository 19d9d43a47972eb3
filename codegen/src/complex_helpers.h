// Internal to codegen/: scalar helpers that kernels call, lane by lane, for
// complex ops without a vector lowering. They run the reference evaluator's
// own element code (ir/scalar_ops.h), so the JIT agrees with it bit for bit.
#pragma once

#include <cstdint>

namespace ndjit::codegen {

// `args` holds the op's inputs as consecutive elements of `dtype`
// (complex64 or complex128); `out` receives one element of the output
// dtype (complex, or its component type for abs/real/imag).
extern "C" void ndjit_complex_apply(int32_t dtype, int32_t op, const void* args, void* out);

}  // namespace ndjit::codegen
