// Merging the shards of one campaign: counts add up, groups meet by key with the
// smallest replay kept, the result round-trips through summary.json; shards of
// different campaigns are refused.
#include "tools/powercut/fuzz_merge.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "engine/posix/temp_dir_for_test.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scenario/seeded_scenarios.h"

namespace powercut::tools {
namespace {

using ::testing::HasSubstr;

FuzzSummary Shard(const posix::TempDir& dir, uint32_t shard) {
  FuzzOptions options;
  options.families = {*verifier::FindScenarioFamily("writecache")};
  options.out_dir = dir.File(absl::StrCat("shard-", shard));
  options.corpus_dir = dir.File(absl::StrCat("shard-", shard, "/corpus"));
  options.jobs = 1;
  // A fixed number of seeds, however slow the build or busy the machine.
  options.duration_seconds = 600;
  options.max_seeds = 80;
  options.first_seed = 300;
  options.shard = shard;
  options.shards = 2;
  options.mutant = "wc_sb_no_fua";
  absl::StatusOr<FuzzSummary> summary = RunFuzzCampaign(options, {});
  EXPECT_TRUE(summary.ok()) << summary.status();
  return *summary;
}

TEST(FuzzMerge, TheShardsOfACampaignAddUpAndKeepTheSmallestReplayOfEachGroup) {
  posix::TempDir dir("fuzz_merge_test");
  const FuzzSummary one = Shard(dir, 1);
  const FuzzSummary two = Shard(dir, 2);
  absl::StatusOr<FuzzSummary> merged = MergeFuzzSummaries({one, two}, dir.File("corpus"));
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(FuzzShardName(*merged), "all/2");
  EXPECT_EQ(merged->seeds, one.seeds + two.seeds);
  EXPECT_EQ(merged->failures, one.failures + two.failures);
  EXPECT_EQ(merged->jobs, 2u);
  ASSERT_EQ(merged->families.size(), 1u);
  EXPECT_EQ(merged->families[0].seeds, merged->seeds);
  uint64_t grouped = 0;
  for (const FuzzGroup& g : merged->groups) {
    grouped += g.failures;
    EXPECT_EQ(g.corpus_file, dir.File("corpus/" + g.key + ".replay"));
    EXPECT_TRUE(std::filesystem::exists(g.corpus_file));
  }
  EXPECT_EQ(grouped, merged->failures);
  ASSERT_FALSE(merged->samples.empty());
  EXPECT_EQ(merged->samples.back().seeds, merged->seeds);
  for (size_t k = 0; k < merged->probes.size(); ++k) {
    EXPECT_EQ(merged->probes[k].hits, one.probes[k].hits + two.probes[k].hits);
  }

  absl::StatusOr<FuzzSummary> back = ParseFuzzSummaryJson(FormatFuzzSummaryJson(*merged));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(FormatFuzzSummaryJson(*back), FormatFuzzSummaryJson(*merged));
}

TEST(FuzzMerge, ShardsOfDifferentCampaignsOrTwiceTheSameAreRefused) {
  FuzzSummary a;
  a.first_seed = 1;
  a.shard = 1;
  a.shards = 2;
  FuzzSummary b = a;
  b.shard = 2;
  b.first_seed = 2;
  posix::TempDir dir("fuzz_merge_test");
  EXPECT_THAT(MergeFuzzSummaries({a, b}, dir.File("c")).status().message(), HasSubstr("not from the campaign"));
  EXPECT_THAT(MergeFuzzSummaries({a, a}, dir.File("c")).status().message(), HasSubstr("given twice"));
  EXPECT_FALSE(MergeFuzzSummaries({}, dir.File("c")).ok());
  EXPECT_FALSE(ParseFuzzSummaryJson("{}").ok());
  EXPECT_FALSE(ParseFuzzSummaryJson("[1, 2]").ok());
  EXPECT_FALSE(ParseFuzzSummaryJson("{\"first_seed\": \"x\"}").ok());
}

}  // namespace
}  // namespace powercut::tools
