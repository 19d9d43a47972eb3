// The interpreter's limits: recursion ends in Python's RecursionError text
// on any thread's stack, and a session keeps working after it.
#include <pthread.h>

#include <string>

#include "gtest/gtest.h"
#include "ndjit/script.h"
#include "script_test_util.h"

namespace ndjit::script {
namespace {

// `body` on a thread of its own with a stack of `bytes`.
void OnStack(size_t bytes, void (*body)(void*), void* arg) {
  struct Call {
    void (*body)(void*);
    void* arg;
  } call{body, arg};
  pthread_attr_t attr;
  ASSERT_EQ(pthread_attr_init(&attr), 0);
  ASSERT_EQ(pthread_attr_setstacksize(&attr, bytes), 0);
  pthread_t thread;
  ASSERT_EQ(pthread_create(
                &thread, &attr,
                [](void* p) -> void* {
                  auto* c = static_cast<Call*>(p);
                  c->body(c->arg);
                  return nullptr;
                },
                &call),
            0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
}

TEST(ScriptLimits, RecursiveLambdasEndInARecursionError) {
  Session s;
  EXPECT_EQ(Line(s, "f = lambda x: f(x)"), "");
  EXPECT_EQ(Line(s, "f(1)"), "error: maximum recursion depth exceeded");
  EXPECT_EQ(Line(s, "g = lambda x: h(x) + 1"), "");
  EXPECT_EQ(Line(s, "h = lambda x: g(x * 2)"), "");
  EXPECT_EQ(Line(s, "g(arange(3))"), "error: maximum recursion depth exceeded");
  EXPECT_EQ(Line(s, "f = lambda x: x + 1"), "");
  EXPECT_EQ(Line(s, "f(1)"), "2");
}

// The same chain of 900 attributes evaluates on a thread with a 64 MiB
// stack and fails cleanly on one with 1.5 MiB, after which the session goes
// on: the guard measures the stack that is left, not a count of levels.
TEST(ScriptLimits, TheGuardMeasuresTheStackItRunsOn) {
  struct Job {
    std::string chain = "ones(3)";
    std::string out;
  };
  auto run = [](void* p) {
    auto* j = static_cast<Job*>(p);
    Session s;
    j->out = Line(s, j->chain) + "|" + Line(s, "ones(2).T.T");
  };
  Job big, small;
  for (Job* j : {&big, &small}) {
    for (int i = 0; i < 900; ++i) j->chain += ".T";
  }
  OnStack(size_t{64} << 20, run, &big);
  OnStack(size_t{3} << 19, run, &small);
  EXPECT_EQ(big.out, "array([1., 1., 1.])|array([1., 1.])");
  EXPECT_EQ(small.out, "error: maximum recursion depth exceeded|array([1., 1.])");
}

// Lengths NumPy 1.24 computes (found by the language fuzzer: arange(-inf)
// converted -inf to an integer).
TEST(ScriptLimits, ArangeLengthsFromInfinitiesAreNumPys) {
  Session s;
  for (const char* too_big :
       {"arange(-inf)", "arange(0, -inf)", "arange(inf, 0)", "arange(0, 1e300, 1e-300)"}) {
    EXPECT_EQ(Line(s, too_big), "error: Maximum allowed size exceeded") << too_big;
  }
  EXPECT_EQ(Line(s, "arange(inf, inf)"), "error: arange: cannot compute length");
  EXPECT_EQ(Line(s, "arange(0, 5, inf)"), "array([0.])");
  EXPECT_EQ(Line(s, "arange(0, 5, -inf)"), "array([], dtype=float64)");
  EXPECT_EQ(Line(s, "arange(5, 0, inf)"), "array([], dtype=float64)");
}

}  // namespace
}  // namespace ndjit::script
