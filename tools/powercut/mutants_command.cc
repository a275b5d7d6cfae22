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
    const CampaignTarget* target = nullptr;
    for (const CampaignTarget& t : targets) {
      if (t.name == info.target) target = &t;
    }
    if (target == nullptr) {
      err << "powercut mutants: no campaign target for engine '" << info.target << "'\n";
      return 2;
    }
    (void)mutant::SetActive(info.id);
    const auto start = std::chrono::steady_clock::now();
    for (uint64_t seed = 1; seed <= options.seeds && !row.killed; ++seed) {
      const props::CrashCheckResult result = CheckSeed(*target, seed, options.images);
      row.seeds = seed;
      if (!result.passed) {
        row.killed = true;
        row.category = FailureCategory(result.failure);
      }
    }
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    (void)mutant::SetActive(mutant::Id::kNone);
    rows.push_back(row);
  }
  bool all_killed = true;
  for (const Row& row : rows) all_killed = all_killed && row.killed;
  if (options.json) {
    nlohmann::json json = nlohmann::json::array();
    for (const Row& row : rows) {
      json.push_back({{"mutant", row.name}, {"engine", row.engine}, {"killed", row.killed},
                      {"seeds", row.seeds}, {"seconds", row.seconds},
                      {"killed_by", row.category}, {"based_on", row.based_on}});
    }
    out << json.dump(2) << "\n";
  } else {
    out << absl::StrFormat("%-28s %-8s %-9s %8s %9s  %s\n", "mutant", "engine", "verdict",
                           "seeds", "seconds", "killed by");
    for (const Row& row : rows) {
      out << absl::StrFormat("%-28s %-8s %-9s %8d %9.2f  %s\n", row.name, row.engine,
                             row.killed ? "killed" : "SURVIVED", row.seeds, row.seconds,
                             row.killed ? row.category : "-");
    }
    out << (all_killed ? "all mutants killed\n" : "SOME MUTANTS SURVIVED\n");
  }
  return all_killed ? 0 : 1;
}

}  // namespace powercut::tools
