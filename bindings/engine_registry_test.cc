// The open registry: an engine and a scenario family registered at run time (as a
// project testing its own engine does through the installed package) are found, drawn
// and checked like the built-in ones; bad registrations are refused.
#include "bindings/engine_registry.h"

#include "bindings/linear/linear_binding.h"
#include "gtest/gtest.h"
#include "scenario/failure_report.h"
#include "scenario/scenario.h"
#include "scenario/seeded_scenarios.h"

namespace powercut::verifier {
namespace {

// The linear engine under another name: what an outside engine's entry looks like.
const EngineEntry& OutsideEngine() {
  static const EngineEntry entry = [] {
    EngineEntry e = LinearEngine();
    e.name = "outside";
    e.summary = "the linear target, registered at run time";
    return e;
  }();
  return entry;
}

TEST(EngineRegistry, AnEngineAndAFamilyRegisteredAtRunTimeAreCheckedLikeBuiltInOnes) {
  ASSERT_TRUE(RegisterEngine(OutsideEngine()).ok());
  EXPECT_EQ(Engines().back(), &OutsideEngine());
  EXPECT_EQ(FindEngine("outside"), &OutsideEngine());
  ASSERT_TRUE(RegisterScenarioFamily({"outside-small", "outside", [](uint64_t seed) {
                                        Scenario s = SeededScenario("outside", seed, 1024, 8);
                                        s.params = {{"logical_sectors", 1024}};
                                        return s;
                                      }})
                  .ok());
  const ScenarioFamily* family = FindScenarioFamily("outside-small");
  ASSERT_NE(family, nullptr);
  EXPECT_EQ(&ScenarioFamilies().back(), family);
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const Scenario scenario = family->draw(seed);
    EXPECT_EQ(scenario.engine, "outside");
    for (const Op& op : scenario.workload.ops) EXPECT_EQ(op.sector % 8, 0u);
    absl::StatusOr<CrashCheckResult> result = RunScenario(scenario);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result->passed) << seed << ": " << result->failure.text;
  }

  EXPECT_EQ(RegisterEngine(OutsideEngine()).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(RegisterEngine(EngineEntry{.name = "unbound"}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RegisterScenarioFamily({"outside-small", "outside", family->draw}).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(RegisterScenarioFamily({"nobody", "no-such-engine", family->draw}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RegisterScenarioFamily({"no-draw", "outside", nullptr}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EngineRegistry, PrintedCommandsNameTheProjectsOwnCli) {
  EXPECT_EQ(CliName(""), "powercut");
  EXPECT_EQ(CliName("wc_sb_no_fua"), "powercut_with_mutants");
  SetCliName("cow_store_powercut");
  EXPECT_EQ(ScenarioCommand("cow", 7, 4, ""), "cow_store_powercut scenario --family cow --seed 7 --images 4 -o FILE");
  SetCliName("");
  EXPECT_EQ(CliName(""), "powercut");
}

}  // namespace
}  // namespace powercut::verifier
