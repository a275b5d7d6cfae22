#include "scenario/seeded_scenarios.h"

#include "gtest/gtest.h"
#include "scenario/replay_file.h"

namespace powercut::verifier {
namespace {

class Family : public ::testing::TestWithParam<std::string> {};

TEST_P(Family, SeedsAreValidPassingAndDeterministic) {
  const ScenarioFamily* family = FindScenarioFamily(GetParam());
  ASSERT_NE(family, nullptr);
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    const Scenario scenario = family->draw(seed);
    EXPECT_EQ(scenario.engine, family->engine);
    ASSERT_TRUE(Validate(scenario).ok()) << "seed " << seed << ": " << Validate(scenario);
    absl::StatusOr<CrashCheckResult> first = RunScenario(scenario);
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_TRUE(first->passed) << "seed " << seed << ": " << first->failure.text;
    absl::StatusOr<CrashCheckResult> again = RunScenario(family->draw(seed));
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(first->trace_hash, again->trace_hash) << "seed " << seed;
  }
}

TEST_P(Family, ASeedSurvivesTheReplayFormatBitForBit) {
  const ScenarioFamily* family = FindScenarioFamily(GetParam());
  ASSERT_NE(family, nullptr);
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    const Scenario scenario = family->draw(seed);
    absl::StatusOr<Scenario> parsed = ParseReplay(FormatReplay(scenario));
    ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << FormatReplay(scenario);
    EXPECT_EQ(FormatReplay(*parsed), FormatReplay(scenario));
    absl::StatusOr<CrashCheckResult> direct = RunScenario(scenario);
    absl::StatusOr<CrashCheckResult> replayed = RunScenario(*parsed);
    ASSERT_TRUE(direct.ok() && replayed.ok());
    EXPECT_EQ(direct->trace_hash, replayed->trace_hash) << "seed " << seed;
  }
}

TEST_P(Family, SeedsNeedFarLessMemoryThanTheDefaultLimit) {
  const ScenarioFamily* family = FindScenarioFamily(GetParam());
  ASSERT_NE(family, nullptr);
  for (uint64_t seed = 1; seed <= 2000; ++seed) {
    absl::StatusOr<uint64_t> estimate = MemoryEstimate(family->draw(seed));
    ASSERT_TRUE(estimate.ok()) << estimate.status();
    EXPECT_LT(*estimate, kDefaultMaxMemoryBytes / 16) << "seed " << seed;
  }
}

TEST(Family, SeedsDiffer) {
  const ScenarioFamily* family = FindScenarioFamily("writecache");
  ASSERT_NE(family, nullptr);
  EXPECT_NE(FormatReplay(family->draw(1)), FormatReplay(family->draw(2)));
  EXPECT_EQ(FindScenarioFamily("no-such-family"), nullptr);
}

std::vector<std::string> Names() {
  std::vector<std::string> names;
  for (const ScenarioFamily& family : ScenarioFamilies()) names.push_back(family.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(All, Family, ::testing::ValuesIn(Names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace powercut::verifier
