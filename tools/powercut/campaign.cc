#include "tools/powercut/campaign.h"

#include <chrono>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "scenario/failure_report.h"
#include "scenario/swarm.h"

namespace powercut::tools {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

constexpr size_t kFailureNotes = 3;

}  // namespace

bool CampaignSummary::passed() const {
  for (const FamilySummary& f : families) {
    if (f.failures > 0 || f.determinism_failures > 0) return false;
  }
  return true;
}

std::vector<verifier::ScenarioFamily> AllFamilies() { return verifier::ScenarioFamilies(); }

absl::StatusOr<std::vector<verifier::ScenarioFamily>> SelectFamilies(const std::string& engines,
                                                                  const std::string& families) {
  std::vector<std::string> engine_names, family_names;
  for (absl::string_view name : absl::StrSplit(engines, ',', absl::SkipWhitespace())) {
    name = absl::StripAsciiWhitespace(name);
    if (verifier::FindEngine(name) == nullptr) {
      if (verifier::FindScenarioFamily(std::string(name)) != nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", name, "' is a scenario family, not an engine: use --families"));
      }
      return verifier::LookUpEngine(name).status();
    }
    engine_names.emplace_back(name);
  }
  for (absl::string_view name : absl::StrSplit(families, ',', absl::SkipWhitespace())) {
    name = absl::StripAsciiWhitespace(name);
    if (verifier::FindScenarioFamily(std::string(name)) == nullptr) {
      std::string known;
      for (const verifier::ScenarioFamily& family : verifier::ScenarioFamilies()) {
        absl::StrAppend(&known, known.empty() ? "" : ", ", family.name);
      }
      return absl::InvalidArgumentError(
          absl::StrCat("unknown scenario family '", name, "' (known: ", known, ")"));
    }
    family_names.emplace_back(name);
  }
  std::vector<verifier::ScenarioFamily> selected;
  for (const verifier::ScenarioFamily& family : verifier::ScenarioFamilies()) {
    if (absl::c_linear_search(engine_names, family.engine) ||
        absl::c_linear_search(family_names, family.name)) {
      selected.push_back(family);
    }
  }
  if (selected.empty()) return absl::InvalidArgumentError("no engines or families selected");
  return selected;
}

verifier::Scenario SeedScenario(const verifier::ScenarioFamily& family, uint64_t seed, uint32_t images,
                             const std::string& mutant, bool swarm) {
  verifier::Scenario scenario = family.draw(seed);
  scenario.images = images;
  if (!mutant.empty()) scenario.mutant = mutant;
  if (swarm) verifier::ApplySwarm(verifier::DrawSwarm(seed), scenario);
  return scenario;
}

verifier::CrashCheckResult CheckSeed(const verifier::ScenarioFamily& family, uint64_t seed, uint32_t images,
                                  const std::string& mutant, bool swarm) {
  absl::StatusOr<verifier::CrashCheckResult> result =
      verifier::RunScenario(SeedScenario(family, seed, images, mutant, swarm));
  if (result.ok()) return *std::move(result);
  verifier::CrashCheckResult invalid;
  invalid.passed = false;
  if (absl::IsResourceExhausted(result.status())) {  // a limit of the machine, not a verdict
    invalid.failure.kind = verifier::FailureKind::kOutOfMemory;
    invalid.failure.text = absl::StrCat("seed ", seed, " of ", family.name,
                                        " ran out of memory: ", result.status().message());
    return invalid;
  }
  invalid.failure.text = absl::StrCat("the ", family.name, " family drew an invalid scenario for seed ",
                                 seed, ": ", result.status().message());
  return invalid;
}

