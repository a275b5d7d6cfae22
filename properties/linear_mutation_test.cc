// Mutation tests for the harness: each deliberately broken pass-through target must be
// caught by the block-device contract, within a small seed budget, and RapidCheck must
// shrink the failure to a short, readable counterexample.
#include <rapidcheck.h>

#include <iostream>

#include "engine/mutant/mutant.h"
#include "gtest/gtest.h"
#include "harness/crash_check.h"
#include "bindings/linear/linear_binding.h"
#include "properties/small_linear_for_test.h"
#include "properties/scenario_property_for_test.h"
#include "harness/workload_gen.h"

namespace powercut::verifier {
namespace {

constexpr uint64_t kSeedBudget = 300;

WorkloadShape Shape() { return SmallLinearShape(); }

StackFactory Stack() { return LinearStackFactory(SmallLinearOptions()); }

class LinearMutant : public ::testing::TestWithParam<mutant::Id> {};

TEST_P(LinearMutant, IsKilledByTheBlockDeviceContract) {
  mutant::ScopedMutant active(GetParam());
  uint64_t killed_at = 0;
  std::string failure;
  for (uint64_t seed = 1; seed <= kSeedBudget && killed_at == 0; ++seed) {
    sim::Prng prng(seed);
    CrashCheckResult result = RunCrashCheck(Stack(), GenerateWorkload(prng, Shape()), {.seed = seed});
    if (!result.passed) {
      killed_at = seed;
      failure = result.failure.text;
    }
  }
  ASSERT_NE(killed_at, 0u) << "mutant survived " << kSeedBudget << " seeds";
  std::cout << "killed after " << killed_at << " seed(s): " << failure << "\n";

  // RapidCheck finds it too, and shrinks the workload.
  const std::string name(mutant::Catalog()[static_cast<size_t>(GetParam()) - 1].name);
  const bool held = rc::check("contract under mutant", [&name] {
    Scenario scenario;
    scenario.engine = "linear";
    scenario.params = {{"logical_sectors", Shape().device_sectors}};
    scenario.mutant = name;
    scenario.workload = *GenWorkload(Shape());
    scenario.seed = *rc::gen::inRange<uint64_t>(0, 1000);
    CheckScenarioProperty(scenario);
  });
  EXPECT_FALSE(held);
}

std::string Name(const ::testing::TestParamInfo<mutant::Id>& info) {
  return std::string(mutant::Catalog()[static_cast<size_t>(info.param) - 1].name);
}

INSTANTIATE_TEST_SUITE_P(Mutants, LinearMutant,
                         ::testing::Values(mutant::Id::kLinearFlushDropped,
                                           mutant::Id::kLinearFuaDropped,
                                           mutant::Id::kLinearMisdirectedWrite),
                         Name);

TEST(LinearMutant, TheCorrectTargetSurvivesTheSameSeeds) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    sim::Prng prng(seed);
    CrashCheckResult result = RunCrashCheck(Stack(), GenerateWorkload(prng, Shape()), {.seed = seed});
    ASSERT_TRUE(result.passed) << result.failure.text;
  }
}

}  // namespace
}  // namespace powercut::verifier
