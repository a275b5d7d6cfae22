// The probe catalog is complete and in Id order, and a probe site counts.
#include "engine/probe/probe.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace powercut::probe {
namespace {

TEST(Probe, TheCatalogListsEveryProbeOnceInIdOrder) {
  std::set<std::string_view> names;
  for (size_t k = 0; k < Catalog().size(); ++k) {
    EXPECT_EQ(static_cast<size_t>(Catalog()[k].id), k);
    EXPECT_TRUE(names.insert(Catalog()[k].name).second) << Catalog()[k].name;
    EXPECT_FALSE(Catalog()[k].what.empty());
  }
  EXPECT_EQ(Catalog().size(), kProbes);
}

TEST(Probe, ASiteCountsEachTimeItRuns) {
  const ProbeCounts before = Counts();
  POWERCUT_PROBE(kRaid1FullRecovery);
  POWERCUT_PROBE(kRaid1FullRecovery);
  const ProbeCounts after = Counts();
  const size_t k = static_cast<size_t>(Id::kRaid1FullRecovery);
  EXPECT_EQ(after[k] - before[k], 2u);
  for (size_t other = 0; other < kProbes; ++other) {
    if (other != k) {
      EXPECT_EQ(after[other], before[other]);
    }
  }
}

}  // namespace
}  // namespace powercut::probe
