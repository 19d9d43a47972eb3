// The Arrow C Data Interface, tested against the specification: round trips,
// zero copy, ownership (release exactly once, from any thread, children moved
// out), offsets, nulls, and structs built by hand as a foreign producer would.
#include "ndjit/runtime/arrow.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace ndjit {
namespace {

NDArray Bools(std::initializer_list<bool> v) {
  NDArray a = NDArray::Zeros({static_cast<int64_t>(v.size())}, DType::kBool).value();
  int64_t i = 0;
  for (bool b : v) a.data()[i++] = b;
  return a;
}

// A buffer whose deleter counts, to see when exported memory is let go.
NDArray Counted(int64_t n, std::atomic<int>* freed) {
  auto* data = new double[n];
  for (int64_t i = 0; i < n; ++i) data[i] = 0.5 * i;
  BufferPtr b = Buffer::WrapExternal(data, n * 8, [freed](void* p, int64_t) {
    delete[] static_cast<double*>(p);
    ++*freed;
  });
  return NDArray::FromBuffer(b, 0, DType::kFloat64, {n}, {8}).value();
}

template <typename T>
void ExpectSameValues(const NDArray& a, const NDArray& b) {
  ASSERT_EQ(a.dtype(), b.dtype());
  ASSERT_EQ(Shape(a.shape().begin(), a.shape().end()), Shape(b.shape().begin(), b.shape().end()));
  NDArray ca = AsContiguousArray(a).value(), cb = AsContiguousArray(b).value();
  for (int64_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(reinterpret_cast<const T*>(ca.data())[i], reinterpret_cast<const T*>(cb.data())[i])
        << "element " << i;
  }
}

TEST(ArrowTest, PrimitiveRoundTripsShareMemory) {
  for (DType t :
       {DType::kInt8, DType::kUInt8, DType::kInt16, DType::kUInt16, DType::kInt32, DType::kUInt32,
        DType::kInt64, DType::kUInt64, DType::kFloat16, DType::kFloat32, DType::kFloat64}) {
    SCOPED_TRACE(std::string(Name(t)));
    NDArray a = NDArray::Arange(37, t).value();
    ArrowSchema schema;
    ArrowArray array;
    ASSERT_TRUE(ExportArrow(a, &schema, &array).ok());
    EXPECT_EQ(array.length, 37);
    EXPECT_EQ(array.n_buffers, 2);
    EXPECT_EQ(array.buffers[0], nullptr);   // no validity bitmap: no nulls
    EXPECT_EQ(array.buffers[1], a.data());  // zero copy
    EXPECT_EQ(schema.n_children, 0);
    absl::StatusOr<NDArray> b = ImportArrow(&schema, &array);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(array.release, nullptr);   // moved
    EXPECT_EQ(schema.release, nullptr);  // released
    EXPECT_EQ(b->data(), a.data());
    EXPECT_FALSE(b->writeable());
    EXPECT_EQ(b->dtype(), t);
    EXPECT_EQ(b->Item<double>({36}).value(), 36.0);
  }
}

TEST(ArrowTest, FormatsAreTheSpecificationsChars) {
  const std::pair<DType, const char*> cases[] = {
      {DType::kBool, "b"},    {DType::kInt8, "c"},    {DType::kUInt8, "C"},
      {DType::kInt16, "s"},   {DType::kUInt16, "S"},  {DType::kInt32, "i"},
      {DType::kUInt32, "I"},  {DType::kInt64, "l"},   {DType::kUInt64, "L"},
      {DType::kFloat16, "e"}, {DType::kFloat32, "f"}, {DType::kFloat64, "g"}};
  for (const auto& [t, f] : cases) {
    ArrowSchema schema;
    ArrowArray array;
    ASSERT_TRUE(ExportArrow(NDArray::Zeros({2}, t).value(), &schema, &array).ok());
    EXPECT_STREQ(schema.format, f) << Name(t);
    schema.release(&schema);
    array.release(&array);
  }
}

TEST(ArrowTest, StridedViewsAreCopiedOnce) {
  NDArray a = NDArray::Arange(20, DType::kInt32).value();
  NDArray v = a.Index({Slice{std::nullopt, std::nullopt, -3}}).value();  // 19, 16, ..., 1
  ArrowSchema schema;
  ArrowArray array;
  ASSERT_TRUE(ExportArrow(v, &schema, &array).ok());
  EXPECT_NE(array.buffers[1], v.data());
  const auto* values = static_cast<const int32_t*>(array.buffers[1]);
  for (int64_t i = 0; i < v.size(); ++i) EXPECT_EQ(values[i], 19 - 3 * i);
  NDArray b = ImportArrow(&schema, &array).value();
  ExpectSameValues<int32_t>(v, b);
}

TEST(ArrowTest, BooleansArePackedBitsBothWays) {
  NDArray a = Bools({true, false, true, true, false, false, false, true, true, false, true});
  ArrowSchema schema;
  ArrowArray array;
  ASSERT_TRUE(ExportArrow(a, &schema, &array).ok());
  const auto* bits = static_cast<const uint8_t*>(array.buffers[1]);
  EXPECT_EQ(bits[0], 0b10001101);
  EXPECT_EQ(bits[1] & 0b111, 0b101);
  NDArray b = ImportArrow(&schema, &array).value();
  ExpectSameValues<bool>(a, b);
}

TEST(ArrowTest, TensorsAreFixedShapeTensorExtensionArrays) {
  NDArray a = NDArray::Arange(24, DType::kFloat32).value().Reshape({2, 3, 4}).value();
  ArrowSchema schema;
  ArrowArray array;
  ASSERT_TRUE(ExportArrow(a, &schema, &array).ok());
  EXPECT_STREQ(schema.format, "+w:12");
  ASSERT_EQ(schema.n_children, 1);
  EXPECT_STREQ(schema.children[0]->format, "f");
  ASSERT_NE(schema.metadata, nullptr);
  // The metadata: int32 pair count, then length-prefixed keys and values.
  const char* md = schema.metadata;
  auto next_int = [&] {
    int32_t v;
    std::memcpy(&v, md, 4);
    md += 4;
    return v;
  };
  auto next_string = [&] {
    const int32_t n = next_int();
    std::string v(md, n);
    md += n;
    return v;
  };
  ASSERT_EQ(next_int(), 2);
  EXPECT_EQ(next_string(), "ARROW:extension:name");
  EXPECT_EQ(next_string(), "arrow.fixed_shape_tensor");
  EXPECT_EQ(next_string(), "ARROW:extension:metadata");
  EXPECT_EQ(next_string(), "{\"shape\":[3,4]}");
  EXPECT_EQ(array.length, 2);
  ASSERT_EQ(array.n_children, 1);
  EXPECT_EQ(array.children[0]->length, 24);
  EXPECT_EQ(array.children[0]->buffers[1], a.data());
  NDArray b = ImportArrow(&schema, &array).value();
  ExpectSameValues<float>(a, b);
  EXPECT_EQ(b.data(), a.data());
}

TEST(ArrowTest, ExportedMemoryLivesUntilReleaseAndNoLonger) {
  std::atomic<int> freed{0};
  ArrowSchema schema;
  ArrowArray array;
  {
    NDArray a = Counted(1000, &freed);
    ASSERT_TRUE(ExportArrow(a, &schema, &array).ok());
  }
  EXPECT_EQ(freed, 0);  // the export holds the buffer
  EXPECT_EQ(static_cast<const double*>(array.buffers[1])[999], 499.5);
  schema.release(&schema);
  EXPECT_EQ(schema.release, nullptr);
  std::thread([&] { array.release(&array); }).join();
  EXPECT_EQ(array.release, nullptr);
  EXPECT_EQ(freed, 1);
}

// A producer that is not ndjit: one int64 array with an offset, a validity
// bitmap, and callbacks that count.
struct Foreign {
  static inline std::atomic<int> array_releases{0}, schema_releases{0};
  static inline std::atomic<std::thread::id> released_on{};
  std::vector<int64_t> values;
  std::vector<uint8_t> validity;
  const void* buffers[2];
  static void ReleaseArray(ArrowArray* a) {
    ++array_releases;
    released_on = std::this_thread::get_id();
    delete static_cast<Foreign*>(a->private_data);
    a->release = nullptr;
  }
  static void ReleaseSchema(ArrowSchema* s) {
    ++schema_releases;
    s->release = nullptr;
  }
  static void Make(int64_t n, int64_t offset, int64_t null_count, bool bitmap, const char* format,
                   ArrowSchema* schema, ArrowArray* array) {
    auto* f = new Foreign;
    for (int64_t i = 0; i < n + offset; ++i) f->values.push_back(100 + i);
    f->validity.assign((n + offset + 7) / 8, 0xff);
    f->buffers[0] = bitmap ? f->validity.data() : nullptr;
    f->buffers[1] = f->values.data();
    *array = ArrowArray{n, null_count, offset, 2, 0, f->buffers, nullptr, nullptr, ReleaseArray, f};
    *schema = ArrowSchema{format,  "x",           nullptr, ARROW_FLAG_NULLABLE, 0, nullptr,
                          nullptr, ReleaseSchema, nullptr};
  }
};

TEST(ArrowTest, ForeignArraysAreReleasedOnceFromTheThreadThatDropsTheLastView) {
  Foreign::array_releases = 0;
  Foreign::schema_releases = 0;
  ArrowSchema schema;
  ArrowArray array;
  Foreign::Make(10, 3, 0, /*bitmap=*/true, "l", &schema, &array);
  const void* values = array.buffers[1];
  NDArray a = ImportArrow(&schema, &array).value();
  EXPECT_EQ(Foreign::schema_releases, 1);
  EXPECT_EQ(Foreign::array_releases, 0);
  EXPECT_EQ(array.release, nullptr);
  // The offset counts in elements: the first value is element 3.
  EXPECT_EQ(a.data(), static_cast<const char*>(values) + 3 * 8);
  EXPECT_EQ(a.Item<int64_t>({0}).value(), 103);
  EXPECT_EQ(a.Item<int64_t>({9}).value(), 112);
  std::optional<NDArray> view = a.Index({Slice{2, 5, std::nullopt}}).value();
  a = NDArray();
  EXPECT_EQ(Foreign::array_releases, 0);  // the view still reads it
  std::thread::id dropper;
  std::thread([&] {
    dropper = std::this_thread::get_id();
    view.reset();
  }).join();
  EXPECT_EQ(Foreign::array_releases, 1);
  EXPECT_EQ(Foreign::released_on.load(), dropper);
}

TEST(ArrowTest, NullsAreAnErrorUnlessFilled) {
  Foreign::array_releases = 0;
  ArrowSchema schema;
  ArrowArray array;
  Foreign::Make(12, 2, 2, true, "l", &schema, &array);
  auto* f = static_cast<Foreign*>(array.private_data);
  f->validity[0] &= ~(1u << 4);  // element 2 (offset 2)
  f->validity[1] &= ~(1u << 1);  // element 7
  absl::StatusOr<NDArray> a = ImportArrow(&schema, &array);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("2 nulls"), std::string::npos) << a.status();
  EXPECT_NE(a.status().message().find("fill_nulls"), std::string::npos);
  EXPECT_EQ(Foreign::array_releases, 1);  // taken, and released on the error

