#include "ndjit/ndjit.h"

#include "gtest/gtest.h"
#include "ndjit/runtime/interrupt.h"
#include "test_util.h"

namespace ndjit {
namespace {

TEST(Error, StatusBecomesExceptionWithTheSameText) {
  NDArray a = ValueOrThrow(NDArray::Arange(12));
  try {
    ValueOrThrow(a.Reshape({5, 3}));
    FAIL() << "expected ndjit::Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "cannot reshape array of size 12 into shape (5,3)");
    EXPECT_EQ(e.code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_NO_THROW(ThrowIfError(absl::OkStatus()));
  EXPECT_THROW(ThrowIfError(CopyTo(ValueOrThrow(a.BroadcastTo({2, 12})), a)), Error);
  EXPECT_EQ(ValueOrThrow(a.Reshape({3, 4})).shape()[1], 4);
}

}  // namespace
}  // namespace ndjit

namespace ndjit {
namespace {

// Ctrl-C's flag stops an evaluation at the engine's next check with Python's
// KeyboardInterrupt, and nothing sticks once it is cleared.
TEST(Interrupt, StopsAnEvaluationUntilCleared) {
  const Array<> x(ValueOrThrow(NDArray::Arange(1 << 16, DType::kFloat64)));
  RequestInterrupt();
  try {
    (sin(x) * 2 + 1).eval();
    ADD_FAILURE() << "an interrupted evaluation ran";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), absl::StatusCode::kCancelled);
    EXPECT_STREQ(e.what(), "KeyboardInterrupt");
  }
  ClearInterrupt();
  EXPECT_DOUBLE_EQ(testing::Values((sin(x) * 2 + 1).array())[0], 1.0);
}

}  // namespace
}  // namespace ndjit
