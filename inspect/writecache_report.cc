#include "inspect/writecache_report.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace powercut::inspect {
namespace {

using writecache::kFreeSeq;

// Entries read from the cache area at once (1 MiB).
constexpr uint64_t kWindowEntries = uint64_t{1} << 16;

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

void WriteCacheTally::Problems::AppendTo(std::vector<std::string>& out) const {
  out.insert(out.end(), listed.begin(), listed.end());
  if (dropped > 0) out.push_back(absl::StrCat("... and ", dropped, " more like the above"));
}

WriteCacheTally::WriteCacheTally(const writecache::Superblock& superblock,
                                 std::span<const std::byte> raw_superblock,
                                 const WriteCacheReportOptions& options)
    : superblock_(superblock), options_(options) {
  if (superblock.pad != 0) {
    summary_.problems.push_back(absl::StrCat("superblock pad is ", superblock.pad, ", not 0"));
  }
  if (raw_superblock.size() >= writecache::kSuperblockBytes &&
      std::any_of(raw_superblock.begin() + 32, raw_superblock.begin() + writecache::kSuperblockBytes,
                  [](std::byte b) { return b != std::byte{0}; })) {
    summary_.problems.push_back("superblock bytes 32..63 are not zero");
  }
}

void WriteCacheTally::Add(uint64_t index, const writecache::MemoryEntry& e) {
  if (e.seq_count == kFreeSeq) {
    ++summary_.free;
    return;
  }
  if (e.seq_count >= superblock_.seq_count) {
    ++summary_.uncommitted;
    return;
  }
  ++summary_.committed;
  const uint64_t block_sectors = superblock_.block_size / 512;
  if (e.original_sector % block_sectors != 0) {
    misaligned_.Add([&] {
      return absl::StrCat("entry ", index, " is committed for sector ", e.original_sector,
                          ", not a multiple of the block size (", block_sectors, " sectors)");
    });
  }
  if (options_.origin_sectors && (e.original_sector >= *options_.origin_sectors ||
                                  *options_.origin_sectors - e.original_sector < block_sectors)) {
    ++summary_.past_origin;
    past_origin_.Add([&] {
      return absl::StrCat("entry ", index, " is committed for sector ", e.original_sector,
                          ", past the end of the origin (", *options_.origin_sectors,
                          " sectors): writeback would drop it");
    });
  }
  // Recovery walks the entries in index order and keeps, per sector, the highest seq
  // so far; an entry whose seq equals the one kept is the kernel's "two identical
  // entries" error.
  auto kept = kept_.find(e.original_sector);
  if (kept == kept_.end()) {
    if (kept_.size() < kMaxTrackedSectors) {
      kept_.emplace(e.original_sector, Kept{.seq = e.seq_count, .index = index});
    } else {
      ++summary_.untracked;
    }
    return;
  }
  if (e.seq_count == kept->second.seq) {
    summary_.equal_seq = true;
    equal_.Add([&] {
      return absl::StrCat("entries ", kept->second.index, " and ", index,
                          " are both committed for sector ", e.original_sector, " with seq_count ",
                          e.seq_count, ": recovery sets the error state");
    });
  }
  if (e.seq_count >= kept->second.seq) kept->second = Kept{.seq = e.seq_count, .index = index};
}

WriteCacheSummary WriteCacheTally::Finish() {
  WriteCacheSummary summary = summary_;
  misaligned_.AppendTo(summary.problems);
  past_origin_.AppendTo(summary.problems);
  equal_.AppendTo(summary.problems);
  summary.cached_blocks = kept_.size() + summary.untracked;
  summary.duplicates = summary.committed - summary.cached_blocks;
  return summary;
}

WriteCacheSummary SummariseWriteCache(const writecache::ParsedMetadata& metadata,
                                      std::span<const std::byte> raw_superblock,
                                      const WriteCacheReportOptions& options) {
  WriteCacheTally tally(metadata.superblock, raw_superblock, options);
  for (uint64_t i = 0; i < metadata.entries.size(); ++i) tally.Add(i, metadata.entries[i]);
  return tally.Finish();
}

absl::StatusOr<Report> WriteCacheReport(const std::string& filename,
                                        std::span<const std::byte> metadata,
                                        const WriteCacheReportOptions& options) {
  const CacheAreaReader read = [metadata](uint64_t offset, uint64_t length)
      -> absl::StatusOr<std::vector<std::byte>> {
    if (offset >= metadata.size()) return std::vector<std::byte>();
    const std::span<const std::byte> part =
        metadata.subspan(offset, std::min<uint64_t>(length, metadata.size() - offset));
    return std::vector<std::byte>(part.begin(), part.end());
  };
  return WriteCacheReport(filename, read, options);
}

absl::StatusOr<Report> WriteCacheReport(const std::string& filename, const CacheAreaReader& read,
                                        const WriteCacheReportOptions& options) {
  absl::StatusOr<std::vector<std::byte>> raw = read(0, writecache::kSuperblockBytes);
  if (!raw.ok()) return raw.status();
  absl::StatusOr<writecache::Geometry> geometry = WriteCacheGeometry(*raw);
  if (!geometry.ok()) return geometry.status();
  const writecache::Superblock sb = writecache::DecodeSuperblock(*raw);
  WriteCacheTally tally(sb, *raw, options);
  for (uint64_t first = 0; first < sb.n_blocks; first += kWindowEntries) {
    const uint64_t count = std::min(kWindowEntries, sb.n_blocks - first);
    absl::StatusOr<std::vector<std::byte>> window =
        read(writecache::Geometry::EntryOffset(first), count * writecache::kEntryBytes);
    if (!window.ok()) return window.status();
    if (window->size() < count * writecache::kEntryBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the metadata area ends in entry ", first + window->size() / writecache::kEntryBytes,
          " of the ", sb.n_blocks, " the superblock declares (", geometry->metadata_bytes,
          " bytes needed)"));
    }
    const std::span<const std::byte> entries(*window);
    for (uint64_t i = 0; i < count; ++i) {
      tally.Add(first + i, writecache::DecodeEntry(entries.subspan(i * writecache::kEntryBytes,
                                                                   writecache::kEntryBytes)));
    }
  }
  const WriteCacheSummary summary = tally.Finish();

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
  if (summary.untracked > 0) {
    add("Duplicate Check",
        absl::StrCat("partial: ", summary.untracked, " committed entries of sectors past the first ",
                     kMaxTrackedSectors, " were counted as cached blocks unchecked (Cached Blocks "
                     "is an upper bound, Duplicates a lower bound)"));
  }
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
