#include "inspect/writecache_report.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace powercut::inspect {
namespace {

using writecache::kFreeSeq;

// Problems of one kind beyond this many are counted, not listed.
constexpr size_t kMaxListed = 10;

class ProblemList {
 public:
  explicit ProblemList(std::vector<std::string>& out) : out_(out) {}
  ~ProblemList() {
    if (dropped_ > 0) out_.push_back(absl::StrCat("... and ", dropped_, " more like the above"));
  }
  void Add(std::string problem) {
    if (listed_ < kMaxListed) {
      out_.push_back(std::move(problem));
      ++listed_;
    } else {
      ++dropped_;
    }
  }

 private:
  std::vector<std::string>& out_;
  size_t listed_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace

absl::StatusOr<writecache::Geometry> WriteCacheGeometry(std::span<const std::byte> bytes) {
  if (bytes.size() < writecache::kSuperblockBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the image ends ", bytes.size(),
                                                   " bytes into the 64-byte superblock"));
  }
  const writecache::Superblock sb = writecache::DecodeSuperblock(bytes);
  if (sb.magic == 0) {
    return absl::InvalidArgumentError(
        sb.version == 0 ? "magic and version are zero: the cache was never formatted"
                        : "magic is zero: formatting did not finish (the kernel refuses this device)");
  }
  if (sb.magic != writecache::kMagic) {
    return absl::InvalidArgumentError(
        absl::StrFormat("invalid magic 0x%08x (expected 0x%08x)", sb.magic, writecache::kMagic));
  }
  if (sb.version != writecache::kVersion) {
    return absl::InvalidArgumentError(absl::StrCat("invalid version ", sb.version, " (expected ",
                                                   writecache::kVersion, ")"));
  }
  absl::StatusOr<writecache::Geometry> geometry =
      writecache::GeometryFor(sb.n_blocks, sb.block_size);
  if (!geometry.ok()) return absl::InvalidArgumentError(geometry.status().message());
  return geometry;
}

WriteCacheSummary SummariseWriteCache(const writecache::ParsedMetadata& metadata,
                                      std::span<const std::byte> raw_superblock,
                                      const WriteCacheReportOptions& options) {
  WriteCacheSummary summary;
  const writecache::Superblock& sb = metadata.superblock;
  const uint64_t block_sectors = sb.block_size / 512;
  if (sb.pad != 0) summary.problems.push_back(absl::StrCat("superblock pad is ", sb.pad, ", not 0"));
  if (raw_superblock.size() >= writecache::kSuperblockBytes &&
      std::any_of(raw_superblock.begin() + 32, raw_superblock.begin() + writecache::kSuperblockBytes,
                  [](std::byte b) { return b != std::byte{0}; })) {
    summary.problems.push_back("superblock bytes 32..63 are not zero");
  }
  // (sector, index, seq) of every committed entry, for duplicates in recovery's order.
  std::vector<std::tuple<uint64_t, uint64_t, uint64_t>> committed;
  {
    ProblemList misaligned(summary.problems);
    ProblemList past_origin(summary.problems);
    for (uint64_t i = 0; i < metadata.entries.size(); ++i) {
      const writecache::MemoryEntry& e = metadata.entries[i];
      if (e.seq_count == kFreeSeq) {
        ++summary.free;
        continue;
      }
      if (!metadata.IsCommitted(e)) {
        ++summary.uncommitted;
        continue;
      }
      ++summary.committed;
      committed.emplace_back(e.original_sector, i, e.seq_count);
      if (e.original_sector % block_sectors != 0) {
        misaligned.Add(absl::StrCat("entry ", i, " is committed for sector ", e.original_sector,
                                    ", not a multiple of the block size (", block_sectors,
                                    " sectors)"));
      }
      if (options.origin_sectors &&
          (e.original_sector >= *options.origin_sectors ||
           *options.origin_sectors - e.original_sector < block_sectors)) {
        ++summary.past_origin;
        past_origin.Add(absl::StrCat("entry ", i, " is committed for sector ", e.original_sector,
                                     ", past the end of the origin (", *options.origin_sectors,
                                     " sectors): writeback would drop it"));
      }
    }
  }
  // Recovery walks the entries in index order and keeps, per sector, the highest seq
  // so far; an entry whose seq equals the one kept is the kernel's "two identical
  // entries" error.
  std::sort(committed.begin(), committed.end());
  ProblemList equal(summary.problems);
  for (size_t k = 0; k < committed.size();) {
    const uint64_t sector = std::get<0>(committed[k]);
    uint64_t best_seq = std::get<2>(committed[k]);
    uint64_t best_index = std::get<1>(committed[k]);
    ++summary.cached_blocks;
    for (++k; k < committed.size() && std::get<0>(committed[k]) == sector; ++k) {
      const uint64_t index = std::get<1>(committed[k]);
      const uint64_t seq = std::get<2>(committed[k]);
      if (seq == best_seq) {
        summary.equal_seq = true;
        equal.Add(absl::StrCat("entries ", best_index, " and ", index, " are both committed for sector ",
                               sector, " with seq_count ", seq,
                               ": recovery sets the error state"));
      }
      if (seq >= best_seq) {
        best_seq = seq;
        best_index = index;
      }
    }
  }
  summary.duplicates = summary.committed - summary.cached_blocks;
  return summary;
}

