// The disk cache of compiled kernels: object code kept across processes, so
// a kernel compiled once on this machine is loaded, not compiled, by every
// later process (the REPL, each `ndjit eval`, each Dask worker).
//
// Where: $NDJIT_CACHE_DIR, else $XDG_CACHE_HOME/ndjit, else ~/.cache/ndjit.
// NDJIT_CACHE=0 turns it off; NDJIT_CACHE_MAX_MB bounds it (default 512).
//
// An entry is found by its key: the kernel's structure (KernelSpec::Bytes),
// the target CPU and its features, the LLVM version and the build identity
// of the code generator (its GNU build-id), so a rebuilt ndjit, another CPU
// or another LLVM never loads an entry made for different code. Entries are
// written to a private temporary, flushed and renamed into place, so readers
// and concurrent writers see whole entries only. Each carries its key and a
// checksum: a truncated, corrupt or foreign file is ignored and replaced.
// Past the bound, the least recently used entries go. A directory that
// cannot be written degrades to compiling, with one warning on stderr.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ndjit::codegen {

struct DiskCacheEntry {
  std::string file;  // name within the cache's directory
  int64_t bytes = 0;
  int64_t age_seconds = 0;  // since its last use
};

struct DiskCacheInfo {
  bool enabled = false;
  std::string dir;      // where entries live (set even when disabled, if known)
  std::string why_off;  // when not enabled
  int64_t limit_bytes = 0;
  int64_t bytes = 0;                    // the entries' total
  std::vector<DiskCacheEntry> entries;  // most recently used first
};

// This process's traffic with the cache.
struct DiskCacheStats {
  int64_t hits = 0;      // kernels loaded from disk
  int64_t misses = 0;    // kernels looked up and not found (then compiled)
  int64_t stores = 0;    // entries written
  int64_t rejected = 0;  // entries found unreadable, corrupt or foreign
  int64_t evicted = 0;   // entries removed to keep the bound
  double load_ms = 0;    // reading, checking and linking loaded kernels
};

DiskCacheInfo InspectDiskCache();
// Removes every entry; returns how many.
absl::StatusOr<int64_t> ClearDiskCache();
DiskCacheStats GetDiskCacheStats();

// Points the cache at `dir` with bound `limit_bytes` (tests, tools); an empty
// `dir` or a bound <= 0 takes the environment's choice. `enabled` false
// turns it off.
void ConfigureDiskCache(const std::string& dir, int64_t limit_bytes, bool enabled = true);

}  // namespace ndjit::codegen
