#include "ndjit/runtime/dlpack.h"

#include <gtest/gtest.h>

namespace ndjit {
namespace {

TEST(DLPack, RoundTripSharesMemoryAndReleasesOnce) {
  NDArray a = *NDArray::Arange(12, DType::kFloat32);
  NDArray m = *a.Reshape({3, 4});
  NDArray v = *m.Index({Slice{std::nullopt, std::nullopt, -1}, Slice{1, std::nullopt, 2}});
  absl::StatusOr<DLManagedTensor*> t = ToDLPack(v);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->dl_tensor.ndim, 2);
  EXPECT_EQ((*t)->dl_tensor.dtype.code, kDLFloat);
  EXPECT_EQ((*t)->dl_tensor.dtype.bits, 32);
  EXPECT_EQ((*t)->dl_tensor.strides[0], -4);  // elements, not bytes
  EXPECT_EQ((*t)->dl_tensor.strides[1], 2);
  absl::StatusOr<NDArray> back = FromDLPack(*t);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->data(), v.data());
  EXPECT_EQ(back->shape(), v.shape());
  EXPECT_EQ(back->strides(), v.strides());
  for (int64_t i = 0; i < 3; ++i) {
    for (int64_t j = 0; j < 2; ++j) {
      EXPECT_EQ(*back->Item<float>({i, j}), *v.Item<float>({i, j}));
    }
  }
}

TEST(DLPack, ImportedMemoryIsReleasedWhenTheLastViewGoes) {
  static int64_t shape[] = {2, 3};
  static double data[6] = {1, 2, 3, 4, 5, 6};
  static int released = 0;
  auto* t = new DLManagedTensor{};
  t->dl_tensor = {data, {kDLCPU, 0}, 2, {kDLFloat, 64, 1}, shape, nullptr, 0};
  t->deleter = [](DLManagedTensor* self) {
    ++released;
    delete self;
  };
  {
    absl::StatusOr<NDArray> a = FromDLPack(t, /*writeable=*/false);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_FALSE(a->writeable());
    EXPECT_EQ(*a->Item<double>({1, 2}), 6.0);
    NDArray col = *a->Index({Slice{}, int64_t{1}});
    EXPECT_EQ(released, 0);
    EXPECT_EQ(*col.Item<double>({1}), 5.0);
  }
  EXPECT_EQ(released, 1);
}

TEST(DLPack, BadTensorsAreErrorsThatStillReleaseThem) {
  static int64_t shape[] = {4};
  static uint16_t data[4] = {};
  static int released = 0;
  auto make = [](DLDataType type, DLDeviceType device) {
    auto* t = new DLManagedTensor{};
    t->dl_tensor = {data, {device, 0}, 1, type, shape, nullptr, 0};
    t->deleter = [](DLManagedTensor* self) {
      ++released;
      delete self;
    };
    return t;
  };
  absl::StatusOr<NDArray> bf16 = FromDLPack(make({kDLBfloat, 16, 1}, kDLCPU));
  EXPECT_FALSE(bf16.ok());
  EXPECT_NE(bf16.status().message().find("type code 4"), std::string::npos);
  absl::StatusOr<NDArray> gpu = FromDLPack(make({kDLFloat, 16, 1}, kDLCUDA));
  EXPECT_FALSE(gpu.ok());
  EXPECT_NE(gpu.status().message().find("device type 2"), std::string::npos);
  EXPECT_EQ(released, 2);
  // Strides in bytes that are not whole elements have no DLPack form.
  NDArray bytes = *NDArray::Zeros({8}, DType::kUInt8);
  NDArray odd = *AsStrided(bytes, {2}, {4}, true);
  NDArray as_i32 = *NDArray::FromBuffer(bytes.buffer(), 1, DType::kInt16, {2}, {3});
  absl::StatusOr<DLManagedTensor*> good = ToDLPack(odd);
  ASSERT_TRUE(good.ok()) << good.status();
  (*good)->deleter(*good);
  absl::StatusOr<DLManagedTensor*> bad = ToDLPack(as_i32);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("multiple of the itemsize"), std::string::npos);
}

}  // namespace
}  // namespace ndjit
