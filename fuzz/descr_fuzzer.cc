// Record dtype descriptors ('descr' as .npy headers spell it) from arbitrary
// text: whatever parses must describe itself, print, and round-trip through
// its own descr to an equal type, and an array of it must be made and print.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_util.h"
#include "ndjit/runtime/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ndjit::RecordTypePtr> type = ndjit::RecordTypeFromDescr(text);
  if (!type.ok()) return 0;
  const std::string descr = (*type)->Descr();
  (void)(*type)->Repr();
  (void)(*type)->ArraySpec();
  absl::StatusOr<ndjit::RecordTypePtr> again = ndjit::RecordTypeFromDescr(descr);
  if (!again.ok() || !(**again == **type)) std::abort();  // a descr it wrote must read back
  if ((*type)->itemsize() <= (1 << 16) && ndjit::fuzz::Printed(**type) <= 1e5) {
    if (auto a = ndjit::RecordArray::Zeros({3}, *type); a.ok()) (void)ndjit::RecordArrayRepr(*a);
  }
  return 0;
}
