#include "inspect/writecache_report.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/writecache/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace powercut::inspect {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using writecache::MemoryEntry;

writecache::Superblock Superblock(uint64_t n_blocks, uint64_t seq_count) {
  return {.magic = writecache::kMagic, .version = writecache::kVersion, .block_size = 4096,
          .n_blocks = n_blocks, .seq_count = seq_count};
}

std::string Field(const Report& report, const std::string& name) {
  for (const auto& [field, value] : report.fields) {
    if (field == name) return value;
  }
  return "(absent)";
}

TEST(WriteCacheTally, KeepsTheHighestSeqPerSectorAndFindsEqualOnesInIndexOrder) {
  WriteCacheTally tally(Superblock(5, 10), {}, {});
  tally.Add(0, MemoryEntry{.original_sector = 8, .seq_count = 3});
  tally.Add(1, MemoryEntry{.original_sector = 8, .seq_count = 5});
  tally.Add(2, MemoryEntry{.original_sector = 8, .seq_count = 5});
  tally.Add(3, MemoryEntry{.original_sector = 16, .seq_count = 10});  // not committed
  tally.Add(4, MemoryEntry{});                                         // free
  const WriteCacheSummary summary = tally.Finish();
  EXPECT_EQ(summary.committed, 3u);
  EXPECT_EQ(summary.uncommitted, 1u);
  EXPECT_EQ(summary.free, 1u);
  EXPECT_EQ(summary.cached_blocks, 1u);
  EXPECT_EQ(summary.duplicates, 2u);
  EXPECT_TRUE(summary.equal_seq);
  EXPECT_THAT(summary.problems,
              ::testing::ElementsAre(HasSubstr("entries 1 and 2 are both committed for sector 8")));
}

TEST(WriteCacheTally, RemembersABoundedNumberOfSectorsAndSaysWhatItDidNotCheck) {
  WriteCacheTally tally(Superblock(kMaxTrackedSectors + 3, 2), {}, {});
  for (uint64_t i = 0; i < kMaxTrackedSectors + 2; ++i) {
    tally.Add(i, MemoryEntry{.original_sector = i * 8, .seq_count = 1});
  }
  // A duplicate of an untracked sector goes unseen; one of a tracked sector does not.
  tally.Add(kMaxTrackedSectors + 2, MemoryEntry{.original_sector = 0, .seq_count = 1});
  const WriteCacheSummary summary = tally.Finish();
  EXPECT_EQ(summary.untracked, 2u);
  EXPECT_EQ(summary.cached_blocks, kMaxTrackedSectors + 2);
  EXPECT_EQ(summary.duplicates, 1u);
  EXPECT_TRUE(summary.equal_seq);
}

TEST(WriteCacheReport, ReadsTheEntriesAWindowAtATimeAndNeverPastWhatItAsked) {
  const uint64_t n_blocks = 200000;  // four windows
  absl::StatusOr<writecache::Geometry> geometry = writecache::GeometryFor(n_blocks, 4096);
  ASSERT_TRUE(geometry.ok());
  std::vector<std::byte> area = writecache::FormattedMetadata(*geometry);
  writecache::EncodeSuperblock(Superblock(n_blocks, 7), area);
  writecache::EncodeEntry(MemoryEntry{.original_sector = 64, .seq_count = 6},
                          std::span(area).subspan(writecache::Geometry::EntryOffset(199999), 16));
  uint64_t largest = 0;
  const CacheAreaReader read = [&](uint64_t offset, uint64_t length)
      -> absl::StatusOr<std::vector<std::byte>> {
    largest = std::max(largest, length);
    const uint64_t end = std::min<uint64_t>(offset + length, area.size());
    return std::vector<std::byte>(area.begin() + offset, area.begin() + end);
  };
  absl::StatusOr<Report> report = WriteCacheReport("cache.img", read, {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(Field(*report, "Committed"), "1");
  EXPECT_EQ(Field(*report, "Free"), "199999");
  EXPECT_EQ(Field(*report, "Duplicate Check"), "(absent)");
  EXPECT_LE(largest, uint64_t{1} << 20);

  // The same area cut short: an error naming the entry where it ends.
  area.resize(writecache::Geometry::EntryOffset(150000) + 8);
  absl::StatusOr<Report> short_area = WriteCacheReport("cache.img", read, {});
  ASSERT_FALSE(short_area.ok());
  EXPECT_THAT(short_area.status().message(), HasSubstr("ends in entry 150000 of the 200000"));
}

}  // namespace
}  // namespace powercut::inspect
