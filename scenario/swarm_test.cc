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

}  // namespace
}  // namespace powercut::verifier
