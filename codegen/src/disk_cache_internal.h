// Internal to codegen/: the JIT's side of the disk cache (disk_cache.h).
#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace ndjit::codegen::disk {

bool Enabled();
// The code generator's build identity (its library's GNU build-id), for keys.
const std::string& BuildId();
// The object code stored under `key`, if a whole, checked entry is there.
std::optional<std::string> Load(absl::string_view key);
// Stores `object` under `key`. Failures are not errors: the cache degrades
// to compiling, with one warning for the process.
void Store(absl::string_view key, absl::string_view object);
// A loaded entry the JIT could not link: counted with the corrupt ones.
void Reject();
// Time spent making a loaded entry callable, for DiskCacheStats::load_ms.
void AddLoadTime(double ms);

}  // namespace ndjit::codegen::disk
