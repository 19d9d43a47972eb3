// .npy files from arbitrary bytes: the header parser, the in-memory readers
// of plain and record arrays, and the same bytes opened from a file, read
// whole and memory-mapped. Whatever loads must hold its elements where its
// shape and strides say (every element is read, under ASan) and print.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "fuzz_util.h"
#include "ndjit/runtime/ndarray.h"
#include "ndjit/runtime/npy.h"
#include "ndjit/runtime/record.h"

namespace {

// Reads every element (ASan checks each address) and prints small arrays.
void Touch(const ndjit::NDArray& a) {
  if (a.size() > (1 << 16)) return;
  volatile uint8_t sink = 0;
  ndjit::NDArray c = *a.Copy();
  for (int64_t i = 0; i < c.nbytes(); ++i) sink = sink ^ static_cast<uint8_t>(c.data()[i]);
  if (a.size() <= 64) (void)ndjit::ArrayRepr(a);
}

void Touch(const ndjit::RecordArray& a) {
  if (a.size() <= 64 && a.size() * ndjit::fuzz::Printed(*a.type()) <= 1e5) {
    (void)ndjit::RecordArrayRepr(a);
  }
}

// One scratch file per process: libFuzzer runs inputs one after another.
const std::string& ScratchPath() {
  static const std::string path = "/tmp/ndjit_npy_fuzzer_" + std::to_string(getpid()) + ".npy";
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)ndjit::ParseNpyHeader(bytes);
  if (auto a = ndjit::NpyFromBytes(bytes); a.ok()) Touch(*a);
  if (auto r = ndjit::RecordsFromNpyBytes(bytes); r.ok()) Touch(*r);
  const std::string& path = ScratchPath();
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    if (auto a = ndjit::LoadNpy(path); a.ok()) Touch(*a);
    if (auto a = ndjit::OpenNpyMemmap(path, ndjit::MmapMode::kReadOnly); a.ok()) Touch(*a);
    if (auto a = ndjit::OpenNpyMemmap(path, ndjit::MmapMode::kCopyOnWrite); a.ok()) Touch(*a);
    if (auto r = ndjit::OpenRecordNpyMemmap(path, ndjit::MmapMode::kReadOnly); r.ok()) Touch(*r);
    std::remove(path.c_str());
  }
  return 0;
}
