#include "ndjit/runtime/npy.h"

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "test_util.h"

namespace ndjit {
namespace {

using testing::Iota;
using testing::Values;
using V = std::vector<double>;
using namespace std::string_literals;

// The header NumPy 1.24 writes, as bytes: the padding counts below were read
// off files written by np.save, not computed by the code under test.
std::string NumPyHeaderV1(char len_lo, const std::string& dict, int spaces) {
  return "\x93NUMPY\x01\x00"s + len_lo + '\0' + dict + std::string(spaces, ' ') + "\n";
}

template <typename T>
std::string Bytes(std::initializer_list<T> values) {
  std::string s;
  for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof v);
  return s;
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/ndjit_npy_test_" + std::to_string(getpid()) + "_" +
         name;
}

TEST(Npy, WritesExactlyWhatNumPyWrites) {
  NDArray a = Iota({3, 4}, DType::kFloat32);
  const std::string expect =
      NumPyHeaderV1('v', "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 58) +
      Bytes<float>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  EXPECT_EQ(*NpyBytes(a), expect);

  // F-contiguous (and not C-contiguous) arrays are written in Fortran order.
  NDArray f = *Iota({2, 3}, DType::kInt16).Copy(Order::kF);
  EXPECT_EQ(*NpyBytes(f),
            NumPyHeaderV1('v', "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3), }", 59) +
                Bytes<int16_t>({0, 3, 1, 4, 2, 5}));

  NDArray s = *NDArray::Zeros({}, DType::kComplex128);
  EXPECT_EQ(*NpyBytes(s),
            NumPyHeaderV1('v', "{'descr': '<c16', 'fortran_order': False, 'shape': (), }", 61) +
                std::string(16, '\0'));

  NDArray e = *NDArray::Zeros({123456789012, 0}, DType::kUInt8);
  EXPECT_EQ(*NpyBytes(e),
            NumPyHeaderV1(
                'v', "{'descr': '|u1', 'fortran_order': False, 'shape': (123456789012, 0), }", 47));

  NDArray many = *NDArray::Zeros(Shape(30, 0), DType::kFloat16);
  std::string dict = "{'descr': '<f2', 'fortran_order': False, 'shape': (0";
  for (int i = 1; i < 30; ++i) dict += ", 0";
  dict += "), }";
  EXPECT_EQ(*NpyBytes(many), NumPyHeaderV1('\xb6', dict, 38));
}

TEST(Npy, NonContiguousArraysAreWrittenInCOrder) {
  NDArray a = Iota({4, 5}, DType::kInt32);
  NDArray v = *a.Index({Slice{{}, {}, -2}, Slice{1, 4, {}}});
  NDArray back = *NpyFromBytes(*NpyBytes(v));
  EXPECT_EQ(back.shape(), v.shape());
  EXPECT_EQ(Values(back), Values(v));
  EXPECT_TRUE(back.IsCContiguous());
}

TEST(Npy, RoundTripsEveryDType) {
  const DType all[] = {DType::kBool,      DType::kInt8,      DType::kInt16,   DType::kInt32,
                       DType::kInt64,     DType::kUInt8,     DType::kUInt16,  DType::kUInt32,
                       DType::kUInt64,    DType::kFloat16,   DType::kFloat32, DType::kFloat64,
                       DType::kComplex64, DType::kComplex128};
  for (DType t : all) {
    NDArray a = *NDArray::Arange(t == DType::kBool ? 2 : 24, t);
    if (t != DType::kBool) a = *a.Reshape({2, 3, 4});
    const std::string bytes = *NpyBytes(a);
    EXPECT_EQ(bytes.size() % 64, static_cast<size_t>(a.nbytes() % 64)) << Name(t);
    NDArray b = *NpyFromBytes(bytes);
    EXPECT_EQ(b.dtype(), t);
    EXPECT_EQ(b.shape(), a.shape());
    EXPECT_EQ(Values(b), Values(a)) << Name(t);
    EXPECT_EQ(*NpyBytes(b), bytes);  // byte for byte
  }
}

TEST(Npy, ReadsBigEndianFortranAndLaterVersions) {
  // Version 2.0: 4-byte header length. Big-endian int32, Fortran order.
  std::string dict = "{'descr': '>i4', 'fortran_order': True, 'shape': (2, 2), }";
  dict += std::string(128 - 12 - dict.size() - 1, ' ') + "\n";
  std::string file = "\x93NUMPY\x02\x00"s + Bytes<uint32_t>({static_cast<uint32_t>(dict.size())}) +
                     dict + "\0\0\0\x01\0\0\0\x02\0\0\0\x03\0\0\x01\0"s;
  NDArray a = *NpyFromBytes(file);
  EXPECT_EQ(a.dtype(), DType::kInt32);
  EXPECT_TRUE(a.IsFContiguous());
  EXPECT_EQ(Values(a), (V{1, 3, 2, 256}));

  // Version 3.0, double quotes, another key order, Python 2 longs, big-endian
  // complex (each half swapped on its own) and float16.
  std::string d3 = "{\"shape\": (2L,), \"fortran_order\": False, \"descr\": \">c8\"}\n";
  std::string f3 = "\x93NUMPY\x03\x00"s + Bytes<uint32_t>({static_cast<uint32_t>(d3.size())}) + d3 +
                   "\x3f\x80\0\0\xc0\0\0\0\0\0\0\0\x40\x40\0\0"s;
  NDArray c = *NpyFromBytes(f3);
  EXPECT_EQ(*c.Item<std::complex<float>>({0}), std::complex<float>(1, -2));
  EXPECT_EQ(*c.Item<std::complex<float>>({1}), std::complex<float>(0, 3));

  std::string dh = "{'descr': '>f2', 'fortran_order': False, 'shape': (1,)}\n";
  NDArray h =
      *NpyFromBytes("\x93NUMPY\x01\x00"s + static_cast<char>(dh.size()) + '\0' + dh + "\x3c\x00"s);
  EXPECT_EQ(*h.Item<double>({0}), 1.0);
}

TEST(Npy, MalformedFilesGiveClearErrors) {
  const std::string good = *NpyBytes(Iota({3, 4}, DType::kFloat32));
  auto error = [](const std::string& bytes) {
    return std::string(NpyFromBytes(bytes).status().message());
  };
  auto with_dict = [](const std::string& dict) {
    return "\x93NUMPY\x01\x00"s + static_cast<char>(dict.size()) + '\0' + dict;
  };
  EXPECT_EQ(error("hello"), "npy header: the magic string \\x93NUMPY is missing: not a .npy file");
  EXPECT_EQ(error("\x93NUMPY\x04\x00\x10\x00"s + std::string(16, ' ')),
            "npy header: unsupported format version 4.0 (1.0, 2.0 and 3.0 are known)");
  EXPECT_EQ(error(good.substr(0, 50)),
            "npy header: file truncated: the header is 118 bytes but only 40 follow");
  EXPECT_EQ(error(good.substr(0, 128 + 20)),
            "npy data: file truncated: shape (3,4) of float32 needs 48 bytes but only 20 follow "
            "the header");
  EXPECT_EQ(error(with_dict("{'descr': '<U5', 'fortran_order': False, 'shape': (3,), }\n")),
            "npy header: unicode strings (dtype '<U5') are not supported; bytes strings ('|S5') "
            "are");
  EXPECT_EQ(error(with_dict("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,)}")),
            "npy: the file holds records of dtype([('a', '<f4')]): load it as a record array");
  EXPECT_EQ(error(with_dict("{'descr': '<f4', 'shape': (3,), }\n")),
            "npy header: the dict must have the keys 'descr', 'fortran_order' and 'shape'");
  EXPECT_EQ(error(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (3, -2), }")),
            "npy header: negative dimensions are not allowed: shape (3,-2)");
  EXPECT_NE(error(with_dict("{'descr': '<f8', 'fortran_order': False, "
                            "'shape': (4611686018427387904, 4), }"))
                .find("array is too big"),
            std::string::npos);
  EXPECT_NE(error(with_dict("{'descr': '<f8', 'fortran_order': False, "
                            "'shape': (99999999999999999999999,), }"))
                .find("does not fit in int64"),
            std::string::npos);
  EXPECT_FALSE(
      NpyFromBytes(with_dict("{'descr': '<f4', 'fortran_order': Maybe, 'shape': ()}")).ok());
  EXPECT_FALSE(
      NpyFromBytes(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (3,")).ok());
  EXPECT_FALSE(NpyFromBytes(with_dict("{'descr': '<f4', 'extra': 1}")).ok());
  EXPECT_FALSE(NpyFromBytes(with_dict("{'descr: '<f4'}")).ok());
  EXPECT_FALSE(NpyFromBytes("").ok());
  // Every prefix of a good file fails cleanly (no crash, no over-read).
  for (size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(NpyFromBytes(good.substr(0, n)).ok()) << n;
}

TEST(Npy, SaveLoadAndMemoryMap) {
  const std::string path = TempPath("mmap.npy");
  NDArray a = Iota({4, 6}, DType::kFloat64);
  ASSERT_TRUE(SaveNpy(path, a.T()).ok());
  NDArray loaded = *LoadNpy(path);
  EXPECT_EQ(Values(loaded), Values(a.T()));

  NDArray ro = *OpenNpyMemmap(path, MmapMode::kReadOnly);
  EXPECT_FALSE(ro.writeable());
  EXPECT_FALSE(ro.buffer()->from_pool());
  EXPECT_TRUE(ro.IsFContiguous());  // a.T was saved in Fortran order, no copy
  EXPECT_EQ(Values(ro), Values(a.T()));
  EXPECT_EQ(ro.SetItem<double>({0, 0}, 1.0).message(), "assignment destination is read-only");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(ro.data()) % 64, 0u);

  NDArray cow = *OpenNpyMemmap(path, MmapMode::kCopyOnWrite);
  ASSERT_TRUE(cow.SetItem<double>({0, 0}, 42.0).ok());
  EXPECT_EQ(*cow.Item<double>({0, 0}), 42.0);
  EXPECT_EQ(*LoadNpy(path)->Item<double>({0, 0}), 0.0);  // the file is unchanged
  EXPECT_EQ(*ro.Item<double>({0, 0}), 0.0);
  std::remove(path.c_str());

  EXPECT_NE(LoadNpy(TempPath("missing.npy")).status().message().find("cannot open"),
            absl::string_view::npos);
  EXPECT_FALSE(OpenNpyMemmap(TempPath("missing.npy"), MmapMode::kReadOnly).ok());
}

TEST(Npy, MemoryMapRejectsBadFiles) {
  const std::string path = TempPath("bad.npy");
  const std::string good = *NpyBytes(Iota({100}, DType::kInt32));
  {
    std::ofstream f(path, std::ios::binary);
    f << good.substr(0, good.size() - 4);
  }
  EXPECT_NE(OpenNpyMemmap(path, MmapMode::kReadOnly).status().message().find("file truncated"),
            absl::string_view::npos);
  { std::ofstream f(path, std::ios::binary | std::ios::trunc); }
  EXPECT_FALSE(OpenNpyMemmap(path, MmapMode::kReadOnly).ok());
  std::string be = "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }\n";
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << "\x93NUMPY\x01\x00"s << static_cast<char>(be.size()) << '\0' << be << std::string(8, '\0');
  }
  EXPECT_NE(OpenNpyMemmap(path, MmapMode::kReadOnly).status().message().find("big-endian"),
            absl::string_view::npos);
  EXPECT_TRUE(LoadNpy(path).ok());  // without mmap, it is byte-swapped
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ndjit

namespace ndjit {
namespace {

// Corrupted files must give an error or a valid array, never a crash or an
// out-of-bounds read (the sanitizer pass runs this too).
TEST(Npy, RandomCorruptionNeverCrashes) {
  const std::string good = *NpyBytes(Iota({3, 5}, DType::kFloat64));
  std::mt19937 rng(99);
  int rejected = 0;
  for (int trial = 0; trial < 5000; ++trial) {
    std::string bytes = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % std::min<size_t>(bytes.size(), 140);  // mostly the header
      bytes[at] = static_cast<char>(rng() % 256);
    }
    if (rng() % 4 == 0) bytes.resize(rng() % bytes.size());
    absl::StatusOr<NDArray> a = NpyFromBytes(bytes);
    if (!a.ok()) {
      ++rejected;
      EXPECT_FALSE(a.status().message().empty());
    } else {
      // Whatever was accepted is a self-consistent array.
      EXPECT_EQ(testing::Values(*a).size(), static_cast<size_t>(a->size()));
    }
  }
  EXPECT_GT(rejected, 1000);
}

// In a child process: a save larger than the file size limit must fail
// with an error naming `path`.
void SaveBeyondTheSizeLimit(const std::string& path) {
  signal(SIGXFSZ, SIG_IGN);
  rlimit small;
  small.rlim_cur = small.rlim_max = 4096;
  setrlimit(RLIMIT_FSIZE, &small);
  const absl::Status s = SaveNpy(path, Iota({100000}, DType::kFloat64));
  std::exit(!s.ok() && s.message().find(path) != absl::string_view::npos ? 0 : 1);
}

// Saving replaces the file whole or not at all: a save that fails (here,
// past the file size limit, as a full disk would) leaves the old file as it
// was, no temporary behind, and an error naming the path.
TEST(Npy, AFailedSaveLeavesTheOldFileIntact) {
  const std::string dir = TempPath("atomic");
  ASSERT_EQ(system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str()), 0);
  const std::string path = dir + "/kept.npy";
  ASSERT_TRUE(SaveNpy(path, Iota({8}, DType::kInt32)).ok());
  EXPECT_EXIT(SaveBeyondTheSizeLimit(path), ::testing::ExitedWithCode(0), "");
  EXPECT_EQ(Values(*LoadNpy(path)), Values(Iota({8}, DType::kInt32)));
  // Only the file itself is in the directory.
  FILE* ls = popen(("ls -A '" + dir + "'").c_str(), "r");
  char names[256] = {};
  const size_t n = fread(names, 1, sizeof names - 1, ls);
  pclose(ls);
  EXPECT_EQ(std::string(names, n), "kept.npy\n");
  // A successful save replaces it.
  ASSERT_TRUE(SaveNpy(path, Iota({3}, DType::kFloat32)).ok());
  EXPECT_EQ(LoadNpy(path)->dtype(), DType::kFloat32);
  EXPECT_NE(SaveNpy(dir + "/no/such/dir.npy", Iota({3})).message().find(dir + "/no/such/dir.npy"),
            absl::string_view::npos);
}

// Loading reads the header, then the data straight into the array: a file
// that is not .npy is refused after its first bytes (/dev/zero would never
// end), a directory with the system's words.
TEST(Npy, LoadReadsTheHeaderFirst) {
  const absl::Status zero = LoadNpy("/dev/zero").status();
  EXPECT_NE(zero.message().find("magic string"), absl::string_view::npos) << zero;
  const absl::Status dir = LoadNpy(::testing::TempDir()).status();
  EXPECT_NE(dir.message().find("Is a directory"), absl::string_view::npos) << dir;
  // A bad version is reported as such, not as a missing magic string.
  const std::string path = TempPath("version.npy");
  {
    std::ofstream f(path, std::ios::binary);
    f << "\x93NUMPY\x07\x00"s << std::string(200, ' ');
  }
  EXPECT_NE(LoadNpy(path).status().message().find("unsupported format version 7.0"),
            absl::string_view::npos)
      << LoadNpy(path).status();
  // A header length near 2**32 is reported as it is (it wrapped in 32 bits
  // once, and the read then ran past its buffer).
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << "\x93NUMPY\x02\x00\xff\xff\xff\xff"s << std::string(20, '{');
  }
  EXPECT_NE(LoadNpy(path).status().message().find("the header is 4294967295 bytes but only 20"),
            absl::string_view::npos)
      << LoadNpy(path).status();
  // Large files come back whole (several reads' worth is not needed here,
  // but the body must be exactly the saved bytes).
  const NDArray big = Iota({1 << 20}, DType::kFloat64);
  ASSERT_TRUE(SaveNpy(path, big).ok());
  EXPECT_EQ(std::memcmp(LoadNpy(path)->data(), big.data(), big.nbytes()), 0);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ndjit
