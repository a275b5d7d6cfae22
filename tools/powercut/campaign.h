// Campaign: many seeded crash checks over the engines, with progress and a summary.
//
// Each target is a seeded scenario family (properties/seeded_scenarios.h): seed N of a
// target is one Scenario (engine parameters, workload, crash instant), checked over
// `images_per_seed` crash images. Seeds run in order from `first_seed`, so a campaign
// is reproducible. A sample of seeds (every `determinism_every`-th) is run twice and
// must give the same trace hash. The first failures of each target are saved as
// replay files (properties/failure_report.h), named in the summary with the command
// that reproduces them.
//
// Wall-clock time is used only to bound the campaign and to print rates; it never
// reaches a simulation.
#ifndef POWERCUT_TOOLS_POWERCUT_CAMPAIGN_H_
#define POWERCUT_TOOLS_POWERCUT_CAMPAIGN_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "properties/crash_check.h"
#include "properties/scenario.h"
#include "properties/seeded_scenarios.h"

namespace powercut::tools {

using CampaignTarget = props::ScenarioFamily;

struct CampaignOptions {
  uint64_t first_seed = 1;
  uint64_t seeds = 10000;         // per target
  double max_seconds = 60;        // wall-clock bound for the whole campaign
  uint32_t images_per_seed = 4;
  uint64_t determinism_every = 50;
};

struct TargetSummary {
  std::string name;
  uint64_t seeds = 0;
  uint64_t crash_images = 0;
  uint64_t sectors_checked = 0;
  uint64_t failures = 0;
  uint64_t determinism_checks = 0;
  uint64_t determinism_failures = 0;
  double seconds = 0;
  std::vector<std::string> failure_notes;  // first few: failure, replay file, command
};

struct CampaignSummary {
  std::vector<TargetSummary> targets;
  bool passed() const;
};

// Seed `seed` of a target, checking `images` crash images, with `mutant` (a catalog
// name, test builds only) active or none.
props::Scenario SeedScenario(const CampaignTarget& target, uint64_t seed, uint32_t images,
                             const std::string& mutant = "");
// Runs it; an invalid scenario (a bug in the family) is reported as a failure.
props::CrashCheckResult CheckSeed(const CampaignTarget& target, uint64_t seed, uint32_t images,
                                  const std::string& mutant = "");

// `progress` is called about every 100 ms of wall-clock time with a one-line status.
CampaignSummary RunCampaign(const std::vector<CampaignTarget>& targets,
                            const CampaignOptions& options,
                            const std::function<void(const std::string&)>& progress);

std::string FormatSummaryTable(const CampaignSummary& summary);
std::string FormatSummaryJson(const CampaignSummary& summary);

// The targets `powercut run` checks by default: every scenario family.
std::vector<CampaignTarget> DefaultTargets();
// The targets named in a comma-separated list (family names, or an engine name for all
// its families); InvalidArgument naming the unknown ones.
absl::StatusOr<std::vector<CampaignTarget>> SelectTargets(const std::string& names);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_CAMPAIGN_H_
