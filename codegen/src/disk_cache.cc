// The disk cache's files (see ndjit/codegen/disk_cache.h). An entry is
//
//   "NDJITOB1" | key length | object length | checksum   (little-endian u64s)
//   key bytes | object bytes
//
// in <dir>/<16 hex digits of the key's hash>.obj. Two keys sharing a hash
// share a file name: the stored key tells them apart, and the newer
// replaces the older.
#include "ndjit/codegen/disk_cache.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "disk_cache_internal.h"

namespace ndjit::codegen {
namespace {

constexpr char kMagic[8] = {'N', 'D', 'J', 'I', 'T', 'O', 'B', '1'};
constexpr size_t kHeaderBytes = 32;
constexpr absl::string_view kSuffix = ".obj";
constexpr absl::string_view kTempPrefix = ".tmp-";
constexpr int64_t kDefaultLimit = int64_t{512} << 20;
constexpr int64_t kMaxEntryBytes = int64_t{64} << 20;

uint64_t Fnv(absl::string_view s, uint64_t h = 1469598103934665603ull) {
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h;
}

// A checksum of the key and the object, 8 bytes a step: entries are tens of
// kilobytes and are checked on every load.
uint64_t Checksum(absl::string_view key, absl::string_view object) {
  uint64_t h = Fnv(key) ^ (object.size() * 0x9e3779b97f4a7c15ull);
  size_t i = 0;
  for (; i + 8 <= object.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, object.data() + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
  }
  return Fnv(object.substr(i), h);
}

void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> 8 * i));
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << 8 * i;
  return v;
}

bool IsEntry(absl::string_view name) {
  return name.size() > kSuffix.size() && name.substr(name.size() - kSuffix.size()) == kSuffix &&
         name[0] != '.';
}

struct State {
  std::mutex mu;
  bool resolved = false;  // the fields below are set (from the environment or Configure)
  bool enabled = false;
  bool writable = true;  // false after a failed write: no more attempts
  std::string dir, why_off;
  int64_t limit = kDefaultLimit;
  int64_t approx_bytes = -1;  // the entries' total as last counted plus writes since; -1 unknown
  DiskCacheStats stats;
};
State& GetState() {
  static State* s = new State;  // never destroyed: kernels may compile during exit
  return *s;
}

// Fills in the directory and bound from the environment. Holds s.mu.
void ResolveLocked(State& s) {
  if (s.resolved) return;
  s.resolved = true;
  s.enabled = false;
  s.writable = true;
  s.approx_bytes = -1;
  s.limit = kDefaultLimit;
  if (const char* mb = std::getenv("NDJIT_CACHE_MAX_MB")) {
    int64_t v = 0;
    if (absl::SimpleAtoi(mb, &v) && v > 0) s.limit = v << 20;
  }
  if (const char* d = std::getenv("NDJIT_CACHE_DIR"); d != nullptr && *d != '\0') {
    s.dir = d;
  } else if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x == '/') {
    s.dir = absl::StrCat(x, "/ndjit");
  } else if (const char* h = std::getenv("HOME"); h != nullptr && *h == '/') {
    s.dir = absl::StrCat(h, "/.cache/ndjit");
  } else {
    s.why_off = "no NDJIT_CACHE_DIR, XDG_CACHE_HOME or HOME to put it in";
    return;
  }
  if (const char* on = std::getenv("NDJIT_CACHE"); on != nullptr && std::strcmp(on, "0") == 0) {
    s.why_off = "NDJIT_CACHE=0";
    return;
  }
  s.enabled = true;
}

std::string EntryPath(const State& s, absl::string_view key) {
  return absl::StrFormat("%s/%016x%s", s.dir, Fnv(key), kSuffix);
}

// mkdir -p.
bool MakeDirs(const std::string& dir) {
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i < dir.size() && dir[i] != '/') continue;
    const std::string prefix = dir.substr(0, i);
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return false;
  }
  struct stat st;
  return stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

struct Listed {
  std::string name;
  int64_t bytes;
  timespec mtime;
};
// The directory's entries and (when `temps`) stray temporaries.
std::vector<Listed> List(const std::string& dir, bool temps) {
  std::vector<Listed> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = readdir(d)) {
    const absl::string_view name = e->d_name;
    const bool temp = absl::string_view(name).substr(0, kTempPrefix.size()) == kTempPrefix;
    if (!IsEntry(name) && !(temps && temp)) continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
      continue;
    }
    out.push_back({std::string(name), static_cast<int64_t>(st.st_size), st.st_mtim});
  }
  closedir(d);
  return out;
}

