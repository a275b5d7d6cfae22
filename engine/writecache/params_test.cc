#include "engine/writecache/params.h"

#include "gtest/gtest.h"

namespace powercut::writecache {
namespace {

TEST(WriteCacheParams, DefaultsAreTheKernels) {
  absl::StatusOr<Params> ssd = ParseTable("s /dev/origin /dev/ssd 4096 0");
  ASSERT_TRUE(ssd.ok()) << ssd.status();
  EXPECT_EQ(ssd->mode, Mode::kSsd);
  EXPECT_EQ(ssd->block_size, 4096u);
  EXPECT_EQ(ssd->StartSector(), 0u);
  EXPECT_EQ(ssd->HighWatermark(), 50u);
  EXPECT_EQ(ssd->LowWatermark(), 45u);
  EXPECT_EQ(ssd->WritebackJobs(), 0u);
  EXPECT_EQ(ssd->AutocommitBlocks(), 65536u);
  EXPECT_EQ(ssd->AutocommitTimeMs(), 1000u);
  EXPECT_EQ(ssd->PauseWritebackMs(), 3000u);
  EXPECT_FALSE(ssd->max_age_ms.has_value());
  EXPECT_FALSE(ssd->WritebackFua());
  EXPECT_FALSE(ssd->cleaner);

  absl::StatusOr<Params> pmem = ParseTable("p origin pmem 4096");
  ASSERT_TRUE(pmem.ok()) << pmem.status();
  EXPECT_EQ(pmem->AutocommitBlocks(), 64u);
  EXPECT_EQ(pmem->PauseWritebackMs(), 0u);
  EXPECT_TRUE(pmem->WritebackFua());
}

TEST(WriteCacheParams, EveryOptionalArgumentIsParsedAndEchoedBack) {
  const std::string table =
      "s o c 512 18 start_sector 16 high_watermark 60 low_watermark 10 writeback_jobs 4 "
      "autocommit_blocks 8 autocommit_time 20 max_age 5000 cleaner metadata_only "
      "pause_writeback 0";
  absl::StatusOr<Params> p = ParseTable(table);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->block_size, 512u);
  EXPECT_EQ(p->StartSector(), 16u);
  EXPECT_EQ(p->HighWatermark(), 60u);
  EXPECT_EQ(p->LowWatermark(), 10u);
  EXPECT_EQ(p->WritebackJobs(), 4u);
  EXPECT_EQ(p->AutocommitBlocks(), 8u);
  EXPECT_EQ(p->AutocommitTimeMs(), 20u);
  EXPECT_EQ(*p->max_age_ms, 5000u);
  EXPECT_TRUE(p->cleaner);
  EXPECT_TRUE(p->metadata_only);
  EXPECT_EQ(p->PauseWritebackMs(), 0u);
  EXPECT_EQ(FormatTable(*p), table);
  // And the echo parses to the same parameters.
  absl::StatusOr<Params> again = ParseTable(FormatTable(*p));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(FormatTable(*again), table);
}

TEST(WriteCacheParams, TableStatusShowsOnlyWhatWasGiven) {
  EXPECT_EQ(FormatTable(*ParseTable("s a b 4096")), "s a b 4096 0");
  EXPECT_EQ(FormatTable(*ParseTable("p a b 4096 1 nofua")), "p a b 4096 1 nofua");
  EXPECT_EQ(FormatTable(*ParseTable("S a b 4096 2 MAX_AGE 7")), "s a b 4096 2 max_age 7");
}

TEST(WriteCacheParams, BadParametersAreRejectedWithTheReason) {
  struct Case {
    const char* table;
    const char* reason;
  };
  const Case cases[] = {
      {"", "Bad arguments"},
      {"x o c 4096", "Bad arguments"},
      {"s o c", "Bad arguments"},
      {"s o c 1000", "Invalid block size"},
      {"s o c 8192", "Invalid block size"},
      {"s o c 256", "Invalid block size"},
      {"s o c 4096x", "Invalid block size"},
      {"s o c 4096 19", "Invalid number of feature args"},
      {"s o c 4096 2 cleaner", "Invalid number of feature args"},
      {"s o c 4096 1 start_sector", "Invalid optional argument"},
      {"s o c 4096 2 high_watermark 101", "Invalid optional argument"},
      {"s o c 4096 2 low_watermark -1", "Invalid optional argument"},
      {"s o c 4096 2 autocommit_time 3600001", "Invalid optional argument"},
      {"s o c 4096 2 max_age 86400001", "Invalid optional argument"},
      {"s o c 4096 2 pause_writeback 60001", "Invalid optional argument"},
      {"p o c 4096 2 pause_writeback 10", "Invalid optional argument"},
      {"s o c 4096 1 fua", "Invalid optional argument"},
      {"s o c 4096 1 nofua", "Invalid optional argument"},
      {"s o c 4096 1 bogus", "Invalid optional argument"},
      {"s o c 4096 2 writeback_jobs many", "Invalid optional argument"},
      {"s o c 4096 4 high_watermark 40 low_watermark 41",
       "High watermark must be greater than or equal to low watermark"},
      {"s o c 4096 0 extra", "Bad arguments"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Params> p = ParseTable(c.table);
    ASSERT_FALSE(p.ok()) << "accepted: " << c.table;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << c.table;
    EXPECT_NE(p.status().message().find(c.reason), std::string_view::npos)
        << c.table << " -> " << p.status();
  }
}

TEST(WriteCacheParams, ValidateAppliesTheSameRulesToCodeBuiltParameters) {
  Params p;
  EXPECT_TRUE(Validate(p).ok());
  p.block_size = 3000;
  EXPECT_FALSE(Validate(p).ok());
  p.block_size = 512;
  p.low_watermark = 60;
  EXPECT_FALSE(Validate(p).ok());  // above the default high watermark of 50
  p.high_watermark = 60;
  EXPECT_TRUE(Validate(p).ok());
  p.fua = true;
  EXPECT_FALSE(Validate(p).ok());
  p.mode = Mode::kPmem;
  EXPECT_TRUE(Validate(p).ok());
}

}  // namespace
}  // namespace powercut::writecache
