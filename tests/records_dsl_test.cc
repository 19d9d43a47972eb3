// Record arrays in the DSL: fields are lazy leaves over the records' bytes,
// so a fused kernel reads them in place (W9) and eval_into writes them.
#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "gtest/gtest.h"
#include "ndjit/ndjit.h"

namespace ndjit {
namespace {

RecordTypePtr Particle() {
  return record_dtype({{"t", "u8"}, {"pos", "f4", {3}}, {"vel", "f4", {3}}}, /*align=*/true);
}

Records Filled(int64_t n) {
  Records rec = Records::zeros({n}, Particle());
  NDArray vel = rec["vel"].array();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < 3; ++c)
      EXPECT_TRUE(vel.SetItem<float>({i, c}, 0.25f * (i % 7) - c).ok());
    EXPECT_TRUE(rec["t"].array().SetItem<uint64_t>({i}, i).ok());
  }
  return rec;
}

Array<> Speed(const Records& rec) {
  const Array<> v = rec["vel"];
  const Array<> vx = v[{Slice{}, int64_t{0}}], vy = v[{Slice{}, int64_t{1}}],
                vz = v[{Slice{}, int64_t{2}}];
  return sqrt(vx * vx + vy * vy + vz * vz);
}

TEST(RecordsDslTest, FieldsFuseInPlaceWithoutCopies) {
  const int64_t n = 4099;  // not a multiple of any vector width
  Records rec = Filled(n);
  EXPECT_EQ(rec["vel"].array().buffer(), rec.data().buffer());  // a view, not a copy
  Speed(rec).eval();                                            // compile
  const EvalStats before = GetEvalStats();
  const PoolStats pool_before = GetPoolStats();
  const NDArray speed = Speed(rec).eval().array();
  const EvalStats after = GetEvalStats();
  const PoolStats pool_after = GetPoolStats();
  EXPECT_EQ(after.kernels_run - before.kernels_run, 1);
  EXPECT_EQ(after.intermediate_bytes, before.intermediate_bytes);
  // The only pool request is the result: no gather of records or fields.
  EXPECT_EQ(pool_after.cache_hits + pool_after.cache_misses -
                (pool_before.cache_hits + pool_before.cache_misses),
            1);
  for (int64_t i = 0; i < n; i += 97) {
    const double x = 0.25f * (i % 7), y = x - 1, z = x - 2;
    EXPECT_NEAR(*speed.Item<float>({i}), std::sqrt(x * x + y * y + z * z), 1e-5) << i;
  }
  const NDArray eager = Speed(rec).eval(Backend::kEager).array();
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(*eager.Item<float>({i}), *speed.Item<float>({i}));
}

TEST(RecordsDslTest, EvalIntoWritesAFieldAndLeavesTheOthers) {
  Records rec = Filled(100);
  const NDArray before_t = *rec["t"].array().Copy();
  // pos = vel * 2, written through the strided field view.
  (rec["vel"] * 2.0f).eval_into(rec["pos"].array());
  for (int64_t i = 0; i < 100; ++i) {
    for (int64_t c = 0; c < 3; ++c) {
      EXPECT_EQ(rec["pos"].item<float>({i, c}), 2 * rec["vel"].item<float>({i, c}));
    }
    EXPECT_EQ(rec["t"].item<uint64_t>({i}), *before_t.Item<uint64_t>({i}));
  }
  // Sums over a field of a view of the records.
  Records odd = rec.index({Slice{1, {}, 2}});
  EXPECT_EQ(odd.size(), 50);
  EXPECT_EQ(sum(odd["t"]).item<uint64_t>(), 50u * 50u);  // 1 + 3 + ... + 99
}

TEST(RecordsDslTest, NestedRecordsAndErrors) {
  // A packed inner record aligns to bytes (NumPy's alignment 1), so it
  // follows id directly; an aligned one starts at its float64 alignment.
  RecordTypePtr packed_xy = record_dtype({{"x", "f8"}, {"y", "f8"}});
  EXPECT_EQ(record_dtype({{"id", "i4"}, {"p", packed_xy, {2}}}, true)->itemsize(), 36);
  RecordTypePtr xy = record_dtype({{"x", "f8"}, {"y", "f8"}}, /*align=*/true);
  RecordTypePtr body = record_dtype({{"id", "i4"}, {"p", xy, {2}}}, /*align=*/true);
  EXPECT_EQ(body->itemsize(), 40);  // id, 4 bytes of padding, two 16-byte points
  Records b = Records::zeros({3}, body);
  Array<> px = b.records("p")["x"];
  EXPECT_EQ(px.shape(), (Shape{3, 2}));
  EXPECT_EQ(px.array().strides(), (Strides{40, 16}));
  (px + 1.0).eval_into(b.records("p")["y"].array());
  EXPECT_EQ(b.records("p")["y"].item<double>({2, 1}), 1.0);

  EXPECT_THROW(b["speed"], Error);
  try {
    b["p"];
    ADD_FAILURE() << "a nested record field is not a numeric array";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("field 'p' holds records"), std::string::npos);
  }
  try {
    record_dtype({{"a", "f4"}, {"b", "U5"}});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "dtype(): field 'b': data type 'U5' not understood");
  }
  EXPECT_THROW(record_dtype({{"a", "f4"}, {"a", "f8"}}), Error);
}

TEST(RecordsDslTest, MemoryMappedRecordFileFeedsAKernel) {
  const std::string path = "/tmp/ndjit_records_dsl_" + std::to_string(getpid()) + ".npy";
  Records rec = Filled(1000);
  rec.save(path);
  Records mapped = Records::load(path, /*mmap=*/true);
  EXPECT_FALSE(mapped.data().buffer()->from_pool());
  const NDArray a = Speed(mapped).eval().array(), b = Speed(rec).eval().array();
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(*a.Item<float>({i}), *b.Item<float>({i}));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ndjit
