// Shrink keeps a failure of the same group (kind, invariant) while it removes what the
// failure does not need.
#include "tools/powercut/shrink.h"

#include <gtest/gtest.h>

#include "scenario/replay_file.h"

namespace powercut::tools {
namespace {

constexpr char kFlushDropped[] = R"(powercut-replay 1
engine: linear
param: logical_sectors=1024
mutant: linear_flush_dropped
seed: 1
crash: seeded
images: 8
expect: fail
clients: 2
op: c0 write 0+8
op: c1 write 100+8
op: c1 read 100+8
op: c0 flush
op: c1 write 200+4 fua
op: c0 read 0+8
end
)";

TEST(Shrink, KeepsTheFailureGroupAndDropsWhatItDoesNotNeed) {
  absl::StatusOr<verifier::Scenario> scenario = verifier::ParseReplay(kFlushDropped);
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  absl::StatusOr<ShrinkResult> shrunk = Shrink(*scenario, 500, 0, nullptr);
  ASSERT_TRUE(shrunk.ok()) << shrunk.status();
  EXPECT_EQ(shrunk->category, "lost durable write");
  EXPECT_LT(shrunk->scenario.workload.ops.size(), scenario->workload.ops.size());
  absl::StatusOr<verifier::CrashCheckResult> again = verifier::RunScenario(shrunk->scenario);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->passed);
  EXPECT_EQ(again->failure.kind, verifier::FailureKind::kLostDurableWrite);
  EXPECT_EQ(again->failure.phase, verifier::FailurePhase::kRecovery);
  EXPECT_TRUE(again->failure.sector.has_value());
}

TEST(Shrink, RefusesAScenarioThatPasses) {
  std::string text = kFlushDropped;
  text.replace(text.find("mutant: linear_flush_dropped\n"), 29, "");
  text.replace(text.find("expect: fail"), 12, "expect: pass");
  absl::StatusOr<verifier::Scenario> scenario = verifier::ParseReplay(text);
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  EXPECT_FALSE(Shrink(*scenario, 10, 0, nullptr).ok());
}

}  // namespace
}  // namespace powercut::tools
