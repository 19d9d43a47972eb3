// The interpreter recurses once per level of an expression (and once per
// call of a recursive lambda), and a level's frames are several times larger
// under a sanitizer than in a release build, so a bound on levels alone
// cannot promise the stack holds. Each level asks how much of the calling
// thread's stack is left and fails with Python's RecursionError text when
// the rest would not be enough for a kernel compilation below it.
#pragma once

#include <cstddef>

namespace ndjit::script {

inline constexpr size_t kStackReserve = size_t{1} << 20;

// Whether fewer than kStackReserve bytes of this thread's stack are left.
bool StackNearlyFull();

}  // namespace ndjit::script
