// The ndjit language and the `ndjit` binary: statements and their printouts
// (golden texts), syntax errors with carets, a scripted session through
// `ndjit run`, `ndjit eval` round trips through .npy files, and a must-fail
// set that checks exit statuses and the one-line `error:` message.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "ndjit/codegen/gemm.h"
#include "ndjit/ndjit.h"
#include "ndjit/script.h"
#include "script_test_util.h"
#include "signatures.h"  // script/src: the builtins' table, for the coverage test
#include "test_util.h"
#include "value.h"

namespace ndjit::script {
namespace {

std::string Exec(Session& s, const std::string& line) {
  absl::StatusOr<std::string> out = s.Execute(line);
  return out.ok() ? *out : ErrorDisplay(line, out.status());
}

TEST(ScriptTest, ExpressionsFollowNumPy) {
  Session s;
  EXPECT_EQ(Exec(s, "x = arange(12).reshape(3, 4)"), "");
  EXPECT_EQ(Exec(s, "x.shape"), "(3, 4)\n");
  EXPECT_EQ(Exec(s, "x.dtype"), "dtype('int64')\n");
  EXPECT_EQ(Exec(s, "x.strides, x.T.strides, x[:, ::2].strides"), "((32, 8), (8, 32), (32, 16))\n");
  EXPECT_EQ(Exec(s, "ascontiguousarray(x.T).strides"), "(24, 8)\n");
  EXPECT_EQ(Exec(s, "x[1:, ::-1]"), "array([[ 7,  6,  5,  4],\n       [11, 10,  9,  8]])\n");
  EXPECT_EQ(Exec(s, "x[None, ..., 2]"), "array([[ 2,  6, 10]])\n");
  EXPECT_EQ(Exec(s, "x.T[0]"), "array([0, 4, 8])\n");
  EXPECT_EQ(Exec(s, "x.sum(axis=1)"), "array([ 6, 22, 38])\n");
  EXPECT_EQ(Exec(s, "np.max(x, 0, keepdims=True)"), "array([[ 8,  9, 10, 11]])\n");
  EXPECT_EQ(Exec(s, "(x > 5).sum()"), "array(6)\n");
  EXPECT_EQ(Exec(s, "transpose(x, (1, 0)).shape"), "(4, 3)\n");
  EXPECT_EQ(Exec(s, "x.astype(float32)[0] / 2"), "array([0. , 0.5, 1. , 1.5], dtype=float32)\n");
  EXPECT_EQ(Exec(s, "where(x % 2 == 0, x, -1)[0]"), "array([ 0, -1,  2, -1])\n");
  // Python numbers in where() take the values' dtype, not the condition's
  // (NEP 50): float32 and uint8 stay; with no array value they are int64.
  EXPECT_EQ(Exec(s, "f = x.astype(float32)"), "");
  EXPECT_EQ(Exec(s, "where(f != 0.0, 2, f).dtype"), "dtype('float32')\n");
  EXPECT_EQ(Exec(s, "where(x.astype(uint8) > 2, x.astype(uint8), 7).dtype"), "dtype('uint8')\n");
  EXPECT_EQ(Exec(s, "where(x > 2, 1, 0).dtype"), "dtype('int64')\n");
  EXPECT_EQ(Exec(s, "where(f > 2, 1.5, 0)[0]"), "array([0. , 0. , 0. , 1.5])\n");
  EXPECT_EQ(Exec(s, "2 ** 10, 7 // -2, -7 % 3, 1 / 4"), "(1024, -4, 2, 0.25)\n");
  EXPECT_EQ(Exec(s, "~True, -3 << 2"), "(False, -12)\n");
  EXPECT_EQ(Exec(s, "linspace(0, 1, 5)"), "array([0.  , 0.25, 0.5 , 0.75, 1.  ])\n");
  // arange: exact in int64 beyond 2**53, NumPy's errors for lengths it cannot have.
  EXPECT_EQ(Exec(s, "arange(2**62, 2**62 + 4) - 2**62"), "array([0, 1, 2, 3])\n");
  EXPECT_EQ(Exec(s, "arange(2**53, 2**53 + 3)[2] - 2**53"), "array(2)\n");
  EXPECT_EQ(Exec(s, "arange(10, 0, -3), arange(5, 1).shape, arange(-7, 2, 4)"),
            "(array([10,  7,  4,  1]), (0,), array([-7, -3,  1]))\n");
  EXPECT_EQ(Exec(s, "arange(inf)"), "error: Maximum allowed size exceeded");
  EXPECT_EQ(Exec(s, "arange(0.0, nan)"), "error: arange: cannot compute length");
  EXPECT_EQ(Exec(s, "arange(1e300)"), "error: Maximum allowed size exceeded");
  EXPECT_EQ(Exec(s, "arange(0.5, 2.0, 0.5)"), "array([0.5, 1. , 1.5])\n");
  EXPECT_EQ(Exec(s, "eye(2)"), "array([[1., 0.],\n       [0., 1.]])\n");
  EXPECT_EQ(Exec(s, "zeros((2, 2), dtype=int32).dtype"), "dtype('int32')\n");
  EXPECT_EQ(Exec(s, "random.rand(3, seed=1).shape"), "(3,)\n");
  EXPECT_EQ(Exec(s, "argmax(x[:, ::-1], axis=1)"), "array([0, 0, 0])\n");
  // out= writes into an existing array (a view too), NumPy's casting rules.
  EXPECT_EQ(Exec(s, "c = zeros((3, 4))"), "");
  EXPECT_EQ(Exec(s, "add(x, 1, out=c[:, :2])"),
            "error: non-broadcastable output operand with shape (3,2) doesn't match the "
            "broadcast shape (3,4)");
  EXPECT_EQ(Exec(s, "multiply(x, 2, out=c)[1]"), "array([ 8., 10., 12., 14.])\n");
  EXPECT_EQ(Exec(s, "c[0]"), "array([0., 2., 4., 6.])\n");
  EXPECT_EQ(Exec(s, "negative(x[0], out=c[1])"), "array([ 0., -1., -2., -3.])\n");
  EXPECT_EQ(Exec(s, "c[1, 3]"), "array(-3.)\n");
  EXPECT_EQ(Exec(s, "add(c, 0.5, out=x)"),
            "error: Cannot cast ufunc output from dtype('float64') to dtype('int64') with "
            "casting rule 'same_kind'");
  EXPECT_EQ(Exec(s, "add(x, 1, out=3)"), "error: out must be an array, not int");
  // Random arrays from a Philox generator are lazy and fuse.
  EXPECT_EQ(Exec(s, "rng = random.default_rng(3)"), "");
  EXPECT_EQ(Exec(s, "u = rng.random((1000, 3), dtype=float32)"), "");
  EXPECT_EQ(Exec(s, "((u >= 0) & (u < 1)).all()"), "array(True)\n");
  EXPECT_EQ(Exec(s, "(random.default_rng(3).random((1000, 3), dtype=float32) == u).all()"),
            "array(True)\n");
  EXPECT_EQ(Exec(s, "(rng.random((1000, 3), dtype=float32) == u).all()"), "array(False)\n");
  EXPECT_EQ(Exec(s, "k = rng.integers(6, size=10000)"), "");
  EXPECT_EQ(Exec(s, "k.min(), k.max(), k.dtype"), "(array(0), array(5), dtype('int64'))\n");
  EXPECT_EQ(Exec(s, ":fused (rng.uniform(-1, 1, 5000) ** 2 < 0.25).sum()").substr(0, 60),
            "kernel 0: computes sum i64[1]; reads 1 array(s) and 6 scalar");
  EXPECT_EQ(Exec(s, "rng.choice(3)"), "error: 'Generator' object has no attribute 'choice'");
  // Contractions.
  EXPECT_EQ(Exec(s, "x @ x.T"),
            "array([[ 14,  38,  62],\n       [ 38, 126, 214],\n"
            "       [ 62, 214, 366]])\n");
  EXPECT_EQ(Exec(s, "einsum('ij,ij->i', x, x)"), "array([ 14, 126, 366])\n");
  EXPECT_EQ(Exec(s, "einsum('ii', x[:, :3]), trace(x), trace(x, 1)"),
            "(array(15), array(15), array(18))\n");
  EXPECT_EQ(Exec(s, "np.tensordot(x, x, axes=((0, 1), (0, 1))), vdot(x, x), x[0].dot(x[1])"),
            "(array(506), array(506), array(38))\n");
  EXPECT_EQ(Exec(s, "outer(x[0], x[1, :2])"),
            "array([[ 0,  0],\n       [ 4,  5],\n"
            "       [ 8, 10],\n       [12, 15]])\n");
  EXPECT_EQ(Exec(s, "np.linalg.multi_dot((x, x.T, x)).shape"), "(3, 4)\n");
}

TEST(ScriptTest, WritesDoNotReachValuesBuiltBefore) {
  Session s;
  EXPECT_EQ(Exec(s, "x = array(arange(5.))"), "");
  EXPECT_EQ(Exec(s, "y = x * 2"), "");
  EXPECT_EQ(Exec(s, "t = sum(x)"), "");
  EXPECT_EQ(Exec(s, "add(x, 1, out=x)"),
            "# computed 2 lazy values reading the written array before the write\n"
            "array([1., 2., 3., 4., 5.])\n");
  EXPECT_EQ(Exec(s, "y"), "array([0., 2., 4., 6., 8.])\n");
  EXPECT_EQ(Exec(s, "t"), "array(10.)\n");
  // Nothing else reads x now: the write computes nothing first.
  EXPECT_EQ(Exec(s, "sin(x * 0 + 1, out=x)"),
            "array([0.84147098, 0.84147098, 0.84147098, 0.84147098, 0.84147098])\n");
  EXPECT_EQ(Exec(s, "x * 2 - y"),
            "array([ 1.68294197, -0.31705803, -2.31705803, -4.31705803, -6.31705803])\n");
}

TEST(ScriptTest, ComplexOfTwoPartsIsANumberOrAnArray) {
  Session s;
  EXPECT_EQ(Exec(s, "complex(1, 2.5)"), "(1+2.5j)\n");
  EXPECT_EQ(Exec(s, "array([complex(0, -1), 2])"), "array([0.-1.j, 2.+0.j])\n");
  EXPECT_EQ(Exec(s, "complex(arange(2.), 1)"), "array([0.+1.j, 1.+1.j])\n");
}

TEST(ScriptTest, IndexingWithArraysFollowsNumPy) {
  Session s;
  const std::string cut =
      "# an array index computed its operands (the result's size comes from their values): a "
      "fused graph ends there\n";
  EXPECT_EQ(Exec(s, "a = arange(12).reshape(3, 4)"), "");
  EXPECT_EQ(Exec(s, "a[a % 3 == 0]"), cut + "array([0, 3, 6, 9])\n");
  EXPECT_EQ(Exec(s, "a[[0, 2], 1:3]"), cut + "array([[ 1,  2],\n       [ 9, 10]])\n");
  EXPECT_EQ(Exec(s, "a[:, [1, -1]].sum(axis=0)"), cut + "array([15, 21])\n");
  EXPECT_EQ(Exec(s, "a[[0, 2], [1, 3]]"), cut + "array([ 1, 11])\n");
  EXPECT_EQ(Exec(s, "a[[0, 5]]"), "error: index 5 is out of bounds for axis 0 with size 3");
  EXPECT_EQ(Exec(s, "a[array([True, False])]"),
            "error: boolean index did not match indexed array along dimension 0; dimension is 3 "
            "but corresponding boolean dimension is 2");
  EXPECT_EQ(Exec(s, "a[array([0.5])]"),
            "error: arrays used as indices must be of integer (or boolean) type, not float64");
}

TEST(ScriptTest, ItemAssignmentFollowsNumPy) {
  Session s;
  EXPECT_EQ(Exec(s, "a = arange(6.0)"), "");
  EXPECT_EQ(Exec(s, "r = a * 2"), "");
  // r and the mask read a: both are computed (in one kernel) before the store.
  EXPECT_EQ(Exec(s, "a[a > 2] = 0"),
            "# computed 2 lazy values reading the written array before the write\n");
  EXPECT_EQ(Exec(s, "a"), "array([0., 1., 2., 0., 0., 0.])\n");
  EXPECT_EQ(Exec(s, "r"), "array([ 0.,  2.,  4.,  6.,  8., 10.])\n");
  EXPECT_EQ(Exec(s, "b = arange(6)"), "");
  EXPECT_EQ(Exec(s, "b[[0, 2]] = 7.9"), "");
  EXPECT_EQ(Exec(s, "b[[1, 1]] = array([3, 4])"), "");
  EXPECT_EQ(Exec(s, "b"), "array([7, 4, 7, 3, 4, 5])\n");
  EXPECT_EQ(Exec(s, "c = ones((3, 4))"), "");
  EXPECT_EQ(Exec(s, "c[:, array([True, False, True, False])] = 5"), "");
  EXPECT_EQ(Exec(s, "c[0] = 9"), "");
  EXPECT_EQ(Exec(s, "c[1:, 1] = array([-1, -2])"), "");
  EXPECT_EQ(Exec(s, "c[::2, ::-1] = arange(4.0)"), "");
  EXPECT_EQ(Exec(s, "c"),
            "array([[ 3.,  2.,  1.,  0.],\n       [ 5., -1.,  5.,  1.],\n"
            "       [ 3.,  2.,  1.,  0.]])\n");
  EXPECT_EQ(Exec(s, "d = arange(5)"), "");
  EXPECT_EQ(Exec(s, "d[[0, 1]] = d[::-1][:2]"), "");
  EXPECT_EQ(Exec(s, "d"), "array([4, 3, 2, 3, 4])\n");
  EXPECT_EQ(Exec(s, "d[[0, 9]] = 1"), "error: index 9 is out of bounds for axis 0 with size 5");
  EXPECT_EQ(Exec(s, "d[0] = array([1, 2])"), "error: setting an array element with a sequence.");
  EXPECT_EQ(Exec(s, "d[0:2] = array([1, 2, 3])"),
            "error: could not broadcast input array from shape (3,) into shape (2,)");
  EXPECT_EQ(Exec(s, "d"), "array([4, 3, 2, 3, 4])\n");
  EXPECT_EQ(Exec(s, "n = 3"), "");
  EXPECT_EQ(Exec(s, "n[0] = 1"), "error: '3' does not support item assignment");
  EXPECT_EQ(Exec(s, "1 + 2 = 3"), "  1 + 2 = 3\n        ^\nerror: cannot assign to expression");
  EXPECT_EQ(Exec(s, ":loops d[0] = 1"), "error: the explorer shows expressions, not assignments");
}

TEST(ScriptTest, CallsAreCheckedAgainstPythonSignatures) {
  Session s;
  EXPECT_EQ(Exec(s, "x = arange(6.).reshape(2, 3)"), "");
  EXPECT_EQ(Exec(s, "sum(x, axs=1)"), "error: sum() got an unexpected keyword argument 'axs'");
  EXPECT_EQ(Exec(s, "mean(x, keepdim=True)"),
            "error: mean() got an unexpected keyword argument 'keepdim'");
  EXPECT_EQ(Exec(s, "zeros(3, dtpye=int8)"),
            "error: zeros() got an unexpected keyword argument 'dtpye'");
  EXPECT_EQ(Exec(s, "x.sum(1, 2, 3, 4)"),
            "error: sum() takes from 1 to 2 positional arguments but 5 were given");
  EXPECT_EQ(Exec(s, "eye(2, 3)"), "error: eye() takes 1 positional argument but 2 were given");
  EXPECT_EQ(Exec(s, "sum(x, 1, axis=0)"), "error: sum() got multiple values for argument 'axis'");
  EXPECT_EQ(Exec(s, "add(x1=x, x2=x)"),
            "error: add() got some positional-only arguments passed as keyword arguments: "
            "'x1', 'x2'");
  EXPECT_EQ(Exec(s, "broadcast_to(x)"),
            "error: broadcast_to() missing 1 required positional argument: 'shape'");
  EXPECT_EQ(Exec(s, "random.rand(2, sed=2)"),
            "error: rand() got an unexpected keyword argument 'sed'");
  EXPECT_EQ(Exec(s, "add(x, 1, out=3)"), "error: out must be an array, not int");
  // out= on reductions and contractions writes the array and returns it.
  EXPECT_EQ(Exec(s, "r = zeros(2)"), "");
  EXPECT_EQ(Exec(s, "sum(x, 1, out=r)"), "array([ 3., 12.])\n");
  EXPECT_EQ(Exec(s, "r"), "array([ 3., 12.])\n");
  EXPECT_EQ(Exec(s, "m = zeros((2, 2), dtype=float32)"), "");
  EXPECT_EQ(Exec(s, "matmul(x, x.T, out=m)"),
            "array([[ 5., 14.],\n       [14., 50.]], dtype=float32)\n");
  EXPECT_EQ(Exec(s, "einsum('ij->j', x, out=zeros(3))"), "array([3., 5., 7.])\n");
  EXPECT_EQ(Exec(s, "i = zeros(2, dtype=int8)"), "");
  EXPECT_EQ(Exec(s, "max(x, 1, out=i)"),
            "error: Cannot cast ufunc output from dtype('float64') to dtype('int8') with casting "
            "rule 'same_kind'");
  EXPECT_EQ(Exec(s, "i"), "array([0, 0], dtype=int8)\n");  // untouched
}

TEST(ScriptTest, UfuncAtFollowsNumPy) {
  Session s;
  Exec(s, "a = arange(5)");
  EXPECT_EQ(Exec(s, "add.at(a, array([0, 0, 4]), 10)"), "");
  EXPECT_EQ(Exec(s, "a"), "array([20,  1,  2,  3, 14])\n");
  Exec(s, "b = zeros((2, 3))");
  EXPECT_EQ(Exec(s, "np.add.at(b, (1, [2, 2]), array([1.5, 2.0]))"), "");
  EXPECT_EQ(Exec(s, "b[1]"), "array([0. , 0. , 3.5])\n");
  EXPECT_EQ(Exec(s, "add.at(a, [0], 0.5)"),
            "error: Cannot cast ufunc 'add' output from dtype('float64') to dtype('int64') with "
            "casting rule 'same_kind'");
  EXPECT_EQ(Exec(s, "negative.at(a, [1], 1)"),
            "error: second operand provided when ufunc is unary");
  EXPECT_EQ(Exec(s, "maximum.accumulate(array([1, 3, 2]))"), "array([1, 3, 3])\n");
}

TEST(ScriptTest, ExplorerCommandsRefuseAssignments) {
  Session s;
  for (const char* c : {":time", ":fused", ":program", ":graph"}) {
    EXPECT_EQ(Exec(s, std::string(c) + " a = arange(3.0)"),
              "error: the explorer shows expressions, not assignments");
    EXPECT_EQ(Exec(s, "a"), "error: name 'a' is not defined");
  }
}

TEST(ScriptTest, ArangeFillsItsDTypeDirectly) {
  Session s;
  EXPECT_EQ(Exec(s, "arange(2**62, 2**62 + 3)"),
            "array([4611686018427387904, 4611686018427387905, 4611686018427387906])\n");
  EXPECT_EQ(Exec(s, "arange(0, 1, 0.25, dtype=float32)"),
            "array([0.  , 0.25, 0.5 , 0.75], dtype=float32)\n");
  EXPECT_EQ(Exec(s, "arange(10, 0, -3, dtype=int8)"), "array([10,  7,  4,  1], dtype=int8)\n");
  EXPECT_EQ(Exec(s, "arange(5000.0, dtype=float32)[4097]"), "array(4097., dtype=float32)\n");
  EXPECT_EQ(Exec(s, "arange(2, dtype=bool)"), "array([False,  True])\n");
  EXPECT_EQ(Exec(s, "arange(5, dtype=bool)"),
            "error: arange() is only supported for booleans when the result has at most length 2.");
}

// NumPy's values on x86-64, by the runtime's casts and by kernels alike.
TEST(ScriptTest, FloatToIntCastsAndPositiveFollowNumPy) {
  Session s;
  EXPECT_EQ(Exec(s, "x = array([nan, inf, -inf, 3e9, -3e9, 70000.7, -1.5])"), "");
  const std::string int32 =
      "array([-2147483648, -2147483648, -2147483648, -2147483648, -2147483648,\n"
      "             70000,          -1], dtype=int32)\n";
  EXPECT_EQ(Exec(s, "x.astype(int32)"), int32);
  EXPECT_EQ(Exec(s, "(x * 1).astype(int32)"), int32);
  const std::string uint8 = "array([  0,   0,   0,   0,   0, 112, 255], dtype=uint8)\n";
  EXPECT_EQ(Exec(s, "x.astype(uint8)"), uint8);
  EXPECT_EQ(Exec(s, "(x * 1).astype(uint8)"), uint8);
  EXPECT_EQ(Exec(s, "(x * 1).astype(uint32)"), Exec(s, "x.astype(uint32)"));
  EXPECT_EQ(Exec(s, "(x * 1).astype(int16)"), Exec(s, "x.astype(int16)"));
  EXPECT_EQ(Exec(s, "positive(array([True]))"),
            "error: ufunc 'positive' did not contain a loop with signature matching types "
            "<class 'numpy.dtype[bool_]'> -> None");
  EXPECT_EQ(Exec(s, "+array([1, 2], dtype=int8)"), "array([1, 2], dtype=int8)\n");
}

TEST(ScriptTest, Int64MinIsALiteral) {
  Session s;
  EXPECT_EQ(Exec(s, "-9223372036854775808"), "-9223372036854775808\n");
  EXPECT_EQ(Exec(s, "array([-9223372036854775808, 1])"),
            "array([-9223372036854775808,                    1])\n");
  EXPECT_EQ(Exec(s, "9223372036854775808"),
            "error: integer literal 9223372036854775808 is too large");
  EXPECT_EQ(Exec(s, "-(9223372036854775807 + 1)"),
            "error: integer overflow in 9223372036854775807 + 1");
}

TEST(ScriptTest, ComplexLiteralsAndPythonNumbers) {
  Session s;
  EXPECT_EQ(Exec(s, "1j"), "1j\n");
  EXPECT_EQ(Exec(s, "2+3j"), "(2+3j)\n");
  EXPECT_EQ(Exec(s, "(1.5-2j) * 2"), "(3-4j)\n");
  EXPECT_EQ(Exec(s, "-1j"), "(-0-1j)\n");
  EXPECT_EQ(Exec(s, "1/3"), "0.3333333333333333\n");  // Python's repr, not six digits
  EXPECT_EQ(Exec(s, "0.1 + 0.2"), "0.30000000000000004\n");
  EXPECT_EQ(Exec(s, "1e16"), "1e+16\n");
  EXPECT_EQ(Exec(s, "array([1, 2+1j])"), "array([1.+0.j, 2.+1.j])\n");
  EXPECT_EQ(Exec(s, "x = arange(3.0)"), "");
  EXPECT_EQ(Exec(s, "x * 1j"), "array([0.+0.j, 0.+1.j, 0.+2.j])\n");
  EXPECT_EQ(Exec(s, "(x + (2-1j)).dtype"), "dtype('complex128')\n");
  EXPECT_EQ(Exec(s, "(float32(x) * 1j).dtype"), "dtype('complex64')\n");  // the 1j is weak
  EXPECT_EQ(Exec(s, "x.real"), "array([0., 1., 2.])\n");
  EXPECT_EQ(Exec(s, "x.imag"), "array([0., 0., 0.])\n");
  EXPECT_EQ(Exec(s, "arange(3).imag"), "array([0, 0, 0])\n");
  EXPECT_EQ(Exec(s, "(x * 1j).imag"), "array([0., 1., 2.])\n");
  EXPECT_EQ(Exec(s, "1j < 2"), "error: '<' not supported between instances of 'complex' and 'int'");
  EXPECT_EQ(Exec(s, "(1+1j) // 2"),
            "error: unsupported operand type(s) for //: 'complex' and 'int'");
  EXPECT_EQ(Exec(s, "0j ** -1"), "error: 0.0 to a negative or complex power");
}

// NumPy's complex special cases, in kernels (the second of each pair) and in
// the reference alike.
TEST(ScriptTest, ComplexPowersAndSpecialValuesFollowNumPy) {
  Session s;
  EXPECT_EQ(Exec(s, "z = array([0j, 1+1j, 2-1j])"), "");
  for (const char* form : {"z", "(z * 1)"}) {
    const std::string z(form);
    EXPECT_EQ(Exec(s, z + " ** 3"), "array([ 0. +0.j, -2. +2.j,  2.-11.j])\n");  // +0: products
    EXPECT_EQ(Exec(s, "(" + z + " ** 3)[0]"), "array(0.+0.j)\n");
    EXPECT_EQ(Exec(s, "(" + z + " ** 3)[2]"), "array(2.-11.j)\n");
    EXPECT_EQ(Exec(s, "(" + z + " ** -1)[0]"), "array(nan+nanj)\n");
    EXPECT_EQ(Exec(s, "(" + z + " ** -1)[1]"), "array(0.5-0.5j)\n");
    EXPECT_EQ(Exec(s, "(" + z + " ** -2)[1]"), "array(0.-0.5j)\n");
    EXPECT_EQ(Exec(s, "(" + z + " ** 0)[0]"), "array(1.+0.j)\n");
    EXPECT_EQ(Exec(s, "(" + z + " ** (1+1j))[0]"), "array(nan+nanj)\n");
  }
  EXPECT_EQ(Exec(s, "expm1(array([1e-12+0j]))"), "array([1.e-12+0.j])\n");
  // -0 stays -0 in log1p's imaginary part: the branch cut's lower side.
  EXPECT_EQ(Exec(s, "log1p(conj(array([-2+0j])))"), "array([0.-3.14159265j])\n");
  EXPECT_EQ(Exec(s, "infs = array([inf, -inf, 3.0]).astype(complex128) + array([1j, 2j, 4j])"), "");
  EXPECT_EQ(Exec(s, "sign(infs)[0]"), "array(1.+0.j)\n");
  EXPECT_EQ(Exec(s, "sign(infs)[1]"), "array(-1.+0.j)\n");
  EXPECT_EQ(Exec(s, "sign(infs)[2]"), "array(0.6+0.8j)\n");
  EXPECT_EQ(Exec(s, "sign(infs * 1)"), Exec(s, "sign(infs)"));
}

TEST(ScriptTest, FmodDivmodAndModf) {
  Session s;
  EXPECT_EQ(Exec(s, "fmod(array([5, -5, 5, -5, 7]), array([3, 3, -3, -3, 0]))"),
            "array([ 2, -2,  2, -2,  0])\n");
  EXPECT_EQ(Exec(s, "fmod(array([5.5, -5.5, 1.0]), array([2.0, 2.0, inf]))"),
            "array([ 1.5, -1.5,  1. ])\n");
  EXPECT_EQ(Exec(s, "divmod(-7, 2)"), "(-4, 1)\n");
  const EvalStats before = GetEvalStats();
  EXPECT_EQ(Exec(s, "divmod(arange(-3, 4), 2)"),
            "(array([-2, -1, -1,  0,  0,  1,  1]), array([1, 0, 1, 0, 1, 0, 1]))\n");
  EXPECT_EQ(GetEvalStats().evaluations - before.evaluations, 1);  // both in one
  EXPECT_EQ(Exec(s, "modf(array([-2.5, 2.5]))"), "(array([-0.5,  0.5]), array([-2.,  2.]))\n");
  EXPECT_EQ(Exec(s, "modf(array([3], dtype=int8))[1].dtype"), "dtype('float16')\n");
  EXPECT_EQ(Exec(s, "divmod(1, 2, 3)"),
            "error: divmod() takes 2 positional arguments but 3 were given");
}

// The composite ufuncs against NumPy's values, through kernels; the
// reference evaluator checks each through its parts elsewhere.
TEST(ScriptTest, CompositeUfuncsFollowNumPy) {
  Session s;
  EXPECT_EQ(Exec(s, "degrees(array([0.0, 1.0, pi]))"),
            "array([  0.        ,  57.29577951, 180.        ])\n");
  EXPECT_EQ(Exec(s, "radians(float32(array([180.0])))"), "array([3.1415927], dtype=float32)\n");
  EXPECT_EQ(Exec(s, "rad2deg(array([pi]))"), Exec(s, "degrees(array([pi]))"));
  EXPECT_EQ(Exec(s, "signbit(array([-0.0, 0.0, -1.0, nan, -nan]))"),
            "array([ True, False,  True, False,  True])\n");
  EXPECT_EQ(Exec(s, "logaddexp(array([1.0, 1000.0]), array([2.0, 1000.0]))"),
            "array([   2.31326169, 1000.69314718])\n");
  EXPECT_EQ(Exec(s, "logaddexp(array([-inf]), array([-inf]))"), "array([-inf])\n");
  EXPECT_EQ(Exec(s, "logaddexp2(array([1.0, 3.0]), 2)"), "array([2.5849625, 3.5849625])\n");
  EXPECT_EQ(Exec(s, "heaviside(array([-1.5, 0.0, 2.0]), 0.5)"), "array([0. , 0.5, 1. ])\n");
  EXPECT_EQ(Exec(s, "isnan(heaviside(array([nan]), 0.5))"), "array([ True])\n");
  // float64 whatever the inputs (its only real loop): 2**-1 is no integer error.
  EXPECT_EQ(Exec(s, "float_power(array([2, 4], dtype=int8), -1)"), "array([0.5 , 0.25])\n");
  EXPECT_EQ(Exec(s, "float_power(float32(array([2.0])), 0.5).dtype"), "dtype('float64')\n");
  EXPECT_EQ(Exec(s, "float_power(array([-1.0]), 0.5 + 0j)"), "array([0.+1.j])\n");
  EXPECT_EQ(Exec(s, "bitwise_not(array([1, 2], dtype=uint8))"), "array([254, 253], dtype=uint8)\n");
  // ldexp's exponent is an integer: a Python int there is int64, not weak.
  EXPECT_EQ(Exec(s, "ldexp(float32(array([1.5, -3.0])), 3)"),
            "array([ 12., -24.], dtype=float32)\n");
  EXPECT_EQ(Exec(s, "ldexp(array([1.0]), array([-1075]))"), "array([0.])\n");
  EXPECT_EQ(Exec(s, "ldexp(array([1.0, 1.0]), array([-1074, 1024]))"),
            "array([5.e-324,     inf])\n");
  EXPECT_EQ(Exec(s, "ldexp(array([1], dtype=int8), 2).dtype"), "dtype('float16')\n");
  EXPECT_EQ(Exec(s, "ldexp(array([1.0]), 2.0)"),
            "error: ufunc 'ldexp' not supported for the input types (dtype('float64'), "
            "dtype('float64')), and the inputs could not be safely coerced to any supported types "
            "according to the casting rule ''safe''");
  EXPECT_EQ(Exec(s, "frexp(array([8.0, -0.375, 0.0, inf]))"),
            "(array([ 0.5 , -0.75,  0.  ,   inf]), array([ 4, -1,  0,  0], dtype=int32))\n");
  EXPECT_EQ(Exec(s, "frexp(array([5e-324]))[1]"), "array([-1073], dtype=int32)\n");
  EXPECT_EQ(Exec(s, "nextafter(array([1.0, 0.0]), array([2.0, -1.0]))"),
            "array([ 1.e+000, -5.e-324])\n");
  EXPECT_EQ(Exec(s, "spacing(array([1.0, -1.0, inf]))"),
            "array([ 2.22044605e-16, -2.22044605e-16,             nan])\n");
  EXPECT_EQ(Exec(s, "degrees(array([1], dtype=int8)).dtype"), "dtype('float16')\n");
  EXPECT_EQ(Exec(s, "degrees(array([1j]))"),
            "error: ufunc 'degrees' not supported for the input type complex128 (float16, float32 "
            "and float64 loops only)");
  EXPECT_EQ(Exec(s, "x = arange(3.0)"), "");
  EXPECT_EQ(Exec(s, "full_like(x, 7, dtype=int8)"), "array([7, 7, 7], dtype=int8)\n");
  EXPECT_EQ(Exec(s, "ones_like(x)"), "array([1., 1., 1.])\n");
  EXPECT_EQ(Exec(s, "c = copy(x)"), "");
  EXPECT_EQ(Exec(s, "add(x, 1, out=x)"), "array([1., 2., 3.])\n");
  EXPECT_EQ(Exec(s, "c"), "array([0., 1., 2.])\n");  // its own buffer
}

TEST(ScriptTest, CacheClearGivesMemoryBack) {
  Session s;
  EXPECT_EQ(Exec(s, "x = array(zeros(2**20) + 1)"), "");
  EXPECT_EQ(Exec(s, "x = 0"), "");
  const std::string cleared = Exec(s, ":cache clear");
  EXPECT_NE(cleared.find("MiB cached for reuse"), std::string::npos) << cleared;
  EXPECT_EQ(GetPoolStats().bytes_cached, 0);
  EXPECT_EQ(Exec(s, ":cache junk"), "error: :cache takes nothing or 'clear', not 'junk'");
}

TEST(ScriptTest, EveryBuiltinHasASignature) {
  for (const std::string& name : BuiltinNames()) {
    const Signature* sig = FindSignature(name);
    ASSERT_NE(sig, nullptr) << name;
    EXPECT_EQ(sig->name, name) << sig->ToString();
  }
  EXPECT_EQ(FindSignature("sum")->ToString(),
            "sum(a, axis=..., *, dtype=..., out=..., keepdims=...)");
  EXPECT_EQ(FindSignature("reshape")->ToString(), "reshape(a, /, *args)");
  EXPECT_EQ(FindSignature("sinh")->ToString(), "sinh(x, /, *, out=...)");
}

TEST(ScriptTest, LambdasAndTracedFunctions) {
  Session s;
  EXPECT_EQ(Exec(s, "x = arange(6.0)"), "");
  EXPECT_EQ(Exec(s, "a = 5"), "");
  EXPECT_EQ(Exec(s, "f = lambda a, b: 2 * a + b"), "");
  EXPECT_EQ(Exec(s, "f"), "<function <lambda>>\n");
  EXPECT_EQ(Exec(s, "f(x, 1)"), "array([ 1.,  3.,  5.,  7.,  9., 11.])\n");
  EXPECT_EQ(Exec(s, "f(3, 4)"), "10\n");
  EXPECT_EQ(Exec(s, "a"), "5\n");  // the parameter shadowed it for the call only
  EXPECT_EQ(Exec(s, "(lambda: x[::2])()"), "array([0., 2., 4.])\n");
  EXPECT_EQ(Exec(s, "f(x)"), "error: <lambda>() takes 2 positional argument(s) but 1 were given");
  EXPECT_EQ(Exec(s, "f(x, b=x)"), "error: <lambda>() got an unexpected keyword argument 'b'");
  EXPECT_EQ(Exec(s, "lambda a, a: a"),
            "  lambda a, a: a\n            ^\nerror: duplicate argument in a lambda");
  // jit: traced on the first call per argument layout, replayed after.
  EXPECT_EQ(Exec(s, "k = 1.0"), "");
  EXPECT_EQ(Exec(s, "g = jit(lambda a, b: exp(a - a.max()) / b + k)"), "");
  EXPECT_EQ(Exec(s, "g"), "<jit function <lambda>>\n");
  const std::string first = Exec(s, "g(x, x + 1)");
  EXPECT_EQ(first, Exec(s, "exp(x - x.max()) / (x + 1) + k"));
  EXPECT_EQ(Exec(s, "y = arange(6.0) * 2"), "");
  EXPECT_EQ(Exec(s, "g(y, y + 1)"), Exec(s, "exp(y - y.max()) / (y + 1) + k"));
  // A replay reads the globals as they were traced (as JAX's jit does).
  EXPECT_EQ(Exec(s, "k = 100.0"), "");
  EXPECT_EQ(Exec(s, "g(x, x + 1)"), first);
  // Numbers are not traced: the lambda runs as it is.
  EXPECT_EQ(Exec(s, "jit(lambda a: a * 2 + k)(1.5)"), "103.0\n");
  EXPECT_EQ(Exec(s, "jit(3)"), "error: jit() takes one lambda, as jit(lambda a, b: ...)");
  EXPECT_EQ(Exec(s, "jit(lambda a: a + nope)(x)"), "error: name 'nope' is not defined");
}

TEST(ScriptTest, RecordArraysAndListLiterals) {
  Session s;
  EXPECT_EQ(
      Exec(s, "p = dtype([('t', 'u8'), ('pos', 'f4', (3,)), ('vel', float32, 3)], align=True)"),
      "");
  EXPECT_EQ(Exec(s, "p"),
            "dtype([('t', '<u8'), ('pos', '<f4', (3,)), ('vel', '<f4', (3,))], align=True)\n");
  EXPECT_EQ(Exec(s, "dtype([('a', 'u1'), ('b', 'f8')], align=True)"),
            "dtype({'names': ['a', 'b'], 'formats': ['u1', '<f8'], 'offsets': [0, 8], "
            "'itemsize': 16}, align=True)\n");
  EXPECT_EQ(Exec(s, "rec = zeros(3, dtype=p)"), "");
  EXPECT_EQ(Exec(s, "rec.shape, rec.itemsize, rec['vel'].strides"), "((3,), 32, (32, 4))\n");
  EXPECT_EQ(Exec(s, "p.names, p.itemsize, p.alignment, p.isalignedstruct, p.kind"),
            "(('t', 'pos', 'vel'), 32, 8, True, 'V')\n");
  EXPECT_EQ(Exec(s, "p.fields[2], p.name, float32.itemsize, complex64.alignment"),
            "(('vel', dtype('float32'), 20), 'void256', 4, 4)\n");
  EXPECT_EQ(Exec(s, "float32.names, float32.isalignedstruct"), "(None, False)\n");
  EXPECT_EQ(Exec(s, "float32.shape"), "error: 'numpy.dtype' object has no attribute 'shape'");
  EXPECT_EQ(Exec(s, "add(array([[3, 4, 0], [0, 0, 2], [1, 2, 2]]), 0, out=rec['vel'])[2]"),
            "array([1., 2., 2.], dtype=float32)\n");
  EXPECT_EQ(Exec(s, "v = rec['vel']"), "");
  EXPECT_EQ(Exec(s, "sqrt(v[:, 0]**2 + v[:, 1]**2 + v[:, 2]**2)"),
            "array([5., 2., 3.], dtype=float32)\n");
  EXPECT_EQ(Exec(s, "rec[::2]['vel'][:, 0]"), "array([3., 1.], dtype=float32)\n");
  EXPECT_EQ(Exec(s, "rec[1:2]"),
            "array([(0, [0., 0., 0.], [0., 0., 2.])],\n      dtype={'names': ['t', 'pos', "
            "'vel'], 'formats': ['<u8', ('<f4', (3,)), ('<f4', (3,))], 'offsets': [0, 8, 20], "
            "'itemsize': 32, 'aligned': True})\n");
  EXPECT_EQ(
      Exec(s, "q = zeros(2, dtype=dtype([('id', 'i4'), ('xy', [('x', 'f8'), ('y', 'f8')])]))"), "");
  EXPECT_EQ(Exec(s, "q['xy']['y'].shape, q.itemsize"), "((2,), 20)\n");
  // Errors name the field and the operation.
  EXPECT_EQ(Exec(s, "rec['speed']"),
            "error: no field of name 'speed' (the fields are 't', 'pos', 'vel')");
  EXPECT_EQ(Exec(s, "rec.vel"),
            "error: record array has no attribute 'vel' (fields are read as rec['name'])");
  EXPECT_EQ(Exec(s, "rec + 1"), "error: add(): expected an array or a number, not ndarray");
  EXPECT_EQ(Exec(s, "ones(2, dtype=p)"), "error: ones() of a record dtype: use zeros()");
  EXPECT_EQ(Exec(s, "dtype([('a', 'U5')])"),
            "error: dtype(): field 'a': unicode strings (dtype 'U5') are not supported; bytes "
            "strings ('|S5') are");
  EXPECT_EQ(Exec(s, "dtype([('a', 'f4'), ('a', 'i4')])"),
            "error: dtype(): field 'a' occurs more than once");
  EXPECT_EQ(Exec(s, "dtype([('a',)])"),
            "error: dtype(): a field is a tuple (name, format) or (name, format, shape), not "
            "('a',)");
  EXPECT_EQ(Exec(s, "zeros(2, dtype=int32)['a']"),
            "error: only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and "
            "integer or boolean arrays are valid indices");
  // List literals make arrays as NumPy infers them.
  EXPECT_EQ(Exec(s, "array([[1, 2], [3, 4]])"), "array([[1, 2],\n       [3, 4]])\n");
  EXPECT_EQ(Exec(s, "array([True, False]), array([1, 2.5]), [1, (2, 3)]"),
            "(array([ True, False]), array([1. , 2.5]), [1, (2, 3)])\n");
  EXPECT_EQ(Exec(s, "array([[1, 2], [3]])"),
            "error: array(): setting an array element with a sequence. The requested array has "
            "an inhomogeneous shape after 1 dimensions. The detected shape was (2,) + "
            "inhomogeneous part.");
  EXPECT_EQ(Exec(s, "zeros([2, 3]).shape"), "(2, 3)\n");
}

TEST(ScriptTest, ExplorerShowsAStreamedEvaluation) {
  const int64_t budget = StreamChunkBytes();
  SetStreamChunkBytes(64 << 10);
  Session s;
  const std::string path = ::testing::TempDir() + "ndjit_script_stream.npy";
  EXPECT_EQ(Exec(s, "save('" + path + "', arange(100000, dtype=float32))"), "");
  EXPECT_EQ(Exec(s, "x = load('" + path + "', mmap_mode='r')"), "");
  const std::string fused = Exec(s, ":fused x - x.mean()");
  EXPECT_EQ(fused.substr(0, fused.find('\n')),
            "streamed: 14 chunks in 2 pass(es) along the first axis of the memory-mapped "
            "inputs (chunk budget 65536 bytes); each kernel shown once");
  // Planned before anything runs: two chunk loops around the mean.
  const std::string program = Exec(s, ":program x - x.mean()");
  EXPECT_NE(program.find("  step 0: chunk loop sum over (0) f32[]\n"
                         "    100000 rows, 16384 a chunk (7 chunks, the last of 1696 rows)"),
            std::string::npos)
      << program;
  EXPECT_NE(program.find("  step 2: chunk loop subtract f32[100000]\n"), std::string::npos)
      << program;
  EXPECT_EQ(Exec(s, "(x - x.mean())[[0, 99999]]"),
            "# an array index computed its operands (the result's size comes from their "
            "values): a fused graph ends there\narray([-49999.5,  49999.5], dtype=float32)\n");
  EXPECT_EQ(Exec(s, "take(x - x.mean(), [0, 99999])"),
            "array([-49999.5,  49999.5], dtype=float32)\n");
  SetStreamChunkBytes(budget);
  std::remove(path.c_str());
}

TEST(ScriptTest, SyntaxErrorsPointAtTheirColumn) {
  Session s;
  EXPECT_EQ(Exec(s, "x + * 2"), "  x + * 2\n      ^\nerror: invalid syntax");
  EXPECT_EQ(Exec(s, "f(1, 2"), "  f(1, 2\n        ^\nerror: expected ')' before the end");
  EXPECT_EQ(Exec(s, "a[1:2"), "  a[1:2\n       ^\nerror: expected ']' before the end");
  EXPECT_EQ(Exec(s, "f(x=1, 2)"),
            "  f(x=1, 2)\n         ^\nerror: positional argument follows keyword argument");
  EXPECT_EQ(Exec(s, "1 $ 2"), "  1 $ 2\n    ^\nerror: invalid character '$'");
  EXPECT_EQ(Exec(s, "'abc"), "  'abc\n  ^\nerror: unterminated string literal");
  EXPECT_EQ(Exec(s, "a < b < c"),
            "  a < b < c\n        ^\nerror: chained comparisons are not supported on arrays");
  // Deep nesting and long chains are refused, not a stack overflow.
  const std::string deep = std::string(5000, '(') + "1" + std::string(5000, ')');
  EXPECT_NE(Exec(s, deep).find("error: expression is nested too deeply"), std::string::npos);
  std::string chain = "1";
  for (int i = 0; i < 5000; ++i) chain += " + 1";
  EXPECT_NE(Exec(s, chain).find("error: expression is nested too deeply"), std::string::npos);
  EXPECT_NE(Exec(s, std::string(3000, '-') + "1").find("nested too deeply"), std::string::npos);
  std::string attrs = "x";
  for (int i = 0; i < 5000; ++i) attrs += ".T";
  EXPECT_NE(Exec(s, attrs).find("nested too deeply"), std::string::npos);
  std::string sum200 = "1";
  for (int i = 0; i < 200; ++i) sum200 += " + 1";
  EXPECT_EQ(Exec(s, sum200), "201\n");  // long but reasonable expressions still run
  // The session keeps working after errors.
  EXPECT_EQ(Exec(s, "1 + 1"), "2\n");
}

TEST(ScriptTest, EvaluationErrorsAreNumPys) {
  Session s;
  Exec(s, "x = arange(12).reshape(3, 4)");
  EXPECT_EQ(Exec(s, "y + 1"), "error: name 'y' is not defined");
  EXPECT_EQ(Exec(s, "x.reshape(5, 3)"), "error: cannot reshape array of size 12 into shape (5,3)");
  EXPECT_EQ(Exec(s, "x + arange(5)"),
            "error: operands could not be broadcast together with shapes (3,4) (5,)");
  EXPECT_EQ(Exec(s, "x.sum(axis=2)"), "error: axis 2 is out of bounds for array of dimension 2");
  EXPECT_EQ(Exec(s, "x.foo"), "error: 'numpy.ndarray' object has no attribute 'foo'");
  EXPECT_EQ(Exec(s, "x[0, 0, 0]"),
            "error: too many indices for array: array is 2-dimensional, but 3 were indexed");
  EXPECT_EQ(Exec(s, "max(zeros(0))"),
            "error: zero-size array to reduction operation maximum which has no identity");
  EXPECT_EQ(Exec(s, "einsum('ij,jk->ik', x, x)"),
            "error: einsum(): subscript 'j' has size 4 in operand 0 but 3 in operand 1");
  EXPECT_EQ(Exec(s, "x @ x"),
            "error: matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc "
            "signature (n?,k),(k,m?)->(n?,m?) (size 3 is different from 4)");
  EXPECT_EQ(Exec(s, "np.linalg.inv(x)"), "error: module 'numpy.linalg' has no attribute 'inv'");
  EXPECT_EQ(Exec(s, "einsum('ij', x, optimize='fast')"),
            "error: einsum(): optimize must be True, False, 'greedy' or 'optimal', not 'fast'");
  EXPECT_EQ(Exec(s, "1 // 0"), "error: integer division or modulo by zero");
  // Python's ints are unbounded, these are not: leaving the range is an error.
  EXPECT_EQ(Exec(s, "1 << 70"), "error: integer overflow in 1 << 70");
  EXPECT_EQ(Exec(s, "2 ** 63"), "error: integer overflow in 2 ** 63");
  EXPECT_EQ(Exec(s, "9223372036854775807 + 1"),
            "error: integer overflow in 9223372036854775807 + 1");
  EXPECT_EQ(Exec(s, "-9223372036854775807 - 1 // -1"), "-9223372036854775806\n");
  EXPECT_EQ(Exec(s, "1 >> 99, -8 >> 99, 3 ** 3, 5 << 2"), "(0, -1, 27, 20)\n");
  EXPECT_EQ(Exec(s, "1 << -1"), "error: negative shift count");
  EXPECT_EQ(Exec(s, "zeros((1 << 40, 1 << 30))").rfind("error: ", 0), 0u);
}

// Golden printouts of each stage. Vector widths depend on the host: they
// are masked to "L" before comparing.
std::string MaskLanes(std::string text) {
  text = std::regex_replace(text, std::regex("step \\d+: vector x\\d+"), "step L: vector xL");
  return std::regex_replace(text, std::regex("\\d+x\\d+ tiles"), "LxL tiles");
}

TEST(ScriptTest, StagePrintoutsAreStable) {
  Session s;
  Exec(s, "x = array(arange(12).reshape(3, 4), dtype=float32)");
  EXPECT_EQ(Exec(s, ":graph exp(x - x.max(axis=1, keepdims=True))"),
            "%0 = array f32[3,4] strides (16,4)\n"
            "%1 = max f32[3,1] %0 axis=(1,) keepdims\n"
            "%2 = subtract f32[3,4] %0, %1\n"
            "%3 = exp f32[3,4] %2\n");
  EXPECT_EQ(MaskLanes(Exec(s, ":loops x * 2 + 1")),
            "kernel 0: computes add f32[3,4]; reads 1 array(s) and 2 scalar(s); fuses 2 op(s); "
            "moves 96 bytes\n"
            "  nodes %0 %1 %2 %3 %4\n"
            "kernel(out0 f32 (contiguous), in0 f32 (contiguous), s0 f32, s1 f32)\n"
            "  for i0 in [0, 12) step L: vector xL, masked tail, parallel\n"
            "    %0 = load f32 in0[i0]    # %0\n"
            "    %1 = scalar f32 s0    # %1\n"
            "    %2 = multiply f32 %0, %1    # %2\n"
            "    %3 = scalar f32 s1    # %3\n"
            "    %4 = add f32 %2, %3    # %4\n"
            "    store out0[i0], %4\n");
  // The same names in the LLVM IR: graph node %2 is the value g2.
  EXPECT_NE(Exec(s, ":llvm x * 2 + 1").find("%g2 = fmul"), std::string::npos);
  EXPECT_EQ(Exec(s, ":fused exp(x - x.max(axis=1, keepdims=True)) / 2"),
            "kernel 0: computes max f32[3,1]; reads 1 array(s) and 0 scalar(s); fuses 0 op(s); "
            "moves 60 bytes\n"
            "  nodes %0 %1\n"
            "kernel 1: computes divide f32[3,4]; reads 2 array(s) and 1 scalar(s); fuses 3 "
            "op(s); moves 108 bytes\n"
            "  nodes %0 %1 %2 %3 %4 %5\n");
  const std::string ir = Exec(s, ":llvm x + 1");
  EXPECT_NE(ir.find("define void @kernel"), std::string::npos) << ir;
  EXPECT_NE(Exec(s, ":llvm x + 1 opt").find("fadd"), std::string::npos);
  EXPECT_NE(Exec(s, ":asm x + 1").find("ret"), std::string::npos);
  EXPECT_NE(Exec(s, ":time x + 1").find("fused:"), std::string::npos);
  const std::string dot = ::testing::TempDir() + "/g.dot";
  EXPECT_EQ(Exec(s, ":dot exp(x - x.max(axis=1, keepdims=True)) " + dot),
            "wrote " + dot + " (4 nodes)\n");
  std::stringstream text;
  text << std::ifstream(dot).rdbuf();
  // Each kernel's cluster holds the nodes it computes; inputs stay outside.
  EXPECT_NE(
      text.str().find("  subgraph cluster_0 {\n    label=\"kernel 0\";\n    n1;\n  }\n"
                      "  subgraph cluster_1 {\n    label=\"kernel 1\";\n    n2;\n    n3;\n  }"),
      std::string::npos)
      << text.str();
  // A contraction is a GEMM kernel; elementwise work on its result is its
  // epilogue, run on strips of 48 rows of C; :asm shows the micro-kernel.
  Exec(s, "w = array(arange(64 * 64).reshape(64, 64), dtype=float32)");
  EXPECT_EQ(Exec(s, ":fused maximum(w @ w - 1, 0)"),
            "kernel 0: gemm f32[64,64] \"ab,bc->ac\" as batch 1 x (64 x 64) @ (64 x 64); " +
                codegen::DescribeGemmBlocking(DType::kFloat32) +
                "\n  nodes %1\n  epilogue: kernel 1 runs on each block of C while it is in "
                "cache\nkernel 1: computes maximum f32[64,64]; reads 1 array(s) and 2 scalar(s); "
                "fuses 2 op(s); moves 32768 bytes\n  nodes %1 %2 %3 %4 %5\n");
  EXPECT_NE(Exec(s, ":asm w @ w").find("vfmadd231p"), std::string::npos);
  const std::string path = Exec(s, "einsum_path('ij,jk,kl->il', w, w, w[:, :8])");
  EXPECT_NE(path.find("0     (1,2)   jk,kl->jl"), std::string::npos) << path;
  EXPECT_NE(Exec(s, ":cache").find("kernels compiled:"), std::string::npos);
  EXPECT_EQ(Exec(s, ":nope x"), "error: unknown command :nope (:help lists commands)");
  EXPECT_EQ(Exec(s, ":loops"), "error: :loops needs an expression (:help lists commands)");
}

TEST(ScriptTest, CompletionOffersNamesAndCommands) {
  Session s;
  Exec(s, "value = 3");
  const std::vector<std::string> v = s.Completions("va");
  EXPECT_NE(std::find(v.begin(), v.end(), "value"), v.end());
  EXPECT_NE(std::find(v.begin(), v.end(), "var"), v.end());
  const std::vector<std::string> c = s.Completions(":lo");
  EXPECT_EQ(c, std::vector<std::string>({":loops"}));
}

// --- The binary ----------------------------------------------------------------

TEST(CliTest, RunsAScriptAsASession) {
  const std::string path = ::testing::TempDir() + "/session.ndjit";
  std::ofstream(path) << "# a comment\nx = arange(6)\nx * 2\nx +\nx.sum()\n";
  const Result r = Cli("run '" + path + "'");
  EXPECT_EQ(r.status, 1);  // one statement failed; the others ran
  EXPECT_EQ(r.out,
            "# a comment\n>>> x = arange(6)\n>>> x * 2\narray([ 0,  2,  4,  6,  8, 10])\n"
            ">>> x +\n  x +\n     ^\nerror: unexpected end of input\n>>> x.sum()\narray(15)\n");
}

TEST(CliTest, EvalRoundTripsThroughNpyFiles) {
  const std::string dir = ::testing::TempDir();
  ASSERT_TRUE(SaveNpy(dir + "/a.npy", testing::Iota({2, 3}, DType::kFloat32)).ok());
  ASSERT_TRUE(SaveNpy(dir + "/b.npy", testing::Iota({3}, DType::kFloat32)).ok());
  const Result r = Cli("eval 'a * 2 + b[None, ::-1]' --in a=" + dir + "/a.npy --in b=" + dir +
                       "/b.npy --out " + dir + "/c.npy");
  ASSERT_EQ(r.status, 0) << r.err;
  absl::StatusOr<NDArray> c = LoadNpy(dir + "/c.npy");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->dtype(), DType::kFloat32);
  EXPECT_EQ(testing::Values(*c), std::vector<double>({2, 3, 4, 8, 9, 10}));
  const Result printed = Cli("eval 'a.sum(axis=0)' --in a=" + dir + "/a.npy");
  EXPECT_EQ(printed.status, 0);
  EXPECT_EQ(printed.out, "array([3., 5., 7.], dtype=float32)\n");
}

TEST(CliTest, ProfileEnvPrintsAKernelTableAtExit) {
  const Result r = Cli("eval 'arange(100000.0).sum()'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "") << "no profile unless asked for";
  // The variable goes through the environment, as a user would set it.
  const std::string dir = ::testing::TempDir();
  const int raw =
      std::system((std::string("NDJIT_PROFILE=1 '") + NDJIT_CLI +
                   "' eval 'arange(100000.0).sum()' > /dev/null 2> '" + dir + "/prof.txt'")
                      .c_str());
  ASSERT_TRUE(WIFEXITED(raw) && WEXITSTATUS(raw) == 0);
  std::stringstream text;
  text << std::ifstream(dir + "/prof.txt").rdbuf();
  EXPECT_NE(text.str().find("ndjit profile (NDJIT_PROFILE=1):"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("calls compile ms     run ms      GB/s   GFLOP/s  thr"),
            std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find("fold x1"), std::string::npos) << text.str();
}

TEST(CliTest, CacheListsWhatAnEvaluationStoredAndClearEmptiesIt) {
  const std::string dir = ::testing::TempDir() + "/cli_cache_" + std::to_string(getpid());
  const std::string env = "NDJIT_CACHE_DIR='" + dir + "'";
  const Result eval = Cli("eval 'exp(arange(5.0)) * 2'", env);
  ASSERT_EQ(eval.status, 0) << eval.err;
  const Result list = Cli("cache", env);
  EXPECT_EQ(list.status, 0);
  EXPECT_NE(list.out.find("kernel disk cache: " + dir), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(".obj"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("0 entries"), std::string::npos) << list.out;
  // A second process finds the kernel there and computes the same.
  const Result again = Cli("eval 'exp(arange(5.0)) * 2'", env);
  EXPECT_EQ(again.out, eval.out);
  const Result clear = Cli("cache clear", env);
  EXPECT_EQ(clear.status, 0);
  EXPECT_EQ(clear.out.rfind("removed ", 0), 0u) << clear.out;
  EXPECT_NE(Cli("cache", env).out.find("\n0 entries"), std::string::npos);
  const Result off = Cli("cache", env + " NDJIT_CACHE=0");
  EXPECT_NE(off.out.find("off: NDJIT_CACHE=0"), std::string::npos) << off.out;
  EXPECT_EQ(Cli("cache bogus", env).status, 2);
  // Without NDJIT_CACHE_DIR: $XDG_CACHE_HOME/ndjit, else ~/.cache/ndjit.
  EXPECT_NE(Cli("cache", "env -u NDJIT_CACHE_DIR XDG_CACHE_HOME=/nonexistent/x")
                .out.find("cache: /nonexistent/x/ndjit\n"),
            std::string::npos);
  EXPECT_NE(Cli("cache", "env -u NDJIT_CACHE_DIR -u XDG_CACHE_HOME HOME=/nonexistent/h")
                .out.find("cache: /nonexistent/h/.cache/ndjit\n"),
            std::string::npos);
  std::system(("rm -rf '" + dir + "'").c_str());
}

TEST(CliTest, JitTierFromTheEnvironment) {
  const std::string expr = "eval 'tanh(arange(7.0) / 3) * exp(-arange(7.0))'";
  const Result fast = Cli(expr, "NDJIT_CACHE=0 NDJIT_JIT_TIER=fast");
  const Result opt = Cli(expr, "NDJIT_CACHE=0 NDJIT_JIT_TIER=opt");
  ASSERT_EQ(fast.status, 0) << fast.err;
  EXPECT_EQ(fast.out, opt.out);
  EXPECT_EQ(fast.err, "");
  const Result bad = Cli(expr, "NDJIT_CACHE=0 NDJIT_JIT_TIER=turbo");
  EXPECT_EQ(bad.out, opt.out);
  EXPECT_EQ(bad.err, "ndjit: NDJIT_JIT_TIER='turbo' is not fast, opt or auto; using auto\n");
  const Result profiled = Cli(expr, "NDJIT_CACHE=0 NDJIT_JIT_TIER=opt NDJIT_PROFILE=1");
  EXPECT_NE(profiled.err.find("thr tier      opt ms"), std::string::npos) << profiled.err;
  EXPECT_NE(profiled.err.find(" opt "), std::string::npos) << profiled.err;
  EXPECT_NE(profiled.err.find("jit start-up "), std::string::npos) << profiled.err;
}

TEST(CliTest, BadEnvironmentVariablesWarnOnce) {
  const Result threads = Cli("eval 'arange(4.0) * 2 + arange(4.0)'", "NDJIT_NUM_THREADS=abc");
  EXPECT_EQ(threads.status, 0);
  EXPECT_EQ(threads.out, "array([0., 3., 6., 9.])\n");
  EXPECT_EQ(threads.err,
            "ndjit: NDJIT_NUM_THREADS='abc' is not a thread count from 1 to 1024; using one "
            "thread per available core\n");
  for (const char* n : {"0", "-1"}) {
    const Result r = Cli("eval 'arange(3) + 1'", std::string("NDJIT_NUM_THREADS=") + n);
    EXPECT_EQ(r.out, "array([1, 2, 3])\n");
    EXPECT_NE(r.err.find("is not a thread count"), std::string::npos) << r.err;
  }
  const Result backend = Cli("eval 'sum(arange(4.0)) + sum(arange(2.0))'", "NDJIT_BACKEND=garbage");
  EXPECT_EQ(backend.out, "array(7.)\n");
  EXPECT_EQ(backend.err, "ndjit: NDJIT_BACKEND='garbage' is not 'jit' or 'reference'; using jit\n");
}

TEST(CliTest, BadInputFailsWithOneErrorLine) {
  const std::string dir = ::testing::TempDir();
  ASSERT_TRUE(SaveNpy(dir + "/m.npy", testing::Iota({2, 3}, DType::kFloat64)).ok());
  std::ofstream(dir + "/junk.npy") << "not an npy file";
  const std::vector<std::string> cases = {
      "eval 'm +* 2' --in m=" + dir + "/m.npy",
      "eval 'q + 1'",
      "eval 'm + arange(4)' --in m=" + dir + "/m.npy",
      "eval 'm.reshape(4, 4)' --in m=" + dir + "/m.npy",
      "eval 'm' --in m=" + dir + "/missing.npy",
      "eval 'm' --in m=" + dir + "/junk.npy",
      "eval 'm' --in nonsense",
      "eval 'm' --in",
      "eval 'm * 2' --in m=" + dir + "/m.npy --out /nonexistent/dir/x.npy",
      "eval '(((('",
      "run /nonexistent/script.ndjit",
      "frobnicate",
  };
  for (const std::string& args : cases) {
    const Result r = Cli(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.status, -1) << args << ": crashed";
    if (args == "frobnicate") continue;  // usage text
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
  }
}

}  // namespace
}  // namespace ndjit::script
