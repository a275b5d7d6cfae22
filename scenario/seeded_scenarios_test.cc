#include "scenario/seeded_scenarios.h"

#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "scenario/replay_file.h"
#include "sim/entropy_tape.h"
#include "sim/prng.h"

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

// About a quarter of the seeds cut the power again after recovering, half of those a
// third time; a third of the seeds of an engine that takes control operations run some.
TEST_P(Family, SomeSeedsCutThePowerSeveralTimesAndRunControlOperations) {
  const ScenarioFamily* family = FindScenarioFamily(GetParam());
  ASSERT_NE(family, nullptr);
  uint64_t two = 0, three = 0, controls = 0;
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    const Scenario scenario = family->draw(seed);
    two += scenario.later_cuts.size() >= 1;
    three += scenario.later_cuts.size() >= 2;
    bool any = false;
    for (size_t run = 0; run <= scenario.later_cuts.size(); ++run) {
      for (const Op& op : OpsOfRun(scenario, run)) {
        any |= op.kind == OpKind::kControl;
      }
    }
    controls += any;
  }
  EXPECT_GT(two, 70u);
  EXPECT_LT(two, 130u);
  EXPECT_GT(three, 25u);
  EXPECT_LT(three, two);
  if (family->engine == "linear") {
    EXPECT_EQ(controls, 0u);
  } else {
    EXPECT_GT(controls, 100u);
    EXPECT_LT(controls, 170u);
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

// A guided search draws a family's scenario from its input (sim/entropy_tape.h): every
// input gives a valid scenario that the replay format holds and the engine passes, the
// same input the same one, and an input spent at once the scenario of its seed.
TEST_P(Family, EveryTapeGivesAValidPassingScenarioAndTheSameTapeTheSameOne) {
  const ScenarioFamily* family = FindScenarioFamily(GetParam());
  ASSERT_NE(family, nullptr);
  sim::Prng bytes(99);
  std::set<std::string> distinct;
  for (int i = 0; i < 24; ++i) {
    std::vector<uint8_t> input(bytes.Uniform(160));
    for (uint8_t& byte : input) byte = static_cast<uint8_t>(bytes.Uniform(256));
    sim::EntropyTape tape(input), again(input);
    const Scenario scenario = DrawScenario(*family, sim::Prng(7, &tape));
    ASSERT_TRUE(Validate(scenario).ok()) << "tape " << i << ": " << Validate(scenario);
    const std::string text = FormatReplay(scenario);
    EXPECT_EQ(FormatReplay(DrawScenario(*family, sim::Prng(7, &again))), text) << "tape " << i;
    absl::StatusOr<Scenario> parsed = ParseReplay(text);
    ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << text;
    EXPECT_EQ(FormatReplay(*parsed), text);
    if (i < 6) {
      absl::StatusOr<CrashCheckResult> result = RunScenario(scenario);
      ASSERT_TRUE(result.ok()) << result.status();
      EXPECT_TRUE(result->passed) << "tape " << i << ": " << result->failure.text << "\n" << text;
    }
    distinct.insert(text);
  }
  EXPECT_GT(distinct.size(), 12u);
  sim::EntropyTape spent(std::vector<uint8_t>{});
  EXPECT_EQ(FormatReplay(DrawScenario(*family, sim::Prng(7, &spent))), FormatReplay(family->draw(7)));
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
