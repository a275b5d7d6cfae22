#include "tools/powercut/mutants_command.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/mutant/mutant.h"
#include "nlohmann/json.hpp"
#include "scenario/failure_report.h"
#include "tools/powercut/campaign.h"
#include "tools/powercut/shrink.h"

namespace powercut::tools {
namespace {

struct Row {
  std::string name;
  std::string engine;
  std::string based_on;
  uint32_t kills = 0;                 // trials that killed it
  std::vector<uint64_t> seeds;        // per trial: seeds run (the killing one if killed)
  std::vector<double> seconds;        // per trial
  std::string category;               // of the first trial's kill
  std::string family;                 // the scenario family whose seed killed it first
  std::string replay_command;         // reproduces the first trial's kill
  bool rare = false;                  // the catalog's: corpus/<name>.replay kills it
  bool killed(uint32_t trials) const { return kills == trials; }
};

constexpr uint64_t kTrialStride = 1'000'000;

template <typename T>
T Median(std::vector<T> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? T{} : values[(values.size() - 1) / 2];
}

}  // namespace

int RunMutantsCommand(const MutantsCommandOptions& options, std::ostream& out, std::ostream& err) {
  if (!mutant::Available()) {
    err << "powercut mutants: this build has no mutants compiled in; run "
           "powercut_with_mutants mutants\n";
    return 2;
  }
  if (!options.only.empty() && mutant::Find(options.only) == nullptr) {
    err << "powercut mutants: unknown mutant '" << options.only << "'\n";
    return 2;
  }
  const std::vector<verifier::ScenarioFamily> targets = AllFamilies();
  std::vector<Row> rows;
  for (const mutant::Info& info : mutant::Catalog()) {
    if (!options.only.empty() && info.name != options.only) continue;
    Row row;
    row.name = std::string(info.name);
    row.engine = std::string(info.target);
    row.based_on = std::string(info.based_on);
    row.rare = info.rare;
    std::vector<const verifier::ScenarioFamily*> families;
    for (const verifier::ScenarioFamily& t : targets) {
      if (t.engine == info.target) families.push_back(&t);
    }
    if (families.empty()) {
      err << "powercut mutants: no campaign target for engine '" << info.target << "'\n";
      return 2;
    }
    for (uint32_t trial = 0; trial < options.trials; ++trial) {
      const uint64_t first = 1 + trial * kTrialStride;
      const auto start = std::chrono::steady_clock::now();
      bool killed = false;
      uint64_t run = 0;
      // Seed 1 of every family of the engine, then seed 2, ...: the first kill counts.
      for (uint64_t i = 0; i < options.seeds && !killed; ++i) {
        run = i + 1;
        for (const verifier::ScenarioFamily* family : families) {
          const verifier::CrashCheckResult result =
              CheckSeed(*family, first + i, options.images, row.name);
          if (result.passed) continue;
          killed = true;
          if (row.kills == 0) {
            row.category = result.failure.Group();
            row.family = family->name;
            row.replay_command =
                verifier::SaveFailure(
                    SeedScenario(*family, first + i, options.images, row.name), result,
                    verifier::ScenarioCommand(family->name, first + i, options.images, row.name))
                    .command;
          }
          ++row.kills;
          break;
        }
      }
      row.seeds.push_back(run);
      row.seconds.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    rows.push_back(row);
  }
  bool all_killed = true;
  // A rare mutant's path needs seeds a campaign runs; its corpus replay is its kill.
  for (const Row& row : rows) all_killed = all_killed && (row.killed(options.trials) || row.rare);
  if (options.json) {
    nlohmann::json json = nlohmann::json::array();
    for (const Row& row : rows) {
      json.push_back({{"mutant", row.name},
                      {"engine", row.engine},
                      {"killed", row.killed(options.trials)},
                      {"trials", options.trials},
                      {"kills", row.kills},
                      {"seeds", row.seeds},
                      {"median_seeds", Median(row.seeds)},
                      {"seconds", row.seconds},
                      {"median_seconds", Median(row.seconds)},
                      {"killed_by", row.category},
                      {"family", row.family},
                      {"replay_command", row.replay_command},
                      {"based_on", row.based_on},
                      {"rare", row.rare}});
    }
    out << json.dump(2) << "\n";
  } else {
    out << absl::StrFormat("%-32s %-10s %-9s %6s %8s  %-16s %s\n", "mutant", "engine",
                           "verdict", options.trials > 1 ? "median seeds" : "seeds",
                           options.trials > 1 ? "median s" : "seconds", "family", "killed by");
    for (const Row& row : rows) {
      const bool killed = row.killed(options.trials);
      const std::string verdict =
          killed ? "killed"
          : row.rare ? "rare"
                     : (row.kills == 0 ? "SURVIVED" : absl::StrFormat("%d/%d", row.kills, options.trials));
      out << absl::StrFormat("%-32s %-10s %-9s %6d %8.2f  %-16s %s\n", row.name, row.engine,
                             verdict, Median(row.seeds), Median(row.seconds),
                             row.kills > 0 ? row.family : "-",
                             row.kills > 0   ? row.category
                             : row.rare      ? absl::StrCat("corpus/", row.name, ".replay")
                                             : "-");
    }
    out << (all_killed ? "all mutants killed\n" : "SOME MUTANTS SURVIVED\n");
  }
  return all_killed ? 0 : 1;
}

}  // namespace powercut::tools
