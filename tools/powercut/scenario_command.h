// `powercut scenario --family NAME --seed N`: prints seed N of a seeded scenario family
// (scenario/seeded_scenarios.h) as a replay file, so any campaign seed, passing or
// failing, can be kept in corpus/ or edited by hand. The file is checked by parsing it
// back before it is printed.
#ifndef POWERCUT_TOOLS_POWERCUT_SCENARIO_COMMAND_H_
#define POWERCUT_TOOLS_POWERCUT_SCENARIO_COMMAND_H_

#include <cstdint>
#include <ostream>
#include <string>

namespace powercut::tools {

struct ScenarioCommandOptions {
  std::string family;
  uint64_t seed = 1;
  uint32_t images = 4;      // crash images the file asks for
  std::string comment;      // replaces the default comment if not empty
  std::string mutant;       // a mutant the file names (empty: none; test builds)
  bool swarm = false;       // keep only the op kinds of the seed's swarm choice
  std::string output;       // write here instead of standard output if not empty
};

// Every engine and its parameters (name, default, range, meaning), read from the engine
// registry: the help text of `powercut scenario` and what docs/engines.md lists.
std::string EngineParametersHelp();

// Exit code: 0 printed (or written), 2 unknown family or unwritable output.
int RunScenarioCommand(const ScenarioCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_SCENARIO_COMMAND_H_