absl::StatusOr<Report> WriteCacheReport(const std::string& filename,
                                        std::span<const std::byte> metadata,
                                        const WriteCacheReportOptions& options) {
  absl::StatusOr<writecache::Geometry> geometry = WriteCacheGeometry(metadata);
  if (!geometry.ok()) return geometry.status();
  absl::StatusOr<writecache::ParsedMetadata> parsed = writecache::ParseMetadata(metadata);
  if (!parsed.ok()) return absl::InvalidArgumentError(parsed.status().message());
  const writecache::Superblock& sb = parsed->superblock;
  const WriteCacheSummary summary =
      SummariseWriteCache(*parsed, metadata.first(writecache::kSuperblockBytes), options);

  Report report;
  report.problems = summary.problems;
  auto add = [&report](std::string name, std::string value) {
    report.fields.emplace_back(std::move(name), std::move(value));
  };
  add("Filename", filename);
  add("Start Sector", absl::StrCat(options.start_sector));
  add("Magic", absl::StrFormat("%08x", sb.magic));
  add("Version", absl::StrCat(sb.version));
  add("Block Size", absl::StrCat(sb.block_size, " bytes"));
  add("n_blocks", absl::StrCat(sb.n_blocks));
  add("seq_count", absl::StrCat(sb.seq_count));
  add("Metadata Size", absl::StrCat(geometry->metadata_bytes, " bytes (",
                                    geometry->metadata_sectors(), " sectors)"));
  add("Data Offset", absl::StrCat(options.start_sector + geometry->metadata_sectors(), " sectors"));
  add("Cache Size", absl::StrCat(sb.n_blocks * sb.block_size, " bytes",
                                 HumanSize(sb.n_blocks * sb.block_size)));
  add("Committed", absl::StrCat(summary.committed));
  add("Uncommitted", absl::StrCat(summary.uncommitted, " (freed by recovery)"));
  add("Free", absl::StrCat(summary.free));
  add("Duplicates", absl::StrCat(summary.duplicates, " (older committed versions, freed by recovery)"));
  add("Cached Blocks", absl::StrCat(summary.cached_blocks));
  if (options.origin_sectors) {
    add("Origin Size", absl::StrCat(*options.origin_sectors, " sectors"));
    add("Past Origin", absl::StrCat(summary.past_origin));
  }
  // dm-writecache's status line right after this cache is loaded: recovery keeps one
  // entry per cached block and frees the rest; no block is under writeback yet and the
  // counters (reads ... discards) start at zero.
  const uint64_t free_after = sb.n_blocks - summary.cached_blocks;
  add("error", summary.equal_seq ? "-22" : "0");
  add("free", absl::StrCat(free_after));
  add("writeback", "0");
  add("Status", absl::StrCat(summary.equal_seq ? -22 : 0, " ", sb.n_blocks, " ", free_after,
                             " 0 0 0 0 0 0 0 0 0 0 0"));
  return report;
}

}  // namespace powercut::inspect
