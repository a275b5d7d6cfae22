// Swarm testing: a seed's choice is its own, every choice comes up, and applying one
// keeps exactly the op kinds it names.
#include "scenario/swarm.h"

#include <set>

#include "gtest/gtest.h"
#include "scenario/replay_file.h"
#include "scenario/seeded_scenarios.h"

namespace powercut::verifier {
namespace {

TEST(Swarm, ASeedAlwaysDrawsTheSameChoiceAndEveryChoiceComesUp) {
  std::set<std::string> names;
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    EXPECT_EQ(DrawSwarm(seed), DrawSwarm(seed));
    names.insert(SwarmName(DrawSwarm(seed)));
  }
  EXPECT_EQ(names.size(), 16u);
}

TEST(Swarm, ApplyingAChoiceKeepsTheKindsItNamesAndTheFamilysDrawOtherwise) {
  const Scenario whole = FindScenarioFamily("writecache")->draw(7);
  const SwarmChoice writes_only{.reads = false, .flushes = false, .discards = false, .fua = false};
  Scenario swarm = whole;
  ApplySwarm(writes_only, swarm);
  EXPECT_EQ(swarm.params, whole.params);
  EXPECT_EQ(swarm.ssd.volatile_cache, whole.ssd.volatile_cache);
  size_t writes = 0;
  for (const Op& op : whole.workload.ops) writes += op.kind == OpKind::kWrite ? 1 : 0;
  ASSERT_EQ(swarm.workload.ops.size(), writes);
  for (const Op& op : swarm.workload.ops) {
    EXPECT_EQ(op.kind, OpKind::kWrite);
    EXPECT_FALSE(op.fua);
  }
  EXPECT_TRUE(swarm.comment.ends_with("swarm: writes")) << swarm.comment;
  // The replay file carries the choice and the ops it kept.
  absl::StatusOr<Scenario> back = ParseReplay(FormatReplay(swarm));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->workload, swarm.workload);

  Scenario everything = whole;
  ApplySwarm(SwarmChoice{}, everything);
  EXPECT_EQ(everything.workload, whole.workload);
  EXPECT_EQ(SwarmName(SwarmChoice{}), "writes+reads+flushes+discards+fua");
}

TEST(Swarm, FaultKindsAndFeaturesAreNarrowedWhereTheScenarioHasThem) {
  const Scenario whole = FindScenarioFamily("linear")->draw(1);
  SwarmChoice choice;
  choice.fault_ops = faults::kFaultFlush;
  choice.features = 0;
  // A scenario with IO errors on writes and flushes, write-behind, a clean restart.
  Scenario with = whole;
  faults::FaultPlan plan;
  plan.io_error_ppm = 1000;
  plan.io_error_ops = faults::kFaultWrite | faults::kFaultFlush;
  with.faults = plan;
  with.params.push_back({"write_behind", 7});
  with.params.push_back({"restart_at_flush", 2});
  Scenario swarm = with;
  const SwarmApplied applied = ApplySwarm(choice, swarm);
  EXPECT_EQ(swarm.faults->io_error_ops, faults::kFaultFlush);
  EXPECT_EQ(applied.faults, "faults: flushes");
  EXPECT_EQ(applied.features, "features: without write_behind+restart_at_flush");
  for (const auto& [name, value] : swarm.params) {
    if (name == "write_behind" || name == "restart_at_flush") {
      EXPECT_EQ(value, 0u) << name;
    }
  }
  EXPECT_TRUE(swarm.comment.ends_with("; faults: flushes; features: without write_behind+restart_at_flush"))
      << swarm.comment;
  // A choice that keeps none of the scenario's own fault kinds keeps them all.
  choice.fault_ops = faults::kFaultRead;
  Scenario reads = with;
  EXPECT_EQ(ApplySwarm(choice, reads).faults, "faults: writes+flushes");
  // Nothing to narrow: no names.
  Scenario plain = FindScenarioFamily("linear")->draw(1);
  const SwarmApplied none = ApplySwarm(SwarmChoice{}, plain);
  EXPECT_EQ(none.faults, "");
  EXPECT_EQ(none.features, "");
  // Every fault kind and feature comes up kept and left out over seeds.
  uint32_t faults_seen_off = 0, features_seen_off = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    faults_seen_off |= ~DrawSwarm(seed).fault_ops & faults::kFaultAllOps;
    features_seen_off |= ~DrawSwarm(seed).features & SwarmChoice{}.features;
  }
  EXPECT_EQ(faults_seen_off, faults::kFaultAllOps);
  EXPECT_EQ(features_seen_off, SwarmChoice{}.features);
}

}  // namespace
}  // namespace powercut::verifier
