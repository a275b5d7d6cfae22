// powercut fuzz: shards that never overlap, a broken engine's failures grouped and
// shrunk into a corpus that the next night recognises, and seeds that hang or kill
// their worker reported while the campaign goes on.
#include "tools/powercut/fuzz_campaign.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/posix/temp_dir_for_test.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scenario/seeded_scenarios.h"

namespace powercut::tools {
namespace {

using ::testing::HasSubstr;

FuzzOptions Options(const posix::TempDir& dir, const std::string& family) {
  FuzzOptions options;
  options.families = {*verifier::FindScenarioFamily(family)};
  options.out_dir = dir.File("out");
  options.corpus_dir = dir.File("corpus");
  options.jobs = 2;
  // A fixed number of seeds, however slow the build or busy the machine.
  options.duration_seconds = 600;
  options.max_seeds = 80;
  options.first_seed = 1000;
  return options;
}

TEST(FuzzCampaign, ASeedPastTheWorkersMemoryLimitIsAnOutOfMemoryFailureOfItsOwn) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's shadow memory does not run under an address-space limit";
#else
  posix::TempDir dir("fuzz_campaign_test");
  // The limit is far below what the program alone maps. First in this file: a worker
  // inherits its parent's free heap, which after the other campaigns of a whole-binary
  // run holds enough for small seeds (ctest runs each test in a process of its own).
  FuzzOptions options = Options(dir, "writecache-pmem");
  options.worker_memory_bytes = uint64_t{16} << 20;
  absl::StatusOr<FuzzSummary> summary = RunFuzzCampaign(options, {});
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_FALSE(summary->groups.empty());
  for (const FuzzGroup& group : summary->groups) {
    EXPECT_TRUE(group.group == "out of memory" || group.group == "worker died") << group.key;
  }
  EXPECT_GT(summary->failures, 0u);
#endif
}

TEST(FuzzSeedOf, ShardsOfTheSameFirstSeedNeverShareASeedAndCoverTheRange) {
  FuzzOptions options;
  options.families = {*verifier::FindScenarioFamily("linear"), *verifier::FindScenarioFamily("raid1")};
  options.first_seed = 77;
  options.shards = 3;
  std::set<std::pair<size_t, uint64_t>> seen;
  for (uint32_t shard = 1; shard <= 3; ++shard) {
    options.shard = shard;
    for (uint64_t item = 0; item < 600; ++item) {
      EXPECT_TRUE(seen.insert({item % 2, FuzzSeedOf(options, item)}).second) << shard << " " << item;
    }
  }
  for (uint64_t seed = 77; seed < 77 + 900; ++seed) {
    EXPECT_TRUE(seen.contains({0, seed}) && seen.contains({1, seed})) << seed;
  }
}

TEST(ParseDuration, TakesHoursMinutesSecondsAndRefusesTheRest) {
  EXPECT_EQ(*ParseDuration("8h"), 8 * 3600);
  EXPECT_EQ(*ParseDuration("1h30m"), 5400);
  EXPECT_EQ(*ParseDuration("90s"), 90);
  EXPECT_EQ(*ParseDuration("45"), 45);
  for (const char* bad : {"", "h", "5x", "0", "-3m", "1.5h"}) EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
}

TEST(FuzzCampaign, ABrokenEnginesFailuresAreGroupedShrunkAndKnownTheNextNight) {
  posix::TempDir dir("fuzz_campaign_test");
  FuzzOptions options = Options(dir, "writecache");
  options.mutant = "wc_sb_no_fua";
  absl::StatusOr<FuzzSummary> night = RunFuzzCampaign(options, {});
  ASSERT_TRUE(night.ok()) << night.status();
  EXPECT_GT(night->seeds, 0u);
  ASSERT_GT(night->failures, 0u);
  ASSERT_FALSE(night->groups.empty());
  uint64_t grouped = 0;
  for (const FuzzGroup& group : night->groups) {
    grouped += group.failures;
    EXPECT_THAT(group.key, ::testing::StartsWith("writecache--"));
    EXPECT_THAT(group.reproduce, HasSubstr("powercut_with_mutants replay "));
    EXPECT_TRUE(std::filesystem::exists(group.replay)) << group.replay;
    ASSERT_TRUE(std::filesystem::exists(group.corpus_file)) << group.corpus_file;
    EXPECT_EQ(group.corpus_file, dir.File("corpus/" + group.key + ".replay"));
    EXPECT_GT(group.shrunk_ops, 0u);
    EXPECT_LE(group.shrunk_ops, group.original_ops);
    EXPECT_FALSE(group.known);
  }
  EXPECT_EQ(grouped, night->failures);
  // A broken engine fails most seeds; only a few replay files per group are written.
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.File("out/failures"))) {
    files += entry.path().extension() == ".replay" ? 1 : 0;
  }
  EXPECT_LE(files, 3 * options.jobs * night->groups.size());
  std::ifstream summary(night->summary_path);
  std::stringstream text;
  text << summary.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("\"failure_groups\""));

  // The next night, on the same corpus: a group whose file is there is known. (The same
  // seeds again, so that however few seeds a slow build checks, the first failures
  // recur.)
  std::set<std::string> first_night;
  for (const FuzzGroup& group : night->groups) first_night.insert(group.key);
  absl::StatusOr<FuzzSummary> next = RunFuzzCampaign(options, {});
  ASSERT_TRUE(next.ok()) << next.status();
  size_t recurring = 0;
  for (const FuzzGroup& group : next->groups) {
    EXPECT_EQ(group.known, first_night.contains(group.key)) << group.key;
    recurring += first_night.contains(group.key) ? 1 : 0;
  }
  EXPECT_GT(recurring, 0u);
}

