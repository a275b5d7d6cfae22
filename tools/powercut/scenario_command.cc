#include "tools/powercut/scenario_command.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bindings/engine_registry.h"
#include "scenario/replay_file.h"
#include "scenario/seeded_scenarios.h"
#include "scenario/swarm.h"

namespace powercut::tools {

std::string EngineParametersHelp() {
  std::string out =
      "Engines and their parameters (a replay file names them as `engine: NAME` and\n"
      "`param: NAME=VALUE`; a parameter not given takes its default):\n";
  for (const verifier::EngineEntry* engine : verifier::Engines()) {
    absl::StrAppend(&out, "\n", engine->name, ": ", engine->summary, "\n");
    for (const verifier::EngineParam& p : engine->params) {
      absl::StrAppendFormat(&out, "  %-20s default %-6d range [%d, %d]\n      %s\n", p.name,
                            p.default_value, p.min, p.max, p.meaning);
    }
  }
  return out;
}

int RunScenarioCommand(const ScenarioCommandOptions& options, std::ostream& out, std::ostream& err) {
  const verifier::ScenarioFamily* family = verifier::FindScenarioFamily(options.family);
  if (family == nullptr) {
    std::vector<std::string> names;
    for (const verifier::ScenarioFamily& f : verifier::ScenarioFamilies()) names.push_back(f.name);
    err << "powercut scenario: unknown family '" << options.family
        << "' (known: " << absl::StrJoin(names, ", ") << ")\n";
    return 2;
  }
  verifier::Scenario scenario = family->draw(options.seed);
  scenario.images = options.images;
  scenario.mutant = options.mutant;
  scenario.comment = options.comment.empty()
                         ? absl::StrCat("Seed ", options.seed, " of the ", family->name,
                                        " scenario family (powercut scenario --family ", family->name,
                                        " --seed ", options.seed, options.swarm ? " --swarm" : "", ").")
                         : options.comment;
  if (options.swarm) verifier::ApplySwarm(verifier::DrawSwarm(options.seed), scenario);
  const std::string text = verifier::FormatReplay(scenario);
  if (absl::StatusOr<verifier::Scenario> back = verifier::ParseReplay(text); !back.ok()) {
    err << "powercut scenario: the drawn scenario does not round-trip: " << back.status().message() << "\n";
    return 2;
  }
  if (options.output.empty()) {
    out << text;
    return 0;
  }
  std::ofstream file(options.output);
  file << text;
  if (!file.flush()) {
    err << "powercut scenario: cannot write " << options.output << "\n";
    return 2;
  }
  return 0;
}

}  // namespace powercut::tools