bool Older(const Listed& a, const Listed& b) {
  return a.mtime.tv_sec != b.mtime.tv_sec ? a.mtime.tv_sec < b.mtime.tv_sec
                                          : a.mtime.tv_nsec < b.mtime.tv_nsec;
}

// Counts the entries and, past the bound, removes the least recently used
// down to 90% of it (so that the next writes do not each count again).
// Temporaries a crashed writer left over an hour ago go too. Holds s.mu.
void EnforceLimitLocked(State& s) {
  std::vector<Listed> all = List(s.dir, /*temps=*/true);
  const time_t now = std::time(nullptr);
  int64_t total = 0;
  std::vector<Listed> entries;
  for (Listed& l : all) {
    if (IsEntry(l.name)) {
      total += l.bytes;
      entries.push_back(std::move(l));
    } else if (now - l.mtime.tv_sec > 3600) {
      unlink(absl::StrCat(s.dir, "/", l.name).c_str());
    }
  }
  if (total > s.limit) {
    std::sort(entries.begin(), entries.end(), Older);
    for (const Listed& l : entries) {
      if (total <= s.limit / 10 * 9) break;
      if (unlink(absl::StrCat(s.dir, "/", l.name).c_str()) == 0) {
        total -= l.bytes;
        ++s.stats.evicted;
      }
    }
  }
  s.approx_bytes = total;
}

void WarnOnce(State& s, const std::string& what) {
  if (!s.writable) return;
  s.writable = false;
  std::fprintf(stderr,
               "ndjit: warning: the kernel disk cache at %s cannot be written (%s); kernels are "
               "compiled without it for the rest of this process\n",
               s.dir.c_str(), what.c_str());
}

bool WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

namespace disk {

namespace {
// The GNU build-id of the library holding this code: a rebuilt code
// generator (lowering, math library) has a new one, so its kernels never
// load an older build's objects. Without one, the library file's identity.
int FindBuildId(dl_phdr_info* info, size_t, void* out) {
  const auto here = reinterpret_cast<uintptr_t>(&FindBuildId);
  bool mine = false;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    const uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    mine |= ph.p_type == PT_LOAD && here >= begin && here < begin + ph.p_memsz;
  }
  if (!mine) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
    const char* end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
      const char* name = p + sizeof(ElfW(Nhdr));
      const char* desc = name + ((note->n_namesz + 3) & ~3u);
      if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
          std::memcmp(name, "GNU", 4) == 0 && desc + note->n_descsz <= end) {
        std::string& id = *static_cast<std::string*>(out);
        for (uint32_t b = 0; b < note->n_descsz; ++b) {
          absl::StrAppend(&id, absl::Hex(static_cast<uint8_t>(desc[b]), absl::kZeroPad2));
        }
        return 1;
      }
      p = desc + ((note->n_descsz + 3) & ~3u);
    }
  }
  std::string& id = *static_cast<std::string*>(out);
  struct stat st;
  if (info->dlpi_name != nullptr && stat(info->dlpi_name, &st) == 0) {
    id = absl::StrCat(info->dlpi_name, " ", st.st_size, " ", st.st_mtim.tv_sec, ".",
                      st.st_mtim.tv_nsec);
  }
  return 1;
}

}  // namespace

const std::string& BuildId() {
  static const std::string id = [] {
    std::string out;
    dl_iterate_phdr(&FindBuildId, &out);
    return out.empty() ? std::string("unknown build ") + __DATE__ + " " + __TIME__ : out;
  }();
  return id;
}

bool Enabled() {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  ResolveLocked(s);
  return s.enabled;
}

std::optional<std::string> Load(absl::string_view key) {
  State& s = GetState();
  std::string path;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    ResolveLocked(s);
    if (!s.enabled) return std::nullopt;
    path = EntryPath(s, key);
  }
  auto result = [&](bool hit, bool bad) {
    std::lock_guard<std::mutex> lock(s.mu);
    ++(hit ? s.stats.hits : s.stats.misses);
    if (bad) ++s.stats.rejected;
  };
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    result(false, false);
    return std::nullopt;
  }
  struct stat st;
  std::string data;
  // No kernel's entry comes near the cap: a file past it is not one.
  bool read_ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= kMaxEntryBytes;
  if (read_ok) {
    data.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < data.size()) {
      const ssize_t n = read(fd, data.data() + got, data.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    read_ok = got == data.size();
  }
  // A hit is a use: the least recently used entries are evicted first.
  if (read_ok) futimens(fd, nullptr);
  close(fd);
  const bool whole = read_ok && data.size() >= kHeaderBytes &&
                     std::memcmp(data.data(), kMagic, sizeof kMagic) == 0 &&
                     GetU64(data.data() + 8) == key.size() &&
                     GetU64(data.data() + 16) == data.size() - kHeaderBytes - key.size();
  if (!whole || absl::string_view(data).substr(kHeaderBytes, key.size()) != key) {
    // Truncated or corrupt, or another key's (a shared hash): a miss, and
    // the compiled kernel's entry replaces it.
    result(false, true);
    return std::nullopt;
  }
  const absl::string_view object = absl::string_view(data).substr(kHeaderBytes + key.size());
  if (Checksum(key, object) != GetU64(data.data() + 24)) {
    result(false, true);
    return std::nullopt;
  }
  result(true, false);
  return std::string(object);
}