  Foreign::Make(12, 2, -1, true, "l", &schema, &array);  // null count unknown
  f = static_cast<Foreign*>(array.private_data);
  f->validity[0] &= ~(1u << 4);
  f->validity[1] &= ~(1u << 1);
  NDArray filled = ImportArrow(&schema, &array, {.fill_nulls = -1}).value();
  EXPECT_EQ(Foreign::array_releases, 2);  // a copy: the producer's memory is let go
  for (int64_t i = 0; i < 12; ++i) {
    EXPECT_EQ(filled.Item<int64_t>({i}).value(), i == 2 || i == 7 ? -1 : 102 + i) << i;
  }
}

TEST(ArrowTest, AnAllValidBitmapWithUnknownNullCountStaysZeroCopy) {
  ArrowSchema schema;
  ArrowArray array;
  Foreign::Make(9, 0, -1, true, "l", &schema, &array);
  const void* values = array.buffers[1];
  NDArray a = ImportArrow(&schema, &array).value();
  EXPECT_EQ(a.data(), values);
}

TEST(ArrowTest, BadInputIsAClearErrorAndNothingLeaks) {
  Foreign::array_releases = 0;
  Foreign::schema_releases = 0;
  ArrowSchema schema;
  ArrowArray array;
  Foreign::Make(4, 0, 0, false, "u", &schema, &array);  // utf8 strings
  absl::StatusOr<NDArray> a = ImportArrow(&schema, &array);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("format 'u'"), std::string::npos) << a.status();
  EXPECT_EQ(Foreign::array_releases, 1);
  EXPECT_EQ(Foreign::schema_releases, 1);

  Foreign::Make(4, 0, 0, false, "l", &schema, &array);
  array.n_buffers = 3;
  a = ImportArrow(&schema, &array);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("2 buffers"), std::string::npos) << a.status();

  Foreign::Make(4, 0, 3, false, "l", &schema, &array);  // nulls claimed, no bitmap
  a = ImportArrow(&schema, &array);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("no validity bitmap"), std::string::npos) << a.status();

  Foreign::Make(4, 0, 0, false, "l", &schema, &array);
  array.release(&array);
  a = ImportArrow(&schema, &array);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("already released"), std::string::npos);
  EXPECT_EQ(Foreign::array_releases, 4);
  EXPECT_EQ(Foreign::schema_releases, 4);

  ArrowSchema s2;
  ArrowArray a2;
  absl::Status e = ExportArrow(NDArray::Zeros({3}, DType::kComplex128).value(), &s2, &a2);
  EXPECT_NE(e.message().find("complex128 has no Arrow type"), std::string::npos) << e;
  e = ExportArrow(NDArray::Zeros({}, DType::kFloat64).value(), &s2, &a2);
  EXPECT_NE(e.message().find("0-d"), std::string::npos) << e;
}

