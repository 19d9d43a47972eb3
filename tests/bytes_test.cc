// Arrays of bytes (NumPy's 'S<n>'): the type, items, comparisons with
// NumPy's NUL padding and broadcasting, reprs and .npy files as NumPy
// writes them.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ndjit/runtime/npy.h"
#include "ndjit/runtime/record.h"

namespace ndjit {
namespace {

using namespace std::string_literals;

RecordArray Bytes(std::vector<std::string> items, Shape shape, int64_t width = 0) {
  absl::StatusOr<RecordArray> r = BytesArray(items, shape, width);
  EXPECT_TRUE(r.ok()) << r.status();
  return *r;
}

std::vector<bool> Bools(const NDArray& a) {
  std::vector<bool> out;
  const NDArray c = *a.Copy(Order::kC);
  for (int64_t i = 0; i < c.size(); ++i) out.push_back(reinterpret_cast<const bool*>(c.data())[i]);
  return out;
}

TEST(Bytes, TheTypeIsARecordTypeWithoutFields) {
  RecordTypePtr s5 = *RecordType::Bytes(5);
  EXPECT_TRUE(s5->is_bytes());
  EXPECT_TRUE(s5->fields().empty());
  EXPECT_EQ(s5->itemsize(), 5);
  EXPECT_EQ(s5->alignment(), 1);
  EXPECT_EQ(s5->Descr(), "'|S5'");
  EXPECT_EQ(s5->Repr(), "dtype('S5')");
  EXPECT_TRUE(*s5 == **RecordType::Bytes(5));
  EXPECT_FALSE(*s5 == **RecordType::Bytes(4));
  // Five uint8 fields' record is five bytes too, but not bytes.
  EXPECT_FALSE(*s5 == **RecordType::Make({{"a", {DType::kUInt8, nullptr, {5}}}}));
  EXPECT_EQ(RecordType::Bytes(0).status().message(),
            "dtype(): a bytes dtype is 1 to 2147483647 bytes wide, not 0");
  EXPECT_EQ(s5->Field("x").status().message(),
            "no field of name 'x': bytes (dtype('S5')) have no fields");
}

TEST(Bytes, StringCodesReadAsNumPyReadsThem) {
  for (const char* code : {"S3", "|S3", "<S3", ">S3"}) {
    absl::StatusOr<RecordTypePtr> t = StringTypeFromCode(code, "test");
    ASSERT_TRUE(t.ok() && *t != nullptr) << code;
    EXPECT_EQ((*t)->itemsize(), 3) << code;
  }
  for (const char* code : {"f4", "<f8", "S", "Sx", "|V4", ""}) {
    absl::StatusOr<RecordTypePtr> t = StringTypeFromCode(code, "test");
    ASSERT_TRUE(t.ok()) << code;
    EXPECT_EQ(*t, nullptr) << code;
  }
  EXPECT_EQ(StringTypeFromCode("<U7", "load").status().message(),
            "load: unicode strings (dtype '<U7') are not supported; bytes strings ('|S7') are");
  EXPECT_EQ(StringTypeFromCode("|S0", "load").status().message(),
            "load: '|S0': dtype(): a bytes dtype is 1 to 2147483647 bytes wide, not 0");
}

TEST(Bytes, ItemsDropTrailingNulsOnly) {
  EXPECT_EQ(BytesItem("ab\0\0", 4), "ab");
  EXPECT_EQ(BytesItem("a\0b\0", 4), "a\0b"s);
  EXPECT_EQ(BytesItem("\0\0", 2), "");
  EXPECT_EQ(BytesRepr("a\0b\xff\n\\'"s), "b\"a\\x00b\\xff\\n\\\\'\"");
  EXPECT_EQ(BytesRepr("it"), "b'it'");
}

TEST(Bytes, ArraysAreAsWideAsTheLongestItemOrCutToAWidth) {
  RecordArray a = Bytes({"abc", "", "de"}, {3});
  EXPECT_EQ(a.itemsize(), 3);
  EXPECT_EQ(RecordArrayRepr(a), "array([b'abc', b'', b'de'], dtype='|S3')");
  EXPECT_EQ(RecordArrayRepr(Bytes({"", ""}, {2})), "array([b'', b''], dtype='|S1')");
  EXPECT_EQ(RecordArrayRepr(Bytes({"abcdef"}, {1}, 2)), "array([b'ab'], dtype='|S2')");
  EXPECT_EQ(RecordArrayRepr(Bytes({"q"}, {})), "array(b'q', dtype='|S1')");
  EXPECT_EQ(RecordArrayRepr(Bytes({}, {2, 0}, 3)), "array([], shape=(2, 0), dtype='|S3')");
  EXPECT_EQ(BytesArray({"a", "b"}, {3}).status().message(),
            "bytes array: 2 items do not fill the shape (3,)");
}

TEST(Bytes, LongArraysWrapAsNumPysReprDoes) {
  RecordArray a = Bytes(std::vector<std::string>(12, "abcdefgh"), {12});
  EXPECT_EQ(RecordArrayRepr(a),
            "array([b'abcdefgh', b'abcdefgh', b'abcdefgh', b'abcdefgh', b'abcdefgh',\n"
            "       b'abcdefgh', b'abcdefgh', b'abcdefgh', b'abcdefgh', b'abcdefgh',\n"
            "       b'abcdefgh', b'abcdefgh'], dtype='|S8')");
  RecordArray b = Bytes({"x", "yy", "x", "yy"}, {2, 2});
  EXPECT_EQ(RecordArrayRepr(b),
            "array([[b'x', b'yy'],\n"
            "       [b'x', b'yy']], dtype='|S2')");
}

TEST(Bytes, ComparisonsPadTheShorterWithNulsAndBroadcast) {
  RecordArray a = Bytes({"a", "ab", "b", "", "\xff"}, {5});
  RecordArray b = Bytes({"ab"}, {});  // 0-d: broadcasts
  EXPECT_EQ(Bools(*CompareBytes(Comparison::kEqual, a, b)),
            (std::vector<bool>{false, true, false, false, false}));
  EXPECT_EQ(Bools(*CompareBytes(Comparison::kLess, a, b)),
            (std::vector<bool>{true, false, false, true, false}));  // unsigned: \xff is last
  EXPECT_EQ(Bools(*CompareBytes(Comparison::kGreaterEqual, a, b)),
            (std::vector<bool>{false, true, true, false, true}));
  // b'a' in S1 equals b'a' stored in S3 (b'a\0\0'); a NUL inside is a byte.
  RecordArray wide = Bytes({"a", "a\0b"s}, {2}, 3);
  RecordArray narrow = Bytes({"a"}, {1});
  EXPECT_EQ(Bools(*CompareBytes(Comparison::kEqual, wide, narrow)),
            (std::vector<bool>{true, false}));
  EXPECT_EQ(Bools(*CompareBytes(Comparison::kGreater, wide, narrow)),
            (std::vector<bool>{false, true}));
  // (2, 1) against (3,): an outer comparison of shape (2, 3).
  RecordArray col = Bytes({"b", "c"}, {2, 1});
  RecordArray row = Bytes({"a", "b", "c"}, {3});
  NDArray le = *CompareBytes(Comparison::kLessEqual, col, row);
  EXPECT_EQ(le.shape(), Shape({2, 3}));
  EXPECT_EQ(Bools(le), (std::vector<bool>{false, true, true, false, false, true}));
  // A strided view compares in place.
  RecordArray every_other = *a.Index({Slice{std::nullopt, std::nullopt, 2}});
  EXPECT_EQ(Bools(*CompareBytes(Comparison::kNotEqual, every_other, b)),
            (std::vector<bool>{true, true, true}));
}

TEST(Bytes, ContainsFindsTheNeedleWithoutTrailingNuls) {
  RecordArray hay = Bytes({"abckkk", "adef", "xyz", "x11abcp", "za", "abc"}, {6});
  RecordArray needles = Bytes({"abc", "def", "aterr", "oot", "zu", "ab"}, {6});
  EXPECT_EQ(Bools(*ContainsBytes(hay, needles)),
            (std::vector<bool>{true, true, false, false, false, true}));
  // An empty needle (all NULs in its width) is in every item, empty ones too.
  EXPECT_EQ(Bools(*ContainsBytes(Bytes({"abc", ""}, {2}), Bytes({""}, {}, 4))),
            (std::vector<bool>{true, true}));
  // A NUL inside an item is a byte like any other.
  EXPECT_EQ(Bools(*ContainsBytes(Bytes({"a\0b"s}, {1}), Bytes({"\0b"s, "ab"}, {2}))),
            (std::vector<bool>{true, false}));
  EXPECT_EQ(ContainsBytes(hay, Bytes({"a", "b"}, {2})).status().message(),
            "contains: operands could not be broadcast together with shapes (6,) (2,)");
}

TEST(Bytes, ComparisonsRefuseRecordsAndMismatchedShapes) {
  RecordArray rec = *RecordArray::Zeros({2}, *RecordType::Make({{"x", {DType::kFloat32}}}));
  RecordArray a = Bytes({"a", "b"}, {2});
  EXPECT_EQ(
      CompareBytes(Comparison::kEqual, a, rec).status().message(),
      "bytes comparison ==: expected an array of bytes, not records of dtype([('x', '<f4')])");
  EXPECT_EQ(CompareBytes(Comparison::kLess, a, Bytes({"a", "b", "c"}, {3})).status().message(),
            "bytes comparison <: operands could not be broadcast together with shapes (2,) (3,)");
}

TEST(Bytes, NpyFilesAreNumPysByteForByte) {
  RecordArray a = Bytes({"ab", "c\0d"s}, {2}, 4);
  const std::string file = *NpyBytes(a);
  // What np.save writes for np.array([b'ab', b'c\x00d'], dtype='S4').
  const std::string header =
      "\x93NUMPY\x01\x00v\x00{'descr': '|S4', 'fortran_order': False, 'shape': (2,), }"s;
  ASSERT_EQ(file.size(), 128u + 8u);
  EXPECT_EQ(file.substr(0, header.size()), header);
  EXPECT_EQ(file.substr(127), "\nab\0\0c\0d\0"s);
  RecordArray back = *RecordsFromNpyBytes(file);
  EXPECT_TRUE(*back.type() == *a.type());
  EXPECT_EQ(Bools(*CompareBytes(Comparison::kEqual, back, a)), (std::vector<bool>{true, true}));
  EXPECT_EQ(NpyFromBytes(file).status().message(),
            "npy: the file holds bytes of dtype('S4'): load it as a record array");
  // A view saves its items only, in C order.
  RecordArray view = *Bytes({"1", "2", "3", "4"}, {2, 2}).Index({Slice{}, int64_t{1}});
  EXPECT_EQ(RecordArrayRepr(*RecordsFromNpyBytes(*NpyBytes(view))),
            "array([b'2', b'4'], dtype='|S1')");
}

TEST(Bytes, RecordsHoldBytesFields) {
  RecordTypePtr t = *RecordTypeFromDescr("[('name', '|S3'), ('x', '<f4')]");
  EXPECT_EQ(t->itemsize(), 7);
  EXPECT_EQ(t->Descr(), "[('name', '|S3'), ('x', '<f4')]");
  EXPECT_EQ(t->Repr(), "dtype([('name', 'S3'), ('x', '<f4')])");
  RecordArray rec = *RecordArray::Zeros({2}, t);
  RecordArray names = *rec.Records("name");
  EXPECT_TRUE(names.type()->is_bytes());
  names.data()[names.strides()[0]] = 'z';
  EXPECT_EQ(RecordArrayRepr(rec),
            "array([(b'', 0.), (b'z', 0.)], dtype=[('name', 'S3'), ('x', '<f4')])");
  EXPECT_EQ(RecordArrayRepr(*RecordsFromNpyBytes(*NpyBytes(rec))), RecordArrayRepr(rec));
}

}  // namespace
}  // namespace ndjit
