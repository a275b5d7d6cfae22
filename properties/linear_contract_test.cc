// Property: the pass-through stack (dm-linear over a SimSsd with a volatile cache)
// keeps the block-device contract under random workloads, crash instants and crash
// images. This proves the harness on a correct stack: a failure here is a harness bug.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "harness/crash_check.h"
#include "bindings/linear/linear_binding.h"
#include "properties/small_linear_for_test.h"
#include "properties/scenario_property_for_test.h"
#include "harness/workload_gen.h"

namespace powercut::verifier {
namespace {

WorkloadShape Shape() { return SmallLinearShape(); }

LinearStackOptions Options(bool volatile_cache) { return SmallLinearOptions(volatile_cache); }

RC_GTEST_PROP(LinearContract, NoAcknowledgedFlushedWriteIsLostAtARandomCrash, ()) {
  Scenario scenario;
  scenario.engine = "linear";
  scenario.params = {{"logical_sectors", Shape().device_sectors}};
  scenario.workload = *GenWorkload(Shape());
  scenario.seed = *rc::gen::arbitrary<uint64_t>();
  scenario.ssd.volatile_cache = *rc::gen::arbitrary<bool>();
  CheckScenarioProperty(scenario);
}

TEST(LinearContract, ThousandsOfSeededCrashesPass) {
  uint64_t images = 0;
  for (uint64_t seed = 1; seed <= 600; ++seed) {
    sim::Prng prng(seed);
    const Workload workload = GenerateWorkload(prng, Shape());
    const CrashCheckResult result =
        RunCrashCheck(LinearStackFactory(Options(seed % 4 != 0)), workload, {.seed = seed});
    ASSERT_TRUE(result.passed) << result.failure.text;
    images += result.images_checked;
  }
  EXPECT_GE(images, 2000u);
}

}  // namespace
}  // namespace powercut::verifier
