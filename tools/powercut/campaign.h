// Campaign: many seeded crash checks over the engines, with progress and a summary.
//
// The campaign runs seeded scenario families (scenario/seeded_scenarios.h): seed N of a
// family is one Scenario (engine parameters, workload, crash instant), checked over
// `images_per_seed` crash images. Seeds run in order from `first_seed`, so a campaign
// is reproducible. A sample of seeds (every `determinism_every`-th) is run twice and
// must give the same trace hash. The first failures of each family are saved as
// replay files (scenario/failure_report.h), named in the summary with the command
// that reproduces them.
//
// Wall-clock time is used only to bound the campaign and to print rates; it never
// reaches a simulation.
#ifndef POWERCUT_TOOLS_POWERCUT_CAMPAIGN_H_
#define POWERCUT_TOOLS_POWERCUT_CAMPAIGN_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "harness/crash_check.h"
#include "scenario/scenario.h"
#include "scenario/seeded_scenarios.h"

namespace powercut::tools {

struct CampaignOptions {
  uint64_t first_seed = 1;
  uint64_t seeds = 10000;         // per family
  // Wall-clock bound for the whole campaign, shared among the families still to run
  // (a family that ends early leaves its time to the next ones).
  double max_seconds = 60;
  uint32_t images_per_seed = 4;
  uint64_t determinism_every = 50;
  // Asked between seeds; true ends the campaign there (an interrupt: the summary then
  // covers what ran).
  std::function<bool()> stop_requested;
};

struct FamilySummary {
  std::string name;
  uint64_t seeds = 0;
  uint64_t crash_images = 0;
  uint64_t sectors_checked = 0;
  uint64_t failures = 0;
  uint64_t determinism_checks = 0;
  uint64_t determinism_failures = 0;
  double seconds = 0;
  std::vector<std::string> failure_notes;  // first few: failure, replay file, command
  // Failures whose replay file could not be written (each says why and how to recreate
  // it in failure_notes; `run` exits 3 when there is one).
  uint64_t unsaved_failures = 0;
  std::map<std::string, uint64_t> failure_groups;  // Failure::Group() -> failing seeds
};

struct CampaignSummary {
  std::vector<FamilySummary> families;
  bool interrupted = false;  // stop_requested ended it
  bool passed() const;
};

// Seed `seed` of a family, checking `images` crash images, with `mutant` (a catalog
// name, test builds only) active, or the family's own choice (none) when empty; with
// `swarm`, only the op kinds the seed's swarm choice keeps (scenario/swarm.h).
verifier::Scenario SeedScenario(const verifier::ScenarioFamily& family, uint64_t seed, uint32_t images,
                             const std::string& mutant = "", bool swarm = false);
// Runs it; an invalid scenario (a bug in the family) is reported as a failure, and one
// that ran out of memory as a failure of kind kOutOfMemory.
verifier::CrashCheckResult CheckSeed(const verifier::ScenarioFamily& family, uint64_t seed, uint32_t images,
                                  const std::string& mutant = "", bool swarm = false);

// `progress` is called about every 100 ms of wall-clock time with a one-line status.
CampaignSummary RunCampaign(const std::vector<verifier::ScenarioFamily>& families,
                            const CampaignOptions& options,
                            const std::function<void(const std::string&)>& progress);

std::string FormatSummaryTable(const CampaignSummary& summary);
std::string FormatSummaryJson(const CampaignSummary& summary);

// The families `powercut run` checks by default: all of them.
std::vector<verifier::ScenarioFamily> AllFamilies();
// The families of the engines named in `engines` and the families named in `families`
// (comma-separated lists, either may be empty), each once, in campaign order;
// InvalidArgument naming an unknown engine or family, or when nothing is selected.
absl::StatusOr<std::vector<verifier::ScenarioFamily>> SelectFamilies(const std::string& engines,
                                                                  const std::string& families);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_CAMPAIGN_H_
