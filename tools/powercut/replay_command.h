// `powercut replay FILE`: re-runs a replay file bit-for-bit and reports whether it
// gives the verdict the file expects.
#ifndef POWERCUT_TOOLS_POWERCUT_REPLAY_COMMAND_H_
#define POWERCUT_TOOLS_POWERCUT_REPLAY_COMMAND_H_

#include <ostream>
#include <string>

#include "scenario/scenario.h"

namespace powercut::tools {

struct ReplayCommandOptions {
  std::string file;
  bool timeline = false;   // print one line per event before the summary
  std::string trace_path;  // write Chrome/Perfetto JSON here if not empty
  bool json = false;       // summary as JSON
  // Run the file a second time and require the same verdict and trace hash.
  bool check_determinism = false;
  // A file whose scenario needs more (verifier::MemoryEstimate) is refused (0: no limit).
  uint64_t max_memory_bytes = verifier::kDefaultMaxMemoryBytes;
};

// Returns the process exit code: 0 the expected verdict was reproduced (and, with
// check_determinism, twice with the same trace hash), 1 it was not, 2 the file (or an
// option) is unusable.
int RunReplayCommand(const ReplayCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_REPLAY_COMMAND_H_
