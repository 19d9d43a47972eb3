#include "ndjit/ndjit.h"

#include "gtest/gtest.h"

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
