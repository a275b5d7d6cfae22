// `powercut shrink FILE`: minimises a failing replay file (see shrink.h) and prints
// the smaller file with a before/after report.
#ifndef POWERCUT_TOOLS_POWERCUT_SHRINK_COMMAND_H_
#define POWERCUT_TOOLS_POWERCUT_SHRINK_COMMAND_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "scenario/scenario.h"

namespace powercut::tools {

struct ShrinkCommandOptions {
  std::string file;
  std::string output;  // empty: standard output
  uint64_t max_runs = 2000;
  uint64_t max_memory_bytes = verifier::kDefaultMaxMemoryBytes;  // 0: no limit
};

// Exit code: 0 shrunk (the output still fails), 1 the input does not fail, 2 unusable.
int RunShrinkCommand(const ShrinkCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_SHRINK_COMMAND_H_
