// Mutation tests for the RAID1 mirror set and its write-intent bitmap: each deliberately
// broken engine must be caught, within a seed budget, by a property: a seeded scenario
// family of the campaign ("raid1": the block-device contract through two mirrors;
// "raid1-faults": member IO errors, vanishing members, write-mostly members, slow
// members and a tight layout; "raid1-readd": old devices put back at the recovery), with the RAID1 invariant checks of the stack (I1..I14,
// raid1_invariants.h) on. Every kill prints the property (family), the first seed that
// killed it and what caught it; the correct engine must pass the same seeds. A mutant
// the catalog marks rare (its path needs seeds a campaign runs, not CI) is killed by its
// shrunk find, corpus/<name>.replay, instead.
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include "engine/mutant/mutant.h"
#include "gtest/gtest.h"
#include "scenario/replay_file.h"
#include "scenario/scenario.h"
#include "scenario/seeded_scenarios.h"

namespace powercut::verifier {
namespace {

constexpr uint64_t kSeedBudget = 2000;

struct Kill {
  std::string property;
  uint64_t seed = 0;
  Failure failure;
};

const std::vector<std::string>& Families() {
  static const std::vector<std::string> families = {"raid1", "raid1-faults", "raid1-readd"};
  return families;
}

CrashCheckResult Check(const std::string& family, uint64_t seed, const std::string& mutant) {
  Scenario scenario = FindScenarioFamily(family)->draw(seed);
  scenario.mutant = mutant;
  absl::StatusOr<CrashCheckResult> result = RunScenario(scenario);
  if (!result.ok()) {
    CrashCheckResult invalid;
    invalid.passed = false;
    invalid.failure.text = absl::StrCat("invalid scenario: ", result.status().ToString());
    return invalid;
  }
  return *result;
}

// Seeds 1, 2, ... of every family in turn (as `powercut mutants` runs them): the first
// failing one.
std::optional<Kill> FirstKill(const std::string& mutant, uint64_t budget) {
  for (uint64_t seed = 1; seed <= budget; ++seed) {
    for (const std::string& family : Families()) {
      const CrashCheckResult result = Check(family, seed, mutant);
      if (!result.passed) return Kill{family, seed, result.failure};
    }
  }
  return std::nullopt;
}

class Raid1Mutant : public ::testing::TestWithParam<mutant::Id> {};

const mutant::Info& InfoOf(mutant::Id id) {
  for (const mutant::Info& info : mutant::Catalog()) {
    if (info.id == id) return info;
  }
  throw std::logic_error("mutant not in the catalog");
}

// A rare mutant's path is reached only by seeds far past the budget: its corpus replay,
// the shrunk campaign find, must name it and fail.
void ExpectKilledByItsCorpusReplay(const mutant::Info& info) {
  const std::string path = std::string(POWERCUT_CORPUS_DIR) + "/" + std::string(info.name) + ".replay";
  std::ifstream file(path);
  ASSERT_TRUE(file.good()) << info.name << " is rare but " << path << " is missing";
  std::stringstream text;
  text << file.rdbuf();
  absl::StatusOr<Scenario> scenario = ParseReplay(text.str());
  ASSERT_TRUE(scenario.ok()) << path << ": " << scenario.status();
  ASSERT_EQ(scenario->mutant, info.name) << path;
  absl::StatusOr<CrashCheckResult> result = RunScenario(*scenario);
  ASSERT_TRUE(result.ok()) << path << ": " << result.status();
  ASSERT_FALSE(result->passed) << info.name << " survived " << path;
  std::cout << info.name << ": killed by " << path << ", caught by " << result->failure.Group()
            << " " << result->failure.Where() << ": " << result->failure.text.substr(0, 400) << "\n";
}

TEST_P(Raid1Mutant, IsKilledByAProperty) {
  const mutant::Info& info = InfoOf(GetParam());
  ASSERT_EQ(info.target, "raid1");
  if (info.rare) return ExpectKilledByItsCorpusReplay(info);
  const std::optional<Kill> kill = FirstKill(std::string(info.name), kSeedBudget);
  ASSERT_TRUE(kill.has_value()) << info.name << " survived " << kSeedBudget
                                << " seeds of every raid1 family";
  std::cout << info.name << ": killed by the " << kill->property << " property at seed "
            << kill->seed << ", caught by " << kill->failure.Group() << " " << kill->failure.Where() << ": "
            << kill->failure.text.substr(0, 400) << "\n";
}

std::string Name(const ::testing::TestParamInfo<mutant::Id>& info) {
  return std::string(InfoOf(info.param).name);
}

std::vector<mutant::Id> Raid1Mutants() {
  std::vector<mutant::Id> ids;
  for (const mutant::Info& info : mutant::Catalog()) {
    if (info.target == "raid1") ids.push_back(info.id);
  }
  return ids;
}

INSTANTIATE_TEST_SUITE_P(Mutants, Raid1Mutant, ::testing::ValuesIn(Raid1Mutants()), Name);

TEST(Raid1Mutant, EveryMutantOfMutantsMdIsInTheCatalog) {
  for (const char* name : {"bm_unplug_no_wait", "bm_failed_write_clears", "bm_clear_while_degraded",
                           "bm_needed_decays", "bm_msb_bit_order", "bm_write_past_area"}) {
    const mutant::Info* info = mutant::Find(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(info->target, "raid1");
  }
  EXPECT_GE(Raid1Mutants().size(), 11u);
}

TEST(Raid1Mutant, TheCorrectEngineSurvivesTheSameSeeds) {
  for (const std::string& family : Families()) {
    for (uint64_t seed = 1; seed <= 200; ++seed) {
      const CrashCheckResult result = Check(family, seed, "");
      ASSERT_TRUE(result.passed) << family << " seed " << seed << ": " << result.failure.text;
    }
  }
}

}  // namespace
}  // namespace powercut::verifier