CampaignSummary RunCampaign(const std::vector<verifier::ScenarioFamily>& families,
                            const CampaignOptions& options,
                            const std::function<void(const std::string&)>& progress) {
  CampaignSummary summary;
  const Clock::time_point start = Clock::now();
  Clock::time_point last_progress = start;
  for (size_t f = 0; f < families.size() && !summary.interrupted; ++f) {
    const verifier::ScenarioFamily& family = families[f];
    FamilySummary& out = summary.families.emplace_back();
    out.name = family.name;
    const Clock::time_point family_start = Clock::now();
    // What is left of the campaign's time, shared among the families still to run.
    const double budget = (options.max_seconds - SecondsSince(start)) /
                          static_cast<double>(families.size() - f);
    for (uint64_t i = 0; i < options.seeds; ++i) {
      if (options.stop_requested && options.stop_requested()) {
        summary.interrupted = true;
        break;
      }
      if (SecondsSince(family_start) > budget) break;
      const uint64_t seed = options.first_seed + i;
      const verifier::CrashCheckResult result = CheckSeed(family, seed, options.images_per_seed);
      ++out.seeds;
      out.crash_images += result.images_checked;
      out.sectors_checked += result.sectors_checked;
      if (!result.passed) {
        ++out.failures;
        ++out.failure_groups[result.failure.Group()];
        if (out.failure_notes.size() < kFailureNotes) {
          const verifier::Scenario scenario = SeedScenario(family, seed, options.images_per_seed);
          const verifier::SavedFailure saved = verifier::SaveFailure(
              scenario, result,
              verifier::ScenarioCommand(family.name, seed, options.images_per_seed, scenario.mutant));
          if (saved.path.empty()) ++out.unsaved_failures;
          out.failure_notes.push_back(absl::StrCat(
              "seed ", seed, ": ", result.failure.text,
              saved.path.empty() ? absl::StrCat("\n  the replay file ", saved.error) : "",
              "\n  reproduce: ", saved.command));
        }
      }
      if (options.determinism_every != 0 && i % options.determinism_every == 0) {
        ++out.determinism_checks;
        const verifier::CrashCheckResult again = CheckSeed(family, seed, options.images_per_seed);
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
                                 family.name, i + 1, options.seeds, out.crash_images, out.failures,
                                 static_cast<double>(out.seeds) / SecondsSince(family_start)));
      }
    }
    out.seconds = SecondsSince(family_start);
  }
  return summary;
}

std::string FormatSummaryTable(const CampaignSummary& summary) {
  std::string out = absl::StrFormat("%-16s %8s %12s %14s %9s %13s %10s\n", "family", "seeds",
                                    "crash images", "sectors judged", "failures",
                                    "determinism", "seeds/s");
  for (const FamilySummary& t : summary.families) {
    absl::StrAppendFormat(&out, "%-16s %8d %12d %14d %9d %6d/%-6d %10.0f\n", t.name, t.seeds,
                          t.crash_images, t.sectors_checked, t.failures,
                          t.determinism_checks - t.determinism_failures, t.determinism_checks,
                          t.seconds > 0 ? static_cast<double>(t.seeds) / t.seconds : 0.0);
  }
  for (const FamilySummary& t : summary.families) {
    for (const std::string& note : t.failure_notes) absl::StrAppend(&out, "\n", t.name, ": ", note, "\n");
  }
  if (summary.interrupted) absl::StrAppend(&out, "INTERRUPTED (the table covers the seeds that ran)\n");
  absl::StrAppend(&out, summary.passed() ? "PASS\n" : "FAIL\n");
  return out;
}

std::string FormatSummaryJson(const CampaignSummary& summary) {
  nlohmann::json json;
  json["passed"] = summary.passed();
  json["interrupted"] = summary.interrupted;
  for (const FamilySummary& t : summary.families) {
    json["families"].push_back({{"family", t.name},
                                {"seeds", t.seeds},
                                {"crash_images", t.crash_images},
                                {"sectors_judged", t.sectors_checked},
                                {"failures", t.failures},
                                {"unsaved_failures", t.unsaved_failures},
                                {"determinism_checks", t.determinism_checks},
                                {"determinism_failures", t.determinism_failures},
                                {"seconds", t.seconds},
                                {"failure_groups", t.failure_groups},
                                {"failure_notes", t.failure_notes}});
  }
  return json.dump(2) + "\n";
}

}  // namespace powercut::tools