TEST(ArrowTest, ShortChildrenOfListsAreRejected) {
  NDArray a = NDArray::Arange(12, DType::kInt64).value().Reshape({3, 4}).value();
  ArrowSchema schema;
  ArrowArray array;
  ASSERT_TRUE(ExportArrow(a, &schema, &array).ok());
  array.children[0]->length = 11;  // the lists need 12
  absl::StatusOr<NDArray> b = ImportArrow(&schema, &array);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("shorter"), std::string::npos) << b.status();
}

TEST(ArrowTest, ListOffsetsScaleByTheListSize) {
  // Rows 1 and 2 of a (4, 3) tensor: the parent's offset 1 means child
  // element 3 on.
  NDArray a = NDArray::Arange(12, DType::kInt64).value().Reshape({4, 3}).value();
  ArrowSchema schema;
  ArrowArray array;
  ASSERT_TRUE(ExportArrow(a, &schema, &array).ok());
  array.offset = 1;
  array.length = 2;
  NDArray b = ImportArrow(&schema, &array).value();
  ASSERT_EQ(b.ndim(), 2);
  EXPECT_EQ(b.shape()[0], 2);
  EXPECT_EQ(b.Item<int64_t>({0, 0}).value(), 3);
  EXPECT_EQ(b.Item<int64_t>({1, 2}).value(), 8);
}

