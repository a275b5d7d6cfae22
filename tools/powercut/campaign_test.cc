// A campaign whose failing seed cannot get its replay file says so and how to recreate it.
#include "tools/powercut/campaign.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "scenario/replay_file.h"

namespace powercut::tools {
namespace {

using ::testing::HasSubstr;

// A FUA write the mutant acknowledges without FUA: lost at the power cut.
constexpr char kFuaDropped[] = R"(powercut-replay 1
engine: linear
mutant: linear_fua_dropped
seed: 3
crash: step 1000000
images: 8
expect: fail
clients: 1
op: c0 write 16+8 fua
end
)";

TEST(Campaign, AFailureWhoseReplayFileCannotBeWrittenIsCountedWithTheCommandThatRecreatesIt) {
  absl::StatusOr<verifier::Scenario> failing = verifier::ParseReplay(kFuaDropped);
  ASSERT_TRUE(failing.ok()) << failing.status();
  const verifier::ScenarioFamily family{
      .name = "always-fails", .engine = "linear", .draw = [&](uint64_t seed) {
        verifier::Scenario scenario = *failing;
        scenario.seed = seed;
        return scenario;
      }};
  ASSERT_EQ(setenv("POWERCUT_FAILURE_DIR", "/dev/null/failures", 1), 0);  // under a file
  const CampaignSummary summary =
      RunCampaign({family}, CampaignOptions{.first_seed = 5, .seeds = 1, .images_per_seed = 8}, nullptr);
  unsetenv("POWERCUT_FAILURE_DIR");
  ASSERT_EQ(summary.families.size(), 1u);
  const FamilySummary& result = summary.families[0];
  EXPECT_EQ(result.failures, 1u);
  EXPECT_EQ(result.unsaved_failures, 1u);
  ASSERT_EQ(result.failure_notes.size(), 1u);
  EXPECT_THAT(result.failure_notes[0], HasSubstr("the replay file could not be saved in /dev/null/failures"));
  EXPECT_THAT(result.failure_notes[0],
              HasSubstr("reproduce: powercut_with_mutants scenario --family always-fails --seed 5 --images 8 "
                        "--mutant linear_fua_dropped -o FILE && powercut_with_mutants replay FILE"));
}

}  // namespace
}  // namespace powercut::tools
