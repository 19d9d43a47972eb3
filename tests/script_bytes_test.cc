// The language's bytes: b'..' literals with Python's escapes, arrays of
// them (NumPy's 'S<n>') made, indexed, compared, copied, saved and loaded,
// and NumPy's errors for what has no loop; unicode is refused clearly.
#include <string>

#include "gtest/gtest.h"
#include "ndjit/script.h"
#include "script_test_util.h"

namespace ndjit::script {
namespace {

TEST(ScriptBytes, LiteralsReadPythonsEscapes) {
  Session s;
  EXPECT_EQ(Line(s, "b'abc'"), "b'abc'");
  EXPECT_EQ(Line(s, R"(b'a\x00b\n\t\\')"), R"(b'a\x00b\n\t\\')");
  EXPECT_EQ(Line(s, R"(b"it's")"), R"(b"it's")");
  EXPECT_EQ(Line(s, R"(b'\101\7770')"), R"(b'A\xff0')");
  EXPECT_EQ(Line(s, R"(b'\q')"), R"(b'\\q')");  // unknown escapes stay as written
  EXPECT_EQ(Line(s, R"('tab\there')"), R"('tab\there')");
  EXPECT_EQ(Line(s, "b'\xc3\xa9'"),
            "error: bytes can only contain ASCII literal characters (column 1)");
  EXPECT_EQ(Line(s, R"(b'\x4')"), "error: truncated \\xXX escape (column 1)");
  EXPECT_EQ(Line(s, "b'x' < b'y', b'x' == b'x'"), "(True, True)");
  // A lambda's body keeps its literals' kinds.
  EXPECT_EQ(Line(s, "f = lambda x: x == b'a'"), "");
  EXPECT_EQ(Line(s, "g = lambda x: x * 2j"), "");
  EXPECT_EQ(Line(s, "f(b'a'), g(1.5)"), "(True, 3j)");
}

TEST(ScriptBytes, ArraysMakeIndexAndPrintAsNumPys) {
  Session s;
  EXPECT_EQ(Line(s, "a = array([[b'ab', b''], [b'c\\x00d', b'e']])"), "");
  EXPECT_EQ(Line(s, "a"),
            "array([[b'ab', b''],\n"
            "       [b'c\\x00d', b'e']], dtype='|S3')");
  EXPECT_EQ(Line(s, "a.shape, a.dtype, a.itemsize, a.strides"), "((2, 2), dtype('S3'), 3, (6, 3))");
  EXPECT_EQ(Line(s, "a.dtype.kind, a.dtype.name, a.dtype.descr"),
            "('S', 'bytes24', \"[('', '|S3')]\")");
  EXPECT_EQ(Line(s, "a[1, 0], a[0, 1]"), "(b'c\\x00d', b'')");
  EXPECT_EQ(Line(s, "a[:, 1]"), "array([b'', b'e'], dtype='|S3')");
  EXPECT_EQ(Line(s, "array([b'abcdef'], dtype='S2'), array(b'q')"),
            "(array([b'ab'], dtype='|S2'), array(b'q', dtype='|S1'))");
  EXPECT_EQ(Line(s, "zeros(2, dtype='S2'), dtype('S4')"),
            "(array([b'', b''], dtype='|S2'), dtype('S4'))");
  EXPECT_EQ(Line(s, "array([b'a', [b'b']])"),
            "error: setting an array element with a sequence. The requested array has an "
            "inhomogeneous shape after 1 dimensions. The detected shape was (2,) + inhomogeneous "
            "part.");
  EXPECT_EQ(Line(s, "array([b'a', 1])"), "error: array(): bytes and int do not mix in one array");
  EXPECT_EQ(Line(s, "array([b'a'], dtype=float32)"),
            "error: array(): bytes cannot be read as dtype('float32')");
  EXPECT_EQ(Line(s, "ones(2, dtype='S2')"), "error: ones() of a bytes dtype: use zeros()");
  EXPECT_EQ(Line(s, "a.T"), "error: bytes array has no attribute 'T'");
}

TEST(ScriptBytes, ComparisonsAndCopies) {
  Session s;
  EXPECT_EQ(Line(s, "a = array([b'foo', b'bar', b'', b'  '])"), "");
  EXPECT_EQ(Line(s, "a >= b'doodoo'"), "array([ True, False, False, False])");
  EXPECT_EQ(Line(s, "a == array([b'foo', b'', b'x', b' '])"),
            "array([ True, False, False, False])");
  EXPECT_EQ(Line(s, "(a == b'') | (a < b'c')"), "array([False,  True,  True,  True])");
  EXPECT_EQ(Line(s, "greater(a, b'bar'), not_equal(b'foo', a)"),
            "(array([ True, False, False, False]), array([False,  True,  True,  True]))");
  EXPECT_EQ(Line(s, "a[:, None] == a[:2]"),
            "array([[ True, False],\n"
            "       [False,  True],\n"
            "       [False, False],\n"
            "       [False, False]])");
  // NumPy 2: == and != with numbers are elementwise; no ordering or arithmetic.
  EXPECT_EQ(Line(s, "a == 1, a != zeros((2, 1))"),
            "(array([False, False, False, False]), array([[ True,  True,  True,  True],\n"
            "       [ True,  True,  True,  True]]))");
  EXPECT_EQ(Line(s, "a < 1"),
            "error: ufunc 'less' did not contain a loop with signature matching types "
            "(dtype('S3'), dtype('int64')) -> None");
  EXPECT_EQ(Line(s, "a + a"),
            "error: ufunc 'add' did not contain a loop with signature matching types "
            "(dtype('S3'), dtype('S3')) -> None");
  EXPECT_EQ(Line(s, "a == array([b'x', b'y'])"),
            "error: bytes comparison ==: operands could not be broadcast together with shapes "
            "(4,) (2,)");
  EXPECT_EQ(Line(s, "contains(a, b'o'), contains(b'a  b', a[3]), contains(b'ab', b'b')"),
            "(array([ True, False, False, False]), True, True)");
  EXPECT_EQ(Line(s, "contains(a, 1)"),
            "error: contains() takes two bytes operands, not (dtype('S3'), dtype('int64'))");
  EXPECT_EQ(Line(s, "c = a[::2].copy()"), "");
  EXPECT_EQ(Line(s, "c, c.strides, copy(a[1:2])"),
            "(array([b'foo', b''], dtype='|S3'), (3,), array([b'bar'], dtype='|S3'))");
}

TEST(ScriptBytes, FilesRoundTripAndUnicodeIsRefused) {
  const std::string dir = ::testing::TempDir();
  Session s;
  EXPECT_EQ(Line(s, "a = array([[b'hello', b'w'], [b'', b'\\x01\\xff']])"), "");
  EXPECT_EQ(Line(s, "save('" + dir + "/bytes.npy', a[:, ::-1])"), "");
  EXPECT_EQ(Line(s, "b = load('" + dir + "/bytes.npy')"), "");
  EXPECT_EQ(Line(s, "b"),
            "array([[b'w', b'hello'],\n"
            "       [b'\\x01\\xff', b'']], dtype='|S5')");
  EXPECT_EQ(Line(s, "b == a[:, ::-1]"), "array([[ True,  True],\n       [ True,  True]])");
  EXPECT_EQ(Line(s, "m = load('" + dir + "/bytes.npy', mmap_mode='r')"), "");
  EXPECT_EQ(Line(s, "m[1, 0]"), "b'\\x01\\xff'");
  // Records with a bytes field.
  EXPECT_EQ(Line(s, "r = zeros(2, dtype=dtype([('name', 'S3'), ('x', '<f4')]))"), "");
  EXPECT_EQ(Line(s, "r"), "array([(b'', 0.), (b'', 0.)], dtype=[('name', 'S3'), ('x', '<f4')])");
  EXPECT_EQ(Line(s, "r['name'] == b''"), "array([ True,  True])");
  EXPECT_EQ(Line(s, "dtype('U5')"),
            "error: dtype(): unicode strings (dtype 'U5') are not supported; bytes strings "
            "('|S5') are");
  EXPECT_EQ(Line(s, "zeros(2, dtype='<U3')"),
            "error: dtype(): unicode strings (dtype '<U3') are not supported; bytes strings "
            "('|S3') are");
}

// `ndjit eval --in` reads a file as the language's load does: bytes too.
TEST(ScriptBytes, EvalReadsBytesFiles) {
  const std::string dir = ::testing::TempDir();
  Session s;
  EXPECT_EQ(Line(s, "save('" + dir + "/cli_bytes.npy', array([b'x', b'yz']))"), "");
  const Result r = Cli("eval \"a == b'x'\" --in a=" + dir + "/cli_bytes.npy");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "array([ True, False])\n");
}

}  // namespace
}  // namespace ndjit::script
