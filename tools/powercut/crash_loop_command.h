// `powercut crashloop`: a scenario's workload (a replay file, or a family and seed) run
// by a child process on real files and killed with SIGKILL at random instants, each
// kill followed by the engine's recovery and the oracle's verdict
// (harness/crash_loop.h).
//
// Exit code: 0 every round passed, 1 a round failed (printed, its files kept), 2 a usage
// or input error.
#ifndef POWERCUT_TOOLS_POWERCUT_CRASH_LOOP_COMMAND_H_
#define POWERCUT_TOOLS_POWERCUT_CRASH_LOOP_COMMAND_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace powercut::tools {

struct CrashLoopCommandOptions {
  std::string file;
  std::string family;
  std::optional<uint64_t> seed;
  std::string dir;
  uint64_t kills = 100;
  bool buffered = false;
  bool json = false;
};

int RunCrashLoopCommand(const CrashLoopCommandOptions& options, std::ostream& out,
                        std::ostream& err);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_CRASH_LOOP_COMMAND_H_
