// Campaign: many seeded crash checks over the engines, with progress and a summary.
//
// Each seed draws a workload and a crash instant and checks `images_per_seed` crash
// images against the oracle. Seeds run in order from `first_seed`, so a campaign is
// reproducible: seed N always means the same run. A sample of seeds (every
// `determinism_every`-th) is run twice and must give the same trace hash.
//
// Wall-clock time is used only to bound the campaign and to print rates; it never
// reaches a simulation.
#ifndef POWERCUT_TOOLS_POWERCUT_CAMPAIGN_H_
#define POWERCUT_TOOLS_POWERCUT_CAMPAIGN_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "properties/crash_check.h"
#include "properties/stack.h"
#include "properties/workload.h"

namespace powercut::tools {

struct CampaignTarget {
  std::string name;  // e.g. "linear"
  props::StackFactory factory;
  props::WorkloadShape shape;
};

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
  std::vector<std::string> failure_notes;  // first few, one paragraph each
};

struct CampaignSummary {
  std::vector<TargetSummary> targets;
  bool passed() const;
};

// One seed of a target: its workload and crash, checked over `images` crash images.
props::CrashCheckResult CheckSeed(const CampaignTarget& target, uint64_t seed, uint32_t images);

// `progress` is called about every 100 ms of wall-clock time with a one-line status.
CampaignSummary RunCampaign(const std::vector<CampaignTarget>& targets,
                            const CampaignOptions& options,
                            const std::function<void(const std::string&)>& progress);

std::string FormatSummaryTable(const CampaignSummary& summary);
std::string FormatSummaryJson(const CampaignSummary& summary);

// The engines `powercut run` checks by default.
std::vector<CampaignTarget> DefaultTargets();

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_CAMPAIGN_H_
