#include "tools/powercut/mutants_command.h"

#include <chrono>

#include "absl/strings/str_format.h"
#include "engine/mutant/mutant.h"
#include "nlohmann/json.hpp"
#include "tools/powercut/campaign.h"
#include "tools/powercut/shrink.h"

namespace powercut::tools {
namespace {

struct Row {
  std::string name;
  std::string engine;
  bool killed = false;
  uint64_t seeds = 0;  // seeds run; the killing seed when killed
  double seconds = 0;
  std::string category;
  std::string family;  // the scenario family whose seed killed it
  std::string based_on;
};

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
  const std::vector<CampaignTarget> targets = DefaultTargets();
  std::vector<Row> rows;
  for (const mutant::Info& info : mutant::Catalog()) {
    if (!options.only.empty() && info.name != options.only) continue;
    Row row{std::string(info.name), std::string(info.target)};
    row.based_on = std::string(info.based_on);
    std::vector<const CampaignTarget*> families;
    for (const CampaignTarget& t : targets) {
      if (t.engine == info.target) families.push_back(&t);
    }
    if (families.empty()) {
      err << "powercut mutants: no campaign target for engine '" << info.target << "'\n";
      return 2;
    }
    const auto start = std::chrono::steady_clock::now();
    // Seed 1 of every family of the engine, then seed 2, ...: the first kill counts.
    for (uint64_t seed = 1; seed <= options.seeds && !row.killed; ++seed) {
      for (const CampaignTarget* family : families) {
        const props::CrashCheckResult result = CheckSeed(*family, seed, options.images, row.name);
        row.seeds = seed;
        if (!result.passed) {
          row.killed = true;
          row.category = FailureCategory(result.failure);
          row.family = family->name;
          break;
        }
      }
    }
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rows.push_back(row);
  }
  bool all_killed = true;
  for (const Row& row : rows) all_killed = all_killed && row.killed;
  if (options.json) {
    nlohmann::json json = nlohmann::json::array();
    for (const Row& row : rows) {
      json.push_back({{"mutant", row.name}, {"engine", row.engine}, {"killed", row.killed},
                      {"seeds", row.seeds}, {"seconds", row.seconds},
                      {"killed_by", row.category}, {"family", row.family},
                      {"based_on", row.based_on}});
    }
    out << json.dump(2) << "\n";
  } else {
    out << absl::StrFormat("%-32s %-10s %-9s %6s %8s  %-16s %s\n", "mutant", "engine",
                           "verdict", "seeds", "seconds", "family", "killed by");
    for (const Row& row : rows) {
      out << absl::StrFormat("%-32s %-10s %-9s %6d %8.2f  %-16s %s\n", row.name, row.engine,
                             row.killed ? "killed" : "SURVIVED", row.seeds, row.seconds,
                             row.killed ? row.family : "-", row.killed ? row.category : "-");
    }
    out << (all_killed ? "all mutants killed\n" : "SOME MUTANTS SURVIVED\n");
  }
  return all_killed ? 0 : 1;
}

}  // namespace powercut::tools