TEST(FuzzCampaign, ASeedPastItsTimeLimitIsAHangWithItsReplayFileAndItsWorkerIsReplaced) {
  posix::TempDir dir("fuzz_campaign_test");
  FuzzOptions options = Options(dir, "raid1");
  options.seed_timeout_seconds = 0.001;
  absl::StatusOr<FuzzSummary> summary = RunFuzzCampaign(options, {});
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_EQ(summary->groups.size(), 1u);
  const FuzzGroup& hang = summary->groups[0];
  EXPECT_EQ(hang.key, "raid1--hang-seed-time-limit--run");
  EXPECT_GT(summary->workers_replaced, 1u);
  EXPECT_TRUE(std::filesystem::exists(hang.replay));
  EXPECT_TRUE(std::filesystem::exists(hang.corpus_file));
  EXPECT_THAT(hang.shrink_error, HasSubstr("kept as it is"));
  EXPECT_THAT(hang.first_text, HasSubstr("per-seed limit"));
}

TEST(FuzzCampaign, AWorkerThatDiesIsReplacedAndTheCampaignGoesOn) {
  posix::TempDir dir("fuzz_campaign_test");
  FuzzOptions options = Options(dir, "linear");
  options.duration_seconds = 2;
  options.max_seeds = 0;
  // The worker is killed from the progress callback, on the campaign's own thread: a
  // second thread in this process could hold a lock (the allocator's, under ASan) at the
  // instant the campaign forks the replacement worker, which would then hang.
  const pid_t parent = getpid();
  bool killed = false;
  uint64_t seeds_at_kill = 0;
  absl::StatusOr<FuzzSummary> summary = RunFuzzCampaign(options, [&](const FuzzProgress& progress) {
    if (killed || progress.seeds == 0) return;
    std::ifstream children("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children");
    pid_t worker = 0;
    if (children >> worker) killed = kill(worker, SIGKILL) == 0;
    seeds_at_kill = progress.seeds;
  });
  EXPECT_TRUE(killed);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->workers_replaced, 1u);
  // Seeds were checked after the kill (how many depends on the machine's speed).
  EXPECT_GT(summary->seeds, seeds_at_kill);
  for (const FuzzGroup& group : summary->groups) EXPECT_EQ(group.group, "worker died");
}

TEST(FuzzCampaign, ProbesCountTheRarePathsTheSeedsReached) {
  posix::TempDir dir("fuzz_campaign_test");
  FuzzOptions options = Options(dir, "raid1-faults");
  absl::StatusOr<FuzzSummary> summary = RunFuzzCampaign(options, {});
  ASSERT_TRUE(summary.ok()) << summary.status();
  uint64_t member_failed = 0, wc = 0;
  for (const FuzzProbe& p : summary->probes) {
    if (p.name == "raid1_member_failed") member_failed = p.hits;
    if (p.name.starts_with("wc_")) wc += p.hits;
  }
  EXPECT_GT(member_failed, 0u);  // raid1-faults fails members in most seeds
  EXPECT_EQ(wc, 0u);              // and never runs the cache
  EXPECT_THAT(FormatFuzzSummaryJson(*summary), HasSubstr("\"probes_never_hit\": [\n    \"wc_"));
}

TEST(FuzzCampaign, BadOptionsAreRefused) {
  posix::TempDir dir("fuzz_campaign_test");
  FuzzOptions options = Options(dir, "linear");
  options.shard = 3;
  options.shards = 2;
  EXPECT_EQ(RunFuzzCampaign(options, {}).status().code(), absl::StatusCode::kInvalidArgument);
  options.shard = 1;
  options.jobs = 0;
  EXPECT_EQ(RunFuzzCampaign(options, {}).status().code(), absl::StatusCode::kInvalidArgument);
  options.jobs = 1;
  options.out_dir = "/dev/null/fuzz";
  EXPECT_FALSE(RunFuzzCampaign(options, {}).ok());
}

}  // namespace
}  // namespace powercut::tools
