// What `powercut inspect --format writecache` prints: a dm-writecache cache-device image
// decoded with the engine's own format code (engine/writecache/format.h) and summarised
// the way `dmsetup status` would show the cache right after the table is loaded.
//
// Contract: every function takes untrusted bytes and never reads past them; anything
// that does not decode is an error status with the reason, never a crash.
//
//   absl::StatusOr<Report> r = WriteCacheReport("cache.img", read_cache_area, {.start_sector = 8});
//
// Memory: the entries are read in windows and summarised as they come, so a superblock
// claiming 2^31 blocks over a sparse file costs time (the file is read), not memory.
#ifndef POWERCUT_INSPECT_WRITECACHE_REPORT_H_
#define POWERCUT_INSPECT_WRITECACHE_REPORT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
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

// Counts over the entries of a metadata area.
struct WriteCacheSummary {
  uint64_t committed = 0;     // seq_count < superblock seq_count
  uint64_t uncommitted = 0;   // neither committed nor free: recovery frees them
  uint64_t free = 0;          // seq_count == 2^64-1
  uint64_t duplicates = 0;    // committed entries superseded by a newer one of their sector
  uint64_t cached_blocks = 0; // sectors with a committed entry: what recovery keeps
  uint64_t past_origin = 0;   // committed entries for blocks past the end of the origin
  bool equal_seq = false;     // two committed entries of one sector with equal seq_count
  // Committed entries of sectors beyond the first kMaxTrackedSectors distinct ones:
  // counted as cached blocks (so cached_blocks is an upper bound and duplicates a lower
  // bound), not looked at for duplicates or equal seq_counts. Zero on any real cache
  // smaller than 2^22 blocks.
  uint64_t untracked = 0;
  std::vector<std::string> problems;
};

// Distinct committed sectors a summary remembers for duplicates: about 200 MB at most,
// whatever n_blocks the superblock claims.
inline constexpr uint64_t kMaxTrackedSectors = uint64_t{1} << 22;

// Summarises entries fed one at a time, in index order, in memory bounded by
// kMaxTrackedSectors (not by n_blocks): how inspect reads a cache of any size.
class WriteCacheTally {
 public:
  // `raw_superblock`: the superblock's 64 bytes as read (shorter: not checked).
  WriteCacheTally(const writecache::Superblock& superblock,
                  std::span<const std::byte> raw_superblock,
                  const WriteCacheReportOptions& options);
  WriteCacheTally(const WriteCacheTally&) = delete;
  WriteCacheTally& operator=(const WriteCacheTally&) = delete;

  void Add(uint64_t index, const writecache::MemoryEntry& entry);
  WriteCacheSummary Finish();

 private:
  // Problems of one kind: the first few listed, the rest counted (their text never
  // made: a cache of 2^31 duplicates is summarised in seconds).
  struct Problems {
    std::vector<std::string> listed;
    uint64_t dropped = 0;
    template <typename MakeText>
    void Add(MakeText make_text) {
      if (listed.size() < kMaxListed) {
        listed.push_back(make_text());
      } else {
        ++dropped;
      }
    }
    void AppendTo(std::vector<std::string>& out) const;
  };
  static constexpr size_t kMaxListed = 10;
  struct Kept {  // the entry recovery keeps for a sector, so far
    uint64_t seq = 0;
    uint64_t index = 0;
  };

  writecache::Superblock superblock_;
  WriteCacheReportOptions options_;
  WriteCacheSummary summary_;
  absl::btree_map<uint64_t, Kept> kept_;  // by sector
  Problems misaligned_, past_origin_, equal_;
};

// The summary of a parsed metadata area (a WriteCacheTally over its entries).
WriteCacheSummary SummariseWriteCache(const writecache::ParsedMetadata& metadata,
                                      std::span<const std::byte> raw_superblock,
                                      const WriteCacheReportOptions& options);

// Reads `length` bytes at `offset` of the cache area (offset 0: the superblock); fewer
// bytes than asked mean the area ends there.
using CacheAreaReader =
    std::function<absl::StatusOr<std::vector<std::byte>>(uint64_t offset, uint64_t length)>;

// The report for the cache area `read` gives, its entries read and summarised a window
// at a time (memory bounded whatever n_blocks says): InvalidArgument when it does not
// decode (WriteCacheGeometry, or fewer entries than n_blocks); read errors as `read`
// returns them.
absl::StatusOr<Report> WriteCacheReport(const std::string& filename, const CacheAreaReader& read,
                                        const WriteCacheReportOptions& options);

// The same over a metadata area in memory (superblock first, at least metadata_bytes
// long).
absl::StatusOr<Report> WriteCacheReport(const std::string& filename,
                                        std::span<const std::byte> metadata,
                                        const WriteCacheReportOptions& options);

}  // namespace powercut::inspect

#endif  // POWERCUT_INSPECT_WRITECACHE_REPORT_H_
