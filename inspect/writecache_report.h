// What `powercut inspect --format writecache` prints: a dm-writecache cache-device image
// decoded with the engine's own format code (engine/writecache/format.h) and summarised
// the way `dmsetup status` would show the cache right after the table is loaded.
//
// Contract: every function takes untrusted bytes and never reads past them; anything
// that does not decode is an error status with the reason, never a crash.
//
//   absl::StatusOr<writecache::Geometry> g = WriteCacheGeometry(superblock_bytes);
//   // ... read g->metadata_bytes bytes of the cache area ...
//   absl::StatusOr<Report> r = WriteCacheReport("cache.img", metadata, {.start_sector = 8});
#ifndef POWERCUT_INSPECT_WRITECACHE_REPORT_H_
#define POWERCUT_INSPECT_WRITECACHE_REPORT_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/writecache/format.h"
#include "inspect/md_report.h"

namespace powercut::inspect {

struct WriteCacheReportOptions {
  uint64_t start_sector = 0;                  // where the cache area starts in the image
  std::optional<uint64_t> origin_sectors;     // size of the origin, when known
};

// The geometry the 64-byte superblock at the start of `bytes` describes. InvalidArgument
// with the reason if `bytes` is shorter than a superblock, the cache was never
// formatted (magic zero), or the magic, version, block size or n_blocks are invalid.
absl::StatusOr<writecache::Geometry> WriteCacheGeometry(std::span<const std::byte> bytes);

// Counts over the entries of a parsed metadata area.
struct WriteCacheSummary {
  uint64_t committed = 0;     // seq_count < superblock seq_count
  uint64_t uncommitted = 0;   // neither committed nor free: recovery frees them
  uint64_t free = 0;          // seq_count == 2^64-1
  uint64_t duplicates = 0;    // committed entries superseded by a newer one of their sector
  uint64_t cached_blocks = 0; // sectors with a committed entry: what recovery keeps
  uint64_t past_origin = 0;   // committed entries for blocks past the end of the origin
  bool equal_seq = false;     // two committed entries of one sector with equal seq_count
  std::vector<std::string> problems;
};
WriteCacheSummary SummariseWriteCache(const writecache::ParsedMetadata& metadata,
                                      std::span<const std::byte> raw_superblock,
                                      const WriteCacheReportOptions& options);

// The report for the metadata area `metadata` (superblock first, at least
// metadata_bytes long): InvalidArgument when it does not decode (ParseMetadata).
absl::StatusOr<Report> WriteCacheReport(const std::string& filename,
                                        std::span<const std::byte> metadata,
                                        const WriteCacheReportOptions& options);

}  // namespace powercut::inspect

#endif  // POWERCUT_INSPECT_WRITECACHE_REPORT_H_
