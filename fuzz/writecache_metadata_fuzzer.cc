// libFuzzer target: the write-back cache's metadata decoders (engine/writecache/format.h)
// and the `powercut inspect --format writecache` report built on them
// (inspect/writecache_report.h). The input is a metadata area, superblock first.
//
// Any bytes must parse or be rejected with a status, never crash or over-read. A parsed
// area must encode back (superblock fields, then every entry) to the bytes it came
// from and parse again to the same values; the inspect checks must accept exactly what
// ParseMetadata accepts; the report must succeed on it and its counts must add up.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "engine/writecache/format.h"
#include "inspect/writecache_report.h"

namespace wc = powercut::writecache;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  const absl::StatusOr<wc::ParsedMetadata> parsed = wc::ParseMetadata(bytes);
  const absl::StatusOr<wc::Geometry> geometry = powercut::inspect::WriteCacheGeometry(bytes);
  if (!parsed.ok()) {
    // The only thing the inspect checks leave to ParseMetadata is the area's length.
    if (geometry.ok() && bytes.size() >= geometry->metadata_bytes) std::abort();
    return 0;
  }
  if (!geometry.ok() || parsed->entries.size() != parsed->superblock.n_blocks) std::abort();

  // Round trip: encode the decoded values into a fresh area.
  std::vector<std::byte> encoded = wc::FormattedMetadata(*geometry);
  wc::EncodeSuperblock(parsed->superblock, encoded);
  for (uint64_t i = 0; i < parsed->entries.size(); ++i) {
    wc::EncodeEntry(parsed->entries[i],
                    std::span<std::byte>(encoded).subspan(wc::Geometry::EntryOffset(i), wc::kEntryBytes));
  }
  const uint64_t fields_end = wc::kSeqCountOffset + 8;
  const uint64_t entries_end = wc::Geometry::EntryOffset(parsed->entries.size());
  if (!std::equal(encoded.begin(), encoded.begin() + fields_end, bytes.begin()) ||
      !std::equal(encoded.begin() + wc::kSuperblockBytes, encoded.begin() + entries_end,
                  bytes.begin() + wc::kSuperblockBytes)) {
    std::abort();
  }
  const absl::StatusOr<wc::ParsedMetadata> again = wc::ParseMetadata(encoded);
  if (!again.ok() || again->superblock != parsed->superblock || again->entries != parsed->entries) {
    std::abort();
  }

  // The report: an origin size taken from the input, so "past the origin" is exercised.
  const uint64_t origin_sectors = size > 0 ? uint64_t{data[size - 1]} * 64 : 0;
  const powercut::inspect::WriteCacheReportOptions options{.origin_sectors = origin_sectors};
  if (!powercut::inspect::WriteCacheReport("fuzz", bytes, options).ok()) std::abort();
  const powercut::inspect::WriteCacheSummary summary =
      powercut::inspect::SummariseWriteCache(*parsed, bytes, options);
  if (summary.committed + summary.uncommitted + summary.free != parsed->superblock.n_blocks ||
      summary.cached_blocks > summary.committed ||
      summary.duplicates != summary.committed - summary.cached_blocks ||
      summary.past_origin > summary.committed) {
    std::abort();
  }
  return 0;
}
