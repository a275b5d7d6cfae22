#include "tools/powercut/campaign.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "properties/failure_report.h"

namespace powercut::tools {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

constexpr size_t kFailureNotes = 3;

}  // namespace

bool CampaignSummary::passed() const {
  for (const TargetSummary& t : targets) {
    if (t.failures > 0 || t.determinism_failures > 0) return false;
  }
  return true;
}

std::vector<CampaignTarget> DefaultTargets() { return props::ScenarioFamilies(); }

absl::StatusOr<std::vector<CampaignTarget>> SelectTargets(const std::string& names) {
  std::vector<CampaignTarget> targets;
  for (absl::string_view name : absl::StrSplit(names, ',', absl::SkipWhitespace())) {
    name = absl::StripAsciiWhitespace(name);
    bool found = false;
    for (const props::ScenarioFamily& family : props::ScenarioFamilies()) {
      if (family.name != name && family.engine != name) continue;
      found = true;
      bool already = false;
      for (const CampaignTarget& t : targets) already = already || t.name == family.name;
      if (!already) targets.push_back(family);
    }
    if (!found) {
      std::string known;
      for (const props::ScenarioFamily& family : props::ScenarioFamilies()) {
        absl::StrAppend(&known, known.empty() ? "" : ", ", family.name);
      }
      return absl::InvalidArgumentError(
          absl::StrCat("unknown engine or family '", name, "' (known: ", known, ")"));
    }
  }
  if (targets.empty()) return absl::InvalidArgumentError("no engines selected");
  return targets;
}

props::Scenario SeedScenario(const CampaignTarget& target, uint64_t seed, uint32_t images,
                             const std::string& mutant) {
  props::Scenario scenario = target.draw(seed);
  scenario.images = images;
  scenario.mutant = mutant;
  return scenario;
}

props::CrashCheckResult CheckSeed(const CampaignTarget& target, uint64_t seed, uint32_t images,
                                  const std::string& mutant) {
  absl::StatusOr<props::CrashCheckResult> result =
      props::RunScenario(SeedScenario(target, seed, images, mutant));
  if (result.ok()) return *std::move(result);
  props::CrashCheckResult invalid;
  invalid.passed = false;
  invalid.failure = absl::StrCat("the ", target.name, " family drew an invalid scenario for seed ",
                                 seed, ": ", result.status().message());
  return invalid;
}

CampaignSummary RunCampaign(const std::vector<CampaignTarget>& targets,
                            const CampaignOptions& options,
                            const std::function<void(const std::string&)>& progress) {
  CampaignSummary summary;
  const Clock::time_point start = Clock::now();
  Clock::time_point last_progress = start;
  const double per_target_budget = options.max_seconds / std::max<size_t>(targets.size(), 1);
  for (const CampaignTarget& target : targets) {
    TargetSummary& out = summary.targets.emplace_back();
    out.name = target.name;
    const Clock::time_point target_start = Clock::now();
    for (uint64_t i = 0; i < options.seeds; ++i) {
      if (SecondsSince(target_start) > per_target_budget) break;
      const uint64_t seed = options.first_seed + i;
      const props::CrashCheckResult result = CheckSeed(target, seed, options.images_per_seed);
      ++out.seeds;
      out.crash_images += result.images_checked;
      out.sectors_checked += result.sectors_checked;
      if (!result.passed) {
        ++out.failures;
        if (out.failure_notes.size() < kFailureNotes) {
          const props::SavedFailure saved =
              props::SaveFailure(SeedScenario(target, seed, options.images_per_seed), result);
          out.failure_notes.push_back(
              absl::StrCat("seed ", seed, ": ", result.failure, "\n  reproduce: ", saved.command));
        }
      }
      if (options.determinism_every != 0 && i % options.determinism_every == 0) {
        ++out.determinism_checks;
        const props::CrashCheckResult again = CheckSeed(target, seed, options.images_per_seed);
        if (again.trace_hash != result.trace_hash || again.passed != result.passed) {
          ++out.determinism_failures;
          out.failure_notes.push_back(absl::StrFormat(
              "seed %d is not deterministic: trace hash %016x then %016x", seed,
              result.trace_hash, again.trace_hash));
        }
      }
      if (progress && std::chrono::duration<double>(Clock::now() - last_progress).count() > 0.1) {
        last_progress = Clock::now();
        progress(absl::StrFormat("%-16s seed %d/%d  images %d  failures %d  %.0f seeds/s",
                                 target.name, i + 1, options.seeds, out.crash_images, out.failures,
                                 static_cast<double>(out.seeds) / SecondsSince(target_start)));
      }
    }
    out.seconds = SecondsSince(target_start);
  }
  return summary;
}

std::string FormatSummaryTable(const CampaignSummary& summary) {
  std::string out = absl::StrFormat("%-16s %8s %12s %14s %9s %13s %10s\n", "target", "seeds",
                                    "crash images", "sectors judged", "failures",
                                    "determinism", "seeds/s");
  for (const TargetSummary& t : summary.targets) {
    absl::StrAppendFormat(&out, "%-16s %8d %12d %14d %9d %6d/%-6d %10.0f\n", t.name, t.seeds,
                          t.crash_images, t.sectors_checked, t.failures,
                          t.determinism_checks - t.determinism_failures, t.determinism_checks,
                          t.seconds > 0 ? static_cast<double>(t.seeds) / t.seconds : 0.0);
  }
  for (const TargetSummary& t : summary.targets) {
    for (const std::string& note : t.failure_notes) absl::StrAppend(&out, "\n", t.name, ": ", note, "\n");
  }
  absl::StrAppend(&out, summary.passed() ? "PASS\n" : "FAIL\n");
  return out;
}

std::string FormatSummaryJson(const CampaignSummary& summary) {
  nlohmann::json json;
  json["passed"] = summary.passed();
  for (const TargetSummary& t : summary.targets) {
    json["targets"].push_back({{"target", t.name},
                               {"seeds", t.seeds},
                               {"crash_images", t.crash_images},
                               {"sectors_judged", t.sectors_checked},
                               {"failures", t.failures},
                               {"determinism_checks", t.determinism_checks},
                               {"determinism_failures", t.determinism_failures},
                               {"seconds", t.seconds},
                               {"failure_notes", t.failure_notes}});
  }
  return json.dump(2) + "\n";
}

}  // namespace powercut::tools