TEST(ArrowTest, RecordArraysAreStructArrays) {
  RecordTypePtr inner =
      RecordType::Make({{"a", {DType::kInt16, nullptr, {}}}, {"b", {DType::kUInt8, nullptr, {}}}})
          .value();
  RecordTypePtr type = RecordType::Make({{"t", {DType::kUInt64, nullptr, {}}},
                                         {"pos", {DType::kFloat32, nullptr, {3}}},
                                         {"in", {DType::kFloat64, inner, {}}}},
                                        /*align=*/true)
                           .value();
  RecordArray rec = RecordArray::Zeros({5}, type).value();
  NDArray t = rec.Field("t").value();
  NDArray pos = rec.Field("pos").value();
  for (int64_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(t.SetItem<uint64_t>({i}, 10 * i).ok());
    for (int64_t j = 0; j < 3; ++j) ASSERT_TRUE(pos.SetItem<float>({i, j}, i + 0.25f * j).ok());
  }
  ASSERT_TRUE(rec.Records("in").value().Field("a").value().SetItem<int16_t>({4}, -7).ok());

  ArrowSchema schema;
  ArrowArray array;
  ASSERT_TRUE(ExportArrow(rec, &schema, &array).ok());
  EXPECT_STREQ(schema.format, "+s");
  ASSERT_EQ(schema.n_children, 3);
  EXPECT_STREQ(schema.children[0]->name, "t");
  EXPECT_STREQ(schema.children[0]->format, "L");
  EXPECT_STREQ(schema.children[1]->name, "pos");
  EXPECT_STREQ(schema.children[1]->format, "+w:3");
  EXPECT_STREQ(schema.children[2]->format, "+s");
  EXPECT_STREQ(schema.children[2]->children[0]->format, "s");
  EXPECT_EQ(array.length, 5);
  ASSERT_EQ(array.n_children, 3);
  EXPECT_EQ(static_cast<const int16_t*>(array.children[2]->children[0]->buffers[1])[4], -7);

  // A consumer may move a child out and release the parent: the child stays.
  ArrowSchema pos_schema = *schema.children[1];
  schema.children[1]->release = nullptr;
  ArrowArray pos_array = *array.children[1];
  array.children[1]->release = nullptr;
  schema.release(&schema);
  array.release(&array);
  rec = RecordArray();
  t = pos = NDArray();
  NDArray back = ImportArrow(&pos_schema, &pos_array).value();
  ASSERT_EQ(back.ndim(), 2);
  EXPECT_EQ(back.shape()[1], 3);
  EXPECT_EQ(back.Item<float>({4, 2}).value(), 4.5f);
}

}  // namespace
}  // namespace ndjit
