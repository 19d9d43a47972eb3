// Record dtypes: layouts computed by hand from NumPy's rules (a field starts
// at a multiple of its alignment when align=True; the itemsize rounds up to
// the largest alignment; complex aligns as its parts), field views, .npy.
#include "ndjit/runtime/record.h"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "gtest/gtest.h"
#include "ndjit/runtime/npy.h"
#include "test_util.h"

namespace ndjit {
namespace {

using namespace std::string_literals;

FieldSpec F(std::string name, DType t, Shape sub = {}) {
  return {std::move(name), {t, nullptr, sub}};
}
FieldSpec R(std::string name, RecordTypePtr r, Shape sub = {}) {
  return {std::move(name), {DType::kUInt8, std::move(r), sub}};
}

std::vector<int64_t> Offsets(const RecordType& t) {
  std::vector<int64_t> out;
  for (const RecordField& f : t.fields()) out.push_back(f.offset);
  return out;
}

RecordTypePtr W9Type(bool align) {
  return *RecordType::Make(
      {F("t", DType::kUInt64), F("pos", DType::kFloat32, {3}), F("vel", DType::kFloat32, {3})},
      align);
}

TEST(Record, LayoutsFollowNumPysRules) {
  RecordTypePtr w9 = W9Type(true);
  EXPECT_EQ(w9->itemsize(), 32);
  EXPECT_EQ(w9->alignment(), 8);
  EXPECT_EQ(Offsets(*w9), (std::vector<int64_t>{0, 8, 20}));
  EXPECT_EQ(W9Type(false)->alignment(), 1);  // a packed struct aligns to bytes

  struct Case {
    std::vector<FieldSpec> fields;
    bool align;
    std::vector<int64_t> offsets;
    int64_t itemsize, alignment;
  };
  const Case cases[] = {
      {{F("a", DType::kUInt8), F("b", DType::kFloat64)}, true, {0, 8}, 16, 8},
      {{F("a", DType::kUInt8), F("b", DType::kFloat64)}, false, {0, 1}, 9, 1},
      {{F("a", DType::kFloat64), F("b", DType::kUInt8)}, true, {0, 8}, 16, 8},  // tail padding
      {{F("c", DType::kComplex64), F("d", DType::kUInt8)}, true, {0, 8}, 12, 4},
      {{F("c", DType::kComplex128), F("d", DType::kBool)}, true, {0, 16}, 24, 8},
      {{F("h", DType::kFloat16), F("x", DType::kInt8), F("y", DType::kInt32)},
       true,
       {0, 2, 4},
       8,
       4},
      {{F("x", DType::kInt8), F("s", DType::kInt16, {3}), F("z", DType::kInt8)},
       true,
       {0, 2, 8},
       10,
       2},
      {{F("e", DType::kInt32, {0}), F("q", DType::kInt8)}, true, {0, 0}, 4, 4},
  };
  for (const Case& c : cases) {
    RecordTypePtr t = *RecordType::Make(c.fields, c.align);
    EXPECT_EQ(Offsets(*t), c.offsets) << t->Repr();
    EXPECT_EQ(t->itemsize(), c.itemsize) << t->Repr();
    EXPECT_EQ(t->alignment(), c.alignment) << t->Repr();
  }

  // Nested: an aligned inner record (itemsize 4, alignment 2) as a sub-array
  // of 2 lands at 2 and the float64 after it at 16; a packed inner record
  // (alignment 1) may start anywhere.
  RecordTypePtr inner = *RecordType::Make({F("a", DType::kUInt8), F("b", DType::kInt16)}, true);
  EXPECT_EQ(inner->itemsize(), 4);
  RecordTypePtr outer = *RecordType::Make(
      {F("x", DType::kUInt8), R("in", inner, {2}), F("z", DType::kFloat64)}, true);
  EXPECT_EQ(Offsets(*outer), (std::vector<int64_t>{0, 2, 16}));
  EXPECT_EQ(outer->itemsize(), 24);
  RecordTypePtr packed = *RecordType::Make({F("a", DType::kUInt8), F("b", DType::kInt16)}, false);
  RecordTypePtr holder = *RecordType::Make({F("x", DType::kUInt8), R("in", packed)}, true);
  EXPECT_EQ(Offsets(*holder), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(holder->itemsize(), 4);

  // NumPy names unnamed fields f<i>.
  RecordTypePtr unnamed = *RecordType::Make({F("", DType::kInt8), F("", DType::kInt8)});
  EXPECT_EQ(unnamed->fields()[1].name, "f1");
}

TEST(Record, DescrAndReprSpellWhatNumPySpells) {
  EXPECT_EQ(W9Type(true)->Descr(), "[('t', '<u8'), ('pos', '<f4', (3,)), ('vel', '<f4', (3,))]");
  EXPECT_EQ(W9Type(true)->Repr(),
            "dtype([('t', '<u8'), ('pos', '<f4', (3,)), ('vel', '<f4', (3,))], align=True)");
  RecordTypePtr gap = *RecordType::Make({F("a", DType::kUInt8), F("b", DType::kFloat64)}, true);
  EXPECT_EQ(gap->Descr(), "[('a', '|u1'), ('', '|V7'), ('b', '<f8')]");
  EXPECT_EQ(gap->Repr(),
            "dtype({'names': ['a', 'b'], 'formats': ['u1', '<f8'], 'offsets': [0, 8], "
            "'itemsize': 16}, align=True)");
  RecordTypePtr tail = *RecordType::Make({F("a", DType::kFloat64), F("b", DType::kBool)}, true);
  EXPECT_EQ(tail->Descr(), "[('a', '<f8'), ('b', '|b1'), ('', '|V7')]");
  RecordTypePtr inner = *RecordType::Make({F("x", DType::kFloat32), F("y", DType::kFloat32)});
  RecordTypePtr nested = *RecordType::Make({R("p", inner, {2, 2}), F("n", DType::kInt64)});
  EXPECT_EQ(nested->Descr(), "[('p', [('x', '<f4'), ('y', '<f4')], (2, 2)), ('n', '<i8')]");

  // Every descr reads back to the same offsets and itemsize.
  for (const RecordTypePtr& t : {W9Type(true), gap, tail, nested}) {
    RecordTypePtr back = *RecordTypeFromDescr(t->Descr());
    EXPECT_EQ(Offsets(*back), Offsets(*t)) << t->Descr();
    EXPECT_EQ(back->itemsize(), t->itemsize()) << t->Descr();
    EXPECT_EQ(back->Descr(), t->Descr());
  }
}

// Field names are Python strings: written as repr() writes them and read
// with Python's escapes, so any name survives a round trip (found by the
// descr fuzzer: a name holding a quote came back as another descr).
TEST(Record, FieldNamesAreQuotedAndEscapedAsPythonDoes) {
  RecordTypePtr t = *RecordType::Make(
      {F("it's", DType::kFloat32), F("a\"b'c\\", DType::kInt8), F("tab\there", DType::kUInt8)});
  EXPECT_EQ(t->Descr(), "[(\"it's\", '<f4'), ('a\"b\\'c\\\\', '|i1'), ('tab\\there', '|u1')]");
  RecordTypePtr back = *RecordTypeFromDescr(t->Descr());
  EXPECT_TRUE(*back == *t) << back->Descr();
  RecordTypePtr escaped = *RecordTypeFromDescr("[('\\x41\\102\\n\\q', '<f8')]");
  EXPECT_EQ(escaped->fields()[0].name, "AB\n\\q");
  EXPECT_NE(RecordTypeFromDescr("[('\\x4', '<f8')]").status().message().find("\\xXX"),
            std::string::npos);
}

TEST(Record, BadDescriptionsGiveClearErrors) {
  auto error = [](absl::string_view descr) {
    return std::string(RecordTypeFromDescr(descr).status().message());
  };
  EXPECT_EQ(error("[('a', '>f4')]"),
            "record descr: field 'a' has the unsupported format '>f4' (little-endian numeric "
            "formats such as '<f4' are)");
  EXPECT_EQ(error("[('s', '<U5')]"),
            "record descr: field 's': unicode strings (dtype '<U5') are not supported; bytes "
            "strings ('|S5') are");
  EXPECT_EQ(error("[('a',)]"),
            "record descr: each field must be a tuple (name, format) or (name, format, shape)");
  EXPECT_EQ(error("'<f4'"), "record descr: a record descr must be a list of fields");
  EXPECT_EQ(error("[('a', '<f4'), ('a', '<i4')]"),
            "record descr: dtype(): field 'a' occurs more than once");
  EXPECT_EQ(error("[('a', '<f4', (-1,))]"),
            "record descr: field 'a': negative dimensions are not allowed: shape (-1,)");
  EXPECT_EQ(error("[]"), "record descr: dtype(): a record dtype needs at least one field");
  EXPECT_FALSE(RecordTypeFromDescr("[('a', '<f4')").ok());
  EXPECT_FALSE(RecordTypeFromDescr(std::string(1000, '[')).ok());  // deep nesting: no overflow
  EXPECT_FALSE(RecordType::WithOffsets({F("a", DType::kFloat64)}, {4}, 8).ok());
  // Fields that each fit but together do not (found by UBSan as a signed
  // overflow): refused, in both the descr path and Make.
  EXPECT_EQ(error("[('a', '<f8', (576460752303423488,)), ('b', '<f8', (576460752303423488,))]"),
            "record descr: the fields overflow the record");
  EXPECT_EQ(error("[('', '|V9223372036854775807'), ('a', '<f8')]").substr(0, 14), "record descr: ");
  std::vector<FieldSpec> huge;
  for (const char* n : {"a", "b"}) {
    FieldSpec f = F(n, DType::kFloat64);
    f.format.subshape = {int64_t{1} << 59};
    huge.push_back(f);
  }
  EXPECT_EQ(RecordType::Make(huge).status().message(),
            "dtype(): the fields add up to more bytes than an array can hold");
}

TEST(Record, FieldsAreStridedViewsOfTheRecords) {
  RecordArray rec = *RecordArray::Zeros({5}, W9Type(true));
  NDArray vel = *rec.Field("vel");
  EXPECT_EQ(vel.dtype(), DType::kFloat32);
  EXPECT_EQ(vel.shape(), (Shape{5, 3}));
  EXPECT_EQ(vel.strides(), (Strides{32, 4}));
  EXPECT_EQ(vel.data(), rec.data() + 20);
  EXPECT_EQ(vel.buffer(), rec.buffer());
  ASSERT_TRUE(vel.SetItem<float>({2, 1}, 7.5f).ok());
  ASSERT_TRUE(rec.Field("t")->SetItem<uint64_t>({2}, 99).ok());
  // The writes land at the bytes NumPy's layout puts them.
  float f;
  std::memcpy(&f, rec.data() + 2 * 32 + 20 + 4, 4);
  EXPECT_EQ(f, 7.5f);
  EXPECT_EQ(static_cast<uint8_t>(rec.data()[2 * 32]), 99);

  NDArray vx = *vel.Index({Slice{}, int64_t{1}});
  EXPECT_EQ(vx.strides(), (Strides{32}));
  EXPECT_EQ(*vx.Item<float>({2}), 7.5f);

  // Views of the records keep the field offsets.
  RecordArray tail = *rec.Index({Slice{2, {}, {}}});
  EXPECT_EQ(tail.shape(), (Shape{3}));
  EXPECT_EQ(*tail.Field("t")->Item<uint64_t>({0}), 99u);
  RecordArray rev = *rec.Index({Slice{{}, {}, -2}});
  EXPECT_EQ(rev.strides(), (Strides{-64}));
  EXPECT_EQ(*rev.Field("vel")->Item<float>({1, 1}), 7.5f);
  RecordArray grid = *RecordArray::Zeros({2, 3}, W9Type(false));
  EXPECT_EQ(grid.Field("pos")->strides(), (Strides{96, 32, 4}));
  EXPECT_EQ(grid.Index({Ellipsis{}, int64_t{1}})->shape(), (Shape{2}));
  EXPECT_EQ(grid.Index({int64_t{1}})->shape(), (Shape{3}));

  // Nested records and odd (unaligned) offsets.
  RecordTypePtr inner = *RecordType::Make({F("a", DType::kUInt8), F("b", DType::kFloat64)});
  RecordTypePtr outer = *RecordType::Make({F("x", DType::kUInt8), R("in", inner, {2})});
  RecordArray o = *RecordArray::Zeros({4}, outer);
  RecordArray in = *o.Records("in");
  EXPECT_EQ(in.shape(), (Shape{4, 2}));
  NDArray b = *in.Field("b");
  EXPECT_EQ(b.strides(), (Strides{19, 9}));
  EXPECT_EQ(b.data(), o.data() + 2);
  ASSERT_TRUE(b.SetItem<double>({3, 1}, -1.25).ok());
  EXPECT_EQ(*o.Records("in")->Field("b")->Item<double>({3, 1}), -1.25);
}

TEST(Record, BadFieldAccessGivesClearErrors) {
  RecordTypePtr inner = *RecordType::Make({F("x", DType::kFloat32)});
  RecordArray rec =
      *RecordArray::Zeros({3}, *RecordType::Make({F("t", DType::kUInt64), R("in", inner)}));
  EXPECT_EQ(rec.Field("speed").status().message(),
            "no field of name 'speed' (the fields are 't', 'in')");
  EXPECT_EQ(rec.Field("in").status().message(),
            "field 'in' holds records (dtype([('x', '<f4')])): take it as a record array, not a "
            "numeric one");
  EXPECT_EQ(rec.Records("t").status().message(), "field 't' holds uint64 values, not records");
  EXPECT_EQ(rec.Index({int64_t{0}, int64_t{0}}).status().message(),
            "too many indices for array: array is 1-dimensional, but 2 were indexed");
  EXPECT_FALSE(rec.Index({int64_t{3}}).ok());
}

TEST(Record, ReprIsNumPys) {
  RecordArray rec = *RecordArray::Zeros({2}, W9Type(true));
  ASSERT_TRUE(rec.Field("pos")->SetItem<float>({1, 2}, 2.5f).ok());
  ASSERT_TRUE(rec.Field("t")->SetItem<uint64_t>({1}, 7).ok());
  EXPECT_EQ(RecordArrayRepr(rec),
            "array([(0, [0., 0., 0.], [0., 0., 0.]), (7, [0., 0., 2.5], [0., 0., 0.])],\n"
            "      dtype={'names': ['t', 'pos', 'vel'], 'formats': ['<u8', ('<f4', (3,)), "
            "('<f4', (3,))], 'offsets': [0, 8, 20], 'itemsize': 32, 'aligned': True})");
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/ndjit_record_test_" + std::to_string(getpid()) + "_" +
         name;
}

TEST(Record, NpyFilesRoundTripWithNumPysHeader) {
  RecordArray rec = *RecordArray::Zeros({4}, W9Type(true));
  for (int64_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(rec.Field("t")->SetItem<uint64_t>({i}, 10 + i).ok());
    ASSERT_TRUE(rec.Field("vel")->SetItem<float>({i, 2}, 0.5f * i).ok());
  }
  const std::string bytes = *NpyBytes(rec);
  // What np.save writes for this dtype and shape (4,): a 192-byte header.
  const std::string dict =
      "{'descr': [('t', '<u8'), ('pos', '<f4', (3,)), ('vel', '<f4', (3,))], "
      "'fortran_order': False, 'shape': (4,), }";
  EXPECT_EQ(bytes.substr(0, 192),
            "\x93NUMPY\x01\x00\xb6\x00"s + dict + std::string(71, ' ') + "\n");
  EXPECT_EQ(bytes.size(), 192u + 4 * 32);

  RecordArray back = *RecordsFromNpyBytes(bytes);
  EXPECT_EQ(back.shape(), (Shape{4}));
  EXPECT_EQ(back.itemsize(), 32);
  EXPECT_EQ(*back.Field("t")->Item<uint64_t>({3}), 13u);
  EXPECT_EQ(*back.Field("vel")->Item<float>({3, 2}), 1.5f);
  EXPECT_EQ(*NpyBytes(back), bytes);

  // A strided view is written in C order; the file maps without a copy.
  const std::string path = TempPath("rec.npy");
  ASSERT_TRUE(SaveNpy(path, *rec.Index({Slice{{}, {}, 2}})).ok());
  RecordArray half = *LoadRecordNpy(path);
  EXPECT_EQ(*half.Field("t")->Item<uint64_t>({1}), 12u);
  RecordArray mapped = *OpenRecordNpyMemmap(path, MmapMode::kReadOnly);
  EXPECT_FALSE(mapped.buffer()->from_pool());
  EXPECT_FALSE(mapped.writeable());
  EXPECT_EQ(*mapped.Field("vel")->Item<float>({1, 2}), 1.0f);

  // Plain and record loaders refuse each other's files by name.
  EXPECT_EQ(LoadNpy(path).status().message(),
            "load('" + path +
                "'): npy: the file holds records of dtype([('t', '<u8'), ('pos', '<f4', (3,)), "
                "('vel', '<f4', (3,))]): load it as a record array");
  EXPECT_FALSE(OpenNpyMemmap(path, MmapMode::kReadOnly).ok());
  ASSERT_TRUE(SaveNpy(path, testing::Iota({3}, DType::kFloat32)).ok());
  EXPECT_EQ(
      LoadRecordNpy(path).status().message(),
      "load('" + path + "'): npy: the file holds float32 values, not records: load it as an array");
  std::remove(path.c_str());

  // Padding fields from NumPy's descr keep the offsets; Fortran order reads.
  const std::string d2 =
      "{'descr': [('a', '|u1'), ('', '|V3'), ('b', '<i4')], 'fortran_order': True, "
      "'shape': (2, 2), }";
  std::string file = "\x93NUMPY\x01\x00"s + static_cast<char>(d2.size()) + '\0' + d2;
  for (int i = 0; i < 4; ++i)
    file += std::string(1, static_cast<char>(i)) + "pad" +
            std::string(1, static_cast<char>(40 + i)) + "\0\0\0"s;
  RecordArray fo = *RecordsFromNpyBytes(file);
  EXPECT_EQ(Offsets(*fo.type()), (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(fo.strides(), (Strides{8, 16}));
  EXPECT_EQ(*fo.Field("b")->Item<int32_t>({1, 0}), 41);  // F order: [1, 0] is item 1
  EXPECT_EQ(*fo.Field("a")->Item<int32_t>({0, 1}), 2);
  const std::string bad = "{'descr': [('a', '>i4')], 'fortran_order': False, 'shape': (1,), }";
  EXPECT_EQ(RecordsFromNpyBytes("\x93NUMPY\x01\x00"s + static_cast<char>(bad.size()) + '\0' + bad +
                                "\0\0\0\1"s)
                .status()
                .message(),
            "npy header: field 'a' has the unsupported format '>i4' (little-endian numeric "
            "formats such as '<f4' are)");
  // Every prefix of a good file fails cleanly.
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(RecordsFromNpyBytes(bytes.substr(0, n)).ok());
}

// A record of no bytes (NumPy loads [('a', '<f4', (0,))]): counting records
// by bytes / itemsize divided by zero (SIGFPE in load, repr and memmap).
TEST(Record, RecordsOfNoBytesCountByShape) {
  RecordTypePtr empty = *RecordType::Make({F("a", DType::kFloat32, {0})});
  EXPECT_EQ(empty->itemsize(), 0);
  RecordArray rec = *RecordArray::Zeros({3}, empty);
  EXPECT_EQ(rec.size(), 3);
  EXPECT_EQ(RecordArrayRepr(rec), "array([([],), ([],), ([],)], dtype=[('a', '<f4', (0,))])");
  EXPECT_EQ(rec.Field("a")->shape(), (Shape{3, 0}));
  EXPECT_EQ(RecordArray::Zeros({int64_t{1} << 62, 8}, empty).status().code(),
            absl::StatusCode::kInvalidArgument);

  const std::string path = TempPath("empty_rec.npy");
  ASSERT_TRUE(SaveNpy(path, rec).ok());
  RecordArray loaded = *LoadRecordNpy(path);
  EXPECT_EQ(loaded.size(), 3);
  EXPECT_EQ(loaded.shape(), (Shape{3}));
  absl::StatusOr<RecordArray> mapped = OpenRecordNpyMemmap(path, MmapMode::kReadOnly);
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_EQ(mapped->size(), 3);
  EXPECT_EQ(RecordArrayRepr(*mapped), RecordArrayRepr(rec));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ndjit