void Store(absl::string_view key, absl::string_view object) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  ResolveLocked(s);
  if (!s.enabled || !s.writable) return;
  if (!MakeDirs(s.dir)) {
    WarnOnce(s, absl::StrCat("cannot create the directory: ", std::strerror(errno)));
    return;
  }
  std::string entry(kMagic, sizeof kMagic);
  PutU64(entry, key.size());
  PutU64(entry, object.size());
  PutU64(entry, Checksum(key, object));
  entry.append(key.data(), key.size());
  entry.append(object.data(), object.size());
  // A name no other writer uses; the rename is atomic, so readers and other
  // writers of the same entry see one whole file or the other.
  static std::atomic<uint64_t> counter{0};
  const std::string temp = absl::StrCat(s.dir, "/", kTempPrefix, getpid(), "-",
                                        counter.fetch_add(1), "-", Fnv(key) & 0xffff);
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    WarnOnce(s, std::strerror(errno));
    return;
  }
  const bool ok = WriteAll(fd, entry) && fsync(fd) == 0;
  const int saved = errno;
  if (close(fd) != 0 || !ok || rename(temp.c_str(), EntryPath(s, key).c_str()) != 0) {
    WarnOnce(s, std::strerror(ok ? errno : saved));
    unlink(temp.c_str());
    return;
  }
  ++s.stats.stores;
  if (s.approx_bytes < 0) {
    EnforceLimitLocked(s);
  } else if ((s.approx_bytes += static_cast<int64_t>(entry.size())) > s.limit) {
    EnforceLimitLocked(s);
  }
}

void Reject() {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  ++s.stats.rejected;
  --s.stats.hits;
  ++s.stats.misses;
}

void AddLoadTime(double ms) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.stats.load_ms += ms;
}

}  // namespace disk

DiskCacheInfo InspectDiskCache() {
  State& s = GetState();
  DiskCacheInfo info;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    ResolveLocked(s);
    info.enabled = s.enabled;
    info.dir = s.dir;
    info.why_off = s.why_off;
    info.limit_bytes = s.limit;
  }
  if (info.dir.empty()) return info;
  std::vector<Listed> entries = List(info.dir, /*temps=*/false);
  std::sort(entries.begin(), entries.end(),
            [](const Listed& a, const Listed& b) { return Older(b, a); });
  const time_t now = std::time(nullptr);
  for (const Listed& l : entries) {
    info.bytes += l.bytes;
    info.entries.push_back({l.name, l.bytes, std::max<int64_t>(0, now - l.mtime.tv_sec)});
  }
  return info;
}

absl::StatusOr<int64_t> ClearDiskCache() {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  ResolveLocked(s);
  if (s.dir.empty()) return absl::FailedPreconditionError(absl::StrCat("cache clear: ", s.why_off));
  int64_t removed = 0;
  for (const Listed& l : List(s.dir, /*temps=*/true)) {
    const std::string path = absl::StrCat(s.dir, "/", l.name);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return absl::PermissionDeniedError(
          absl::StrCat("cache clear: cannot remove ", path, ": ", std::strerror(errno)));
    }
    removed += IsEntry(l.name) ? 1 : 0;
  }
  s.approx_bytes = 0;
  return removed;
}

DiskCacheStats GetDiskCacheStats() {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.stats;
}

void ConfigureDiskCache(const std::string& dir, int64_t limit_bytes, bool enabled) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.resolved = false;
  ResolveLocked(s);
  if (!dir.empty()) {
    s.dir = dir;
    s.why_off.clear();
    s.enabled = true;
  }
  if (!enabled) {
    s.enabled = false;
    s.why_off = "turned off by ConfigureDiskCache";
  }
  if (limit_bytes > 0) s.limit = limit_bytes;
}

}  // namespace ndjit::codegen